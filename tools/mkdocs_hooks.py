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

An unknown estimator name or a failing ``--help`` stops the build. The same
functions are used by ``tests/test_docs.py``.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import re
import sys
from pathlib import Path

MARKER = re.compile(r"^<!--\s*infocli:(?P<kind>[a-z-]+)(?P<args>[^>]*?)\s*-->\s*$", re.M)

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


def render_cli() -> str:
    """Every command's help, generated from the Typer app."""
    out = ["## infocli", "", "```text", cli_help([]).rstrip(), "```", ""]
    for path, cmd in _command_paths():
        level = "#" * min(2 + len(path) - 1, 4)
        title = "infocli " + " ".join(path)
        out += [f"{level} {title}", "", "```text", cli_help(path).rstrip(), "```", ""]
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
        return render(markdown, page.file.src_uri)
    except DocsError as exc:
        from mkdocs.exceptions import PluginError

        raise PluginError(f"{page.file.src_uri}: {exc}") from exc
