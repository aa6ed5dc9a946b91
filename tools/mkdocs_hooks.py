"""MkDocs hooks: pages that are generated from the code at build time.

A page asks for generated content with an HTML comment on a line of its own
(invisible when the Markdown is read on GitHub):

``<!-- infocli:estimator NAME [NAME ...] -->``
    the registry's facts about the named estimators (measures, label inputs,
    devices, reference) and their parameter table (type, default, allowed
    values, meaning). Several names share one parameter table.
``<!-- infocli:estimators -->``
    one row per registered estimator, linked to the page that documents it.
``<!-- infocli:cli -->``
    the help of every command of the Typer app, as ``infocli CMD --help`` prints
    it, so commands added later appear without editing the page.
``<!-- infocli:result-fields -->``
    the keys of the result record, from the fields and the docstring of
    :class:`infocli.Estimate`.

``<!-- infocli:quote ARGS :: PIECE ; PIECE ... -->``
    numbers quoted in the prose that follows: the build runs ``infocli ARGS
    --json`` from the repository root and compares each piece (``0.507 ± 0.009``,
    ``[0.48, 0.63]``, ``at least 0.4`` or one number, the value) with the result at
    the precision the piece is printed with: half a unit of its last digit for the
    value and the standard error, one unit outwards for an interval's ends. Each
    piece must also appear, as written, in the paragraph after the marker(s). So a
    changed default fails the build, not the reader. The marker renders as nothing.

An unknown estimator name, a failing ``--help`` or a quote that no longer matches
stops the build. The same functions are used by ``tests/test_docs.py``.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MARKER = re.compile(r"^[ \t]*<!--\s*infocli:(?P<kind>[a-z-]+)(?P<args>[^>]*?)\s*-->\s*$", re.M)

_SHORT = {
    "entropy": "H(X)",
    "conditional_entropy": "H(X|Z)",
    "mutual_information": "I(X;Y)",
    "conditional_mutual_information": "I(X;Y|Z)",
}

#: src_uri of the page documenting each estimator (filled by on_files)
_PAGES: dict[str, str] = {}
#: nav title of each page (filled by on_nav)
_TITLES: dict[str, str] = {}


class DocsError(Exception):
    """A marker that cannot be rendered."""


# -- helpers --------------------------------------------------------------------------

def _cell(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    s = str(text).replace("\n", " ")
    for a, b in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("*", "\\*"),
                 ("[", "\\["), ("]", "\\]"), ("_", "\\_")):
        s = s.replace(a, b)
    return s


def _code(text: object) -> str:
    s = str(text)
    return f"`{s}`" if s else '`""`'


def _allowed(p) -> str:
    if p.choices:
        return ", ".join(_code(c) for c in p.choices)
    parts = []
    if p.low is not None:
        parts.append(f"{'>' if p.low_exclusive else '≥'} {p.low:g}")
    if p.high is not None:
        parts.append(f"≤ {p.high:g}")
    if parts:
        return ", ".join(parts)
    if p.type is bool:
        return "`true`, `false`"
    return "any"


def _specs(names: list[str]):
    from infocli import registry

    registry.all_specs()  # load the catalogue
    out = []
    for name in names:
        if name not in registry.REGISTRY:
            raise DocsError(f"unknown estimator {name!r} in an infocli:estimator marker; "
                            f"registered: {', '.join(sorted(registry.REGISTRY))}")
        out.append(registry.REGISTRY[name])
    return out


# -- renderers ------------------------------------------------------------------------

def render_estimator(names: list[str]) -> str:
    """Registry facts and one parameter table for the named estimators."""
    if not names:
        raise DocsError("infocli:estimator needs at least one estimator name")
    specs = _specs(names)
    lines = ["| estimator | measures | labels (Y or Z) in | devices | reference |",
             "|---|---|---|---|---|"]
    for s in specs:
        lines.append(" | ".join([
            f"| `{s.name}`",
            _cell(", ".join(_SHORT[m] for m in s.measures)),
            _cell(", ".join(_SHORT[m] for m in s.discrete)) or "—",
            ", ".join(s.devices),
            _cell(s.reference) + " |",
        ]))
    lines.append("")
    if len(specs) == 1:
        lines.append(f"*{_cell(specs[0].summary)}*")
        lines.append("")
    # one row per parameter name, in first-seen order
    order: list[str] = []
    by_name: dict[str, list] = {}
    for s in specs:
        for p in s.params:
            if p.name not in by_name:
                order.append(p.name)
                by_name[p.name] = []
            by_name[p.name].append((s.name, p))
    if not order:
        lines.append("No parameters.")
        return "\n".join(lines) + "\n"
    lines += ["| parameter | type | default | allowed | meaning |", "|---|---|---|---|---|"]
    for pname in order:
        owners = by_name[pname]
        p = owners[0][1]
        defaults = {o.describe_default() for _, o in owners}
        default = (_code(p.describe_default()) if len(defaults) == 1 else
                   "; ".join(f"{n}: {_code(o.describe_default())}" for n, o in owners))
        meaning = _cell(p.doc)
        if len(owners) < len(specs):
            meaning += " (only " + ", ".join(f"`{n}`" for n, _ in owners) + ")"
        lines.append(f"| `{pname}` | {p.type.__name__} | {default} | {_allowed(p)} | {meaning} |")
    lines.append("")
    lines.append("Set them with `-p NAME=VALUE` on the command line or as keyword arguments "
                 "in Python; unknown names and invalid values are refused (exit code 2).")
    return "\n".join(lines) + "\n"


def render_estimators(page_uri: str | None = None) -> str:
    """One row per registered estimator, linked to its page when one documents it."""
    from infocli import registry

    lines = ["| estimator | measures | summary | documented in |", "|---|---|---|---|"]
    for s in registry.all_specs():
        target = _PAGES.get(s.name)
        if target is None:
            where = "—"
        else:
            rel = os.path.relpath(target, os.path.dirname(page_uri or "x.md") or ".")
            title = _TITLES.get(target, Path(target).stem)
            where = f"[{_cell(title)}]({rel.replace(os.sep, '/')})"
        lines.append(f"| `{s.name}` | {_cell(', '.join(_SHORT[m] for m in s.measures))} | "
                     f"{_cell(s.summary)} | {where} |")
    return "\n".join(lines) + "\n"


def _command_paths():
    """(path, command) for every visible command of the app, depth first."""
    import typer

    from infocli.cli import app

    root = typer.main.get_command(app)

    def walk(cmd, path):
        subs = getattr(cmd, "commands", None)
        if path:
            yield path, cmd
        if subs:
            for name in sorted(subs) if not path else subs:
                sub = subs[name]
                if getattr(sub, "hidden", False):
                    continue
                yield from walk(sub, [*path, name])

    # keep the app's registration order at the top level
    for name, sub in root.commands.items():
        if getattr(sub, "hidden", False):
            continue
        yield from walk(sub, [name])


def cli_help(path: list[str]) -> str:
    """What ``infocli PATH --help`` prints (plain text, 78 columns, to fit the page)."""
    from typer.testing import CliRunner

    from infocli.cli import app

    env = {"COLUMNS": "78", "TERM": "dumb", "NO_COLOR": "1", "_TYPER_FORCE_DISABLE_TERMINAL": "1"}
    result = CliRunner().invoke(app, [*path, "--help"], env=env, prog_name="infocli",
                                terminal_width=78)
    if result.exit_code != 0:
        raise DocsError(f"`infocli {' '.join(path)} --help` exited with {result.exit_code}: "
                        f"{result.output[-500:]}")
    return result.output.rstrip() + "\n"


#: What each task group of commands is for (the CLI reference's sections).
_GROUP_TEXT = {
    "estimate": "One estimate: entropy, mutual information, conditional mutual information.",
    "benchmark": "Estimators against known-truth tasks.",
    "batch": "Many estimates in one run: a manifest of jobs, all pairs of a table's columns.",
    "inspect": "The estimators and their parameters; the information plane of a network.",
    "other": "",
}


def render_cli() -> str:
    """Every command's help, generated from the Typer app, grouped by task."""
    from infocli.cli._app import command_groups

    out = ["## infocli", "", "```text", cli_help([]).rstrip(), "```", ""]
    paths = list(_command_paths())
    for title, names in command_groups([p[0] for p, _ in paths if len(p) == 1]).items():
        out += [f"## {title.capitalize()}", "", _GROUP_TEXT.get(title, ""), ""]
        for path, cmd in paths:
            if path[0] not in names:
                continue
            level = "#" * min(3 + len(path) - 1, 4)
            out += [f"{level} infocli {' '.join(path)}", "", "```text",
                    cli_help(path).rstrip(), "```", ""]
    return "\n".join(out)


def estimate_field_docs() -> dict[str, tuple[str, str]]:
    """``{field: (type, meaning)}`` from the Attributes section of Estimate's docstring."""
    from infocli.result import Estimate

    doc = inspect.getdoc(Estimate) or ""
    section = doc.split("Attributes\n----------\n", 1)
    out: dict[str, tuple[str, str]] = {}
    if len(section) < 2:
        return out
    current = None
    for line in section[1].splitlines():
        if line and not line.startswith(" "):
            m = re.match(r"(\w+)\s*:\s*(.+)$", line)
            if not m:  # the next section
                if set(line) <= {"-"}:
                    break
                current = None
                continue
            current = m.group(1)
            out[current] = (m.group(2).strip(), "")
        elif current and line.strip():
            typ, text = out[current]
            out[current] = (typ, (text + " " + line.strip()).strip())
    return out


_JSON_TYPES = {"str": "string", "float": "number", "int": "integer", "bool": "boolean",
               "dict": "object", "tuple": "array", "list": "array", "None": "null"}


def _json_type(python_type: str) -> str:
    """``float or None`` -> ``number or null``; ``tuple of str`` -> ``array of string``."""
    return re.sub(r"\b(\w+)\b", lambda m: _JSON_TYPES.get(m.group(1), m.group(1)), python_type)


def render_result_fields() -> str:
    from infocli.result import Estimate

    docs = estimate_field_docs()
    lines = ["| key | Python type | JSON type | meaning |", "|---|---|---|---|"]
    for f in dataclasses.fields(Estimate):
        typ, meaning = docs.get(f.name, ("", ""))
        # docstrings use ``code``; Markdown wants `code`
        meaning = meaning.replace("``", "`")
        meaning = re.sub(r":(?:class|func|attr|meth):`~?([^`]+)`", r"`\1`", meaning)
        meaning = meaning.replace("|", "\\|")
        lines.append(f"| `{f.name}` | {typ} | {_json_type(typ)} | {meaning} |")
    return "\n".join(lines) + "\n"


# -- quoted numbers -------------------------------------------------------------------

_NUM = r"[-\u2212]?\d+(?:\.\d+)?"
#: results of the commands run for quotes during one build
_RUNS: dict[tuple[str, ...], dict] = {}


def _number(text: str) -> tuple[float, int]:
    """(value, decimals) of a printed number (a Unicode minus allowed)."""
    text = text.replace("\u2212", "-")
    return float(text), len(text.split(".", 1)[1]) if "." in text else 0


def run_quote_command(args: list[str]) -> dict:
    """The JSON record of ``infocli ARGS --json``, run from the repository root
    against this checkout's sources (cached per build)."""
    key = tuple(args)
    if key not in _RUNS:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
        proc = subprocess.run([sys.executable, "-m", "infocli", *args, "--json"], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise DocsError(f"`infocli {' '.join(args)} --json` exited with {proc.returncode}: "
                            f"{proc.stderr.strip()[-300:]}")
        _RUNS[key] = json.loads(proc.stdout)
    return _RUNS[key]


def check_piece(piece: str, record: dict) -> None:
    """Raise DocsError unless ``piece`` prints ``record``'s figures at its precision."""
    value, stderr, interval = record["value"], record.get("stderr"), record.get("interval")

    def near(quoted: str, actual, what: str) -> None:
        q, d = _number(quoted)
        if actual is None or abs(q - actual) > 0.5 * 10.0 ** -d * (1 + 1e-9):
            raise DocsError(f"quote {piece!r}: the {what} is now {actual!r}, not {quoted}")

    def outward(quoted: str, actual, low: bool) -> None:
        q, d = _number(quoted)
        unit = 10.0 ** -d
        ok = actual is not None and (actual - unit < q <= actual if low
                                     else actual <= q < actual + unit)
        if not ok:
            raise DocsError(f"quote {piece!r}: the interval's {'low' if low else 'high'} end "
                            f"is now {actual!r} (printed rounded outwards), not {quoted}")

    m = re.fullmatch(rf"({_NUM}) ± ({_NUM})(?: nats| bits)?", piece)
    if m:
        near(m.group(1), value, "estimate")
        near(m.group(2), stderr, "standard error")
        return
    m = re.fullmatch(rf"\[({_NUM}), ({_NUM})\]", piece)
    if m:
        if not interval:
            raise DocsError(f"quote {piece!r}: the result has no interval")
        outward(m.group(1), min(interval[0], value), True)
        outward(m.group(2), max(interval[1], value), False)
        return
    m = re.fullmatch(rf"at least ({_NUM})", piece)
    if m:
        if not interval or interval[1] is not None:
            raise DocsError(f"quote {piece!r}: the interval is {interval!r}")
        outward(m.group(1), min(interval[0], value), True)
        return
    m = re.fullmatch(_NUM, piece)
    if m:
        near(piece, value, "estimate")
        return
    raise DocsError(f"quote {piece!r}: expected 'V ± S', '[LO, HI]', 'at least LO' or a number")


def quotes(markdown: str) -> list[tuple[list[str], list[str], str]]:
    """(command args, pieces, the paragraph after the marker) of every quote marker."""
    found = []
    for part, fenced in _split_fences(markdown):
        if fenced:
            continue
        for m in MARKER.finditer(part):
            if m.group("kind") != "quote":
                continue
            command, sep, pieces = m.group("args").partition(" :: ")
            if not sep or not command.split():
                raise DocsError(f"infocli:quote needs 'ARGS :: PIECE ; PIECE': {m.group(0)}")
            rest = MARKER.sub("", part[m.end():]).lstrip("\n")
            paragraph = re.split(r"\n\s*\n", rest, maxsplit=1)[0]
            found.append((command.split(), [p.strip() for p in pieces.split(" ; ") if p.strip()],
                          paragraph))
    return found


def check_quotes(markdown: str, run: bool = True) -> int:
    """Check every quote of a page; the number of pieces checked."""
    count = 0
    for args, pieces, paragraph in quotes(markdown):
        flat = " ".join(paragraph.split())
        for piece in pieces:
            if piece not in flat:
                raise DocsError(f"quote {piece!r} (infocli {' '.join(args)}) is not in the "
                                f"paragraph after its marker: {flat[:120]!r}")
        if run:
            record = run_quote_command(args)
            for piece in pieces:
                check_piece(piece.replace("\u2212", "-"), record)
        count += len(pieces)
    return count


def render(markdown: str, page_uri: str | None = None) -> str:
    """Replace every infocli marker of a page by its generated Markdown."""

    def one(m: re.Match) -> str:
        kind, args = m.group("kind"), m.group("args").split()
        if kind == "estimator":
            return render_estimator(args)
        if kind == "estimators":
            return render_estimators(page_uri)
        if kind == "cli":
            return render_cli()
        if kind == "result-fields":
            return render_result_fields()
        if kind == "quote":
            return ""  # checked by check_quotes
        raise DocsError(f"unknown marker infocli:{kind}")

    return "".join(MARKER.sub(one, part) if not fenced else part
                   for part, fenced in _split_fences(markdown))


def _split_fences(markdown: str) -> list[tuple[str, bool]]:
    """The page cut into (text, inside a fenced code block) pieces."""
    parts: list[tuple[str, bool]] = []
    fence = None
    buf: list[str] = []
    for line in markdown.splitlines(keepends=True):
        m = re.match(r"^\s*(`{3,}|~{3,})", line)
        if fence is None and m:
            parts.append(("".join(buf), False))
            buf, fence = [line], m.group(1)
        elif fence is not None and m and m.group(1).startswith(fence[0] * len(fence)):
            buf.append(line)
            parts.append(("".join(buf), True))
            buf, fence = [], None
        else:
            buf.append(line)
    parts.append(("".join(buf), fence is not None))
    return parts


def documented_estimators(markdown: str) -> list[str]:
    """Estimator names named in the infocli:estimator markers of a page."""
    return [n for part, fenced in _split_fences(markdown) if not fenced
            for m in MARKER.finditer(part) if m.group("kind") == "estimator"
            for n in m.group("args").split()]


# -- MkDocs events --------------------------------------------------------------------

def on_config(config, **kwargs):
    # build against this checkout's sources, whatever infocli is installed
    src = str(Path(config.config_file_path).resolve().parent / "src")
    if src not in sys.path:
        sys.path.insert(0, src)
    return config


def on_files(files, config, **kwargs):
    _PAGES.clear()
    for f in files.documentation_pages():
        text = Path(f.abs_src_path).read_text(encoding="utf-8")
        for name in documented_estimators(text):
            _PAGES.setdefault(name, f.src_uri)
    return files


_SPHINX_ROLE = re.compile(r":(?:func|class|meth|attr|mod|data|exc|obj):<code>~?([^<]*)</code>")


def sphinx_roles_to_code(html: str) -> str:
    """Docstrings use Sphinx roles (``:func:`entropy```); show them as plain code."""
    return _SPHINX_ROLE.sub(lambda m: f"<code>{m.group(1)}</code>", html)


def on_nav(nav, config, files, **kwargs):
    _TITLES.clear()
    for page in nav.pages:
        if page.title:
            _TITLES[page.file.src_uri] = page.title
    return nav


def on_page_content(html, page, config, files, **kwargs):
    return sphinx_roles_to_code(html)


def on_page_markdown(markdown, page, config, files, **kwargs):
    try:
        check_quotes(markdown)
        return render(markdown, page.file.src_uri)
    except DocsError as exc:
        from mkdocs.exceptions import PluginError

        raise PluginError(f"{page.file.src_uri}: {exc}") from exc
