"""The documentation: README and CI agree, every estimator, parameter and command
is documented, pages are reachable, snippets run.

The parameter tables, the CLI reference and the result keys are generated at
build time by ``tools/mkdocs_hooks.py``; these tests check the generators and
that every registered estimator has a page asking for its table. ``mkdocs build
--strict`` itself runs in ``.ci/run``.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from pathlib import Path

import pytest

from infocli import registry
from infocli.result import Estimate

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
MKDOCS = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


def _hooks():
    spec = importlib.util.spec_from_file_location("mkdocs_hooks", ROOT / "tools" / "mkdocs_hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hooks = _hooks()


def _pages() -> dict[str, str]:
    return {p.relative_to(DOCS).as_posix(): p.read_text(encoding="utf-8")
            for p in sorted(DOCS.rglob("*.md"))}


def _ci_commands() -> list[str]:
    return [line.strip() for line in CI.splitlines()
            if line.strip() and not line.lstrip().startswith("#")
            and line.strip() not in ("set -euo pipefail",) and not line.startswith("cd ")]


def _code_blocks(markdown: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", markdown, re.M | re.S)


# -- README and CI ----------------------------------------------------------------------

def test_readme_setup_command_is_the_one_ci_runs():
    ci_install = [c for c in _ci_commands() if "pip install" in c]
    assert len(ci_install) == 1, ci_install
    readme_install = [line.strip() for block in _code_blocks(README, "bash")
                      for line in block.splitlines() if "pip install" in line]
    assert readme_install == ci_install, (readme_install, ci_install)
    # and it installs the extras the tests and the docs build need
    assert re.search(r'-e "\.\[[^\]]*\btest\b[^\]]*\bdocs\b[^\]]*\]"', ci_install[0])


def test_readme_test_command_and_docs_build_are_in_ci():
    commands = _ci_commands()
    assert "python -m pytest -q" in commands
    assert "python -m pytest -q" in [line.strip() for block in _code_blocks(README, "bash")
                                     for line in block.splitlines()]
    build = [c for c in commands if "mkdocs build" in c]
    assert len(build) == 1 and "--strict" in build[0]
    # mkdocs' --quiet drops warnings before --strict counts them: a broken link would pass
    assert not re.search(r"\s(-q|--quiet)\b", build[0])
    assert commands.index("python -m pytest -q") < commands.index(build[0])


def test_docs_extra_declares_the_build_tools():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    line = re.search(r"^docs = \[(.*)\]", pyproject, re.M)
    assert line, "pyproject.toml has no docs extra"
    for package in ("mkdocs>=", "mkdocs-material>=", "mkdocstrings[python]>="):
        assert f'"{package}' in line.group(1), package


def test_readme_lists_every_registered_estimator_once():
    rows = re.findall(r"^\| `([a-z_]+)` \|", README, re.M)
    names = [s.name for s in registry.all_specs()]
    missing = sorted(set(names) - set(rows))
    assert not missing, f"README's estimator table lacks {missing}"
    assert sorted(rows) == sorted(set(rows)), "an estimator is listed twice"
    assert not set(rows) - set(names), f"README lists unknown estimators {set(rows) - set(names)}"


def test_readme_links_resolve_and_no_internal_references():
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if "://" not in target:
            assert (ROOT / target).is_file(), f"README links to missing {target}"
    texts = {"README.md": README, **{f"docs/{k}": v for k, v in _pages().items()}}
    for name, text in texts.items():
        # spelled in pieces so that this file does not itself contain the phrases
        # (tests/test_defects.py scans every tracked file for them)
        for phrase in ("../shared", "METHODS" ".md", "STYLE" ".md", "the " "issue",
                       "our " "machines", "steering", "/work/"):
            assert phrase not in text, f"{name} mentions {phrase!r}"


# -- snippets -------------------------------------------------------------------------

@pytest.mark.parametrize("source", ["README.md", "docs/getting-started.md"])
def test_python_snippets_run_as_written(source):
    """Self-contained snippets: no undefined names, and they run."""
    text = (ROOT / source).read_text(encoding="utf-8")
    blocks = _code_blocks(text, "python")
    assert blocks, f"{source} has no Python snippet"
    for block in blocks:
        namespace: dict = {}
        exec(compile(block, source, "exec"), namespace)  # noqa: S102 - our own docs


# -- generated content ----------------------------------------------------------------

def test_every_registered_estimator_has_a_page_with_its_table():
    documented: dict[str, str] = {}
    for uri, text in _pages().items():
        for name in hooks.documented_estimators(text):
            documented.setdefault(name, uri)
    names = {s.name for s in registry.all_specs()}
    missing = sorted(names - set(documented))
    assert not missing, (
        f"no docs page documents {missing}: add the line '<!-- infocli:estimator NAME -->' "
        "to the estimator's page under docs/")
    unknown = sorted(set(documented) - names)
    assert not unknown, f"docs pages name unregistered estimators {unknown}"


def test_generated_parameter_tables_list_every_parameter():
    for spec in registry.all_specs():
        table = hooks.render_estimator([spec.name])
        for p in spec.params:
            row = next((line for line in table.splitlines() if line.startswith(f"| `{p.name}` |")),
                       None)
            assert row is not None, f"{spec.name}: parameter {p.name} missing"
            assert f"`{p.describe_default() or ''}`" in row or (p.default == "" and '`""`' in row)
            for choice in p.choices or ():
                assert f"`{choice}`" in row
    # a shared table marks parameters that only some estimators have
    table = hooks.render_estimator(["mine", "smile"])
    clip = next(line for line in table.splitlines() if line.startswith("| `clip` |"))
    assert "(only `smile`)" in clip


def test_unknown_estimator_in_a_marker_stops_the_build():
    with pytest.raises(hooks.DocsError, match="unknown estimator 'nope'"):
        hooks.render("intro\n<!-- infocli:estimator nope -->\n")
    with pytest.raises(hooks.DocsError, match="unknown marker"):
        hooks.render("<!-- infocli:whatever -->\n")


def test_markers_in_code_blocks_are_left_alone():
    text = "```text\n<!-- infocli:estimator nope -->\n```\n<!-- infocli:estimator ksg -->\n"
    out = hooks.render(text)
    assert "<!-- infocli:estimator nope -->" in out
    assert "| `algorithm` |" in out
    assert hooks.documented_estimators(text) == ["ksg"]


def test_cli_reference_covers_every_command():
    import typer

    from infocli.cli import app

    commands = [name for name, cmd in typer.main.get_command(app).commands.items()
                if not getattr(cmd, "hidden", False)]
    page = hooks.render("<!-- infocli:cli -->\n")
    for name in commands:
        assert f"### infocli {name}\n" in page
        assert f"Usage: infocli {name} " in page
    # grouped by task, estimates first
    heads = re.findall(r"^## (\w+)$", page, re.M)
    assert heads[1:5] == ["Estimate", "Benchmark", "Batch", "Inspect"], heads
    assert page.index("### infocli mi\n") < page.index("### infocli batch\n")
    # the options come from the program, not from a copy
    assert "--permutations" in page.split("### infocli mi\n", 1)[1]
    assert page.count("Usage: infocli") >= len(commands) + 1  # sub-commands add more


def test_result_keys_table_documents_every_field():
    docs = hooks.estimate_field_docs()
    fields = [f.name for f in dataclasses.fields(Estimate)]
    undocumented = [f for f in fields if not docs.get(f, ("", ""))[1]]
    assert not undocumented, f"Estimate's docstring does not describe {undocumented}"
    table = hooks.render_result_fields()
    assert [re.match(r"\| `(\w+)`", line).group(1) for line in table.splitlines()[2:]] == fields


def test_estimator_index_links_each_estimator_to_its_page():
    hooks._PAGES.clear()
    try:
        for uri, text in _pages().items():
            for name in hooks.documented_estimators(text):
                hooks._PAGES.setdefault(name, uri)
        table = hooks.render_estimators("estimators/index.md")
    finally:
        hooks._PAGES.clear()
    assert "| `ksg` |" in table and "[knn](knn.md)" in table


# -- site structure -------------------------------------------------------------------

def _nav_targets(include_commented: bool) -> list[str]:
    pattern = r"^\s*(#\s*)?- [^:\n]+:\s*(\S+\.md)"
    return [m.group(2) for m in re.finditer(pattern, MKDOCS, re.M)
            if include_commented or not m.group(1)]


def test_every_page_is_in_the_nav_and_every_nav_entry_exists():
    nav = _nav_targets(include_commented=False)
    pages = set(_pages())
    assert not [t for t in nav if t not in pages], "nav names missing pages"
    orphans = sorted(pages - set(nav))
    assert not orphans, (f"pages not in mkdocs.yml's nav: {orphans}; add them (or uncomment "
                         "their '(added on merge)' line)")


def test_build_is_offline():
    # no plugin that fetches at build time, no web fonts
    assert re.search(r"^\s+font: false\s*$", MKDOCS, re.M)
    plugins = MKDOCS.split("\nplugins:\n", 1)[1].split("\n\n", 1)[0]
    for name in ("privacy", "social", "git-revision", "git-committers", "import:"):
        assert name not in plugins


def test_getting_started_lists_every_extra():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = pyproject.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    extras = re.findall(r"^([A-Za-z0-9_-]+)\s*=\s*\[", section, re.M)
    assert {"test", "docs"} <= set(extras)
    page = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    missing = [e for e in extras if f"| `{e}` |" not in page]
    assert not missing, f"docs/getting-started.md's extras table lacks {missing}"


def test_home_page_links_every_guide():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(([^)#]+\.md)", index))
    nav = [t for t in _nav_targets(include_commented=False) if "/" not in t or
           t.endswith("/index.md")]
    missing = sorted(set(nav) - linked - {"index.md"})
    assert not missing, f"docs/index.md's 'Where to go next' does not link {missing}"


def test_guides_hold_no_dated_run_logs():
    for uri, text in _pages().items():
        if uri == "bench-history.md":
            continue
        dated = re.findall(r"^#+ .*\b(?:Run of|run of) \d{1,2} \w+ \d{4}", text, re.M)
        assert not dated, f"{uri} has dated run logs {dated}; they go to bench-history.md"


# -- quoted numbers ---------------------------------------------------------------

def test_quote_pieces_compare_at_the_printed_precision():
    record = {"value": 0.50667, "stderr": 0.00934, "interval": [0.48371, 0.62043]}
    for piece in ("0.507 ± 0.009", "0.5067 ± 0.0093", "[0.48, 0.63]", "[0.483, 0.621]",
                  "0.51"):
        hooks.check_piece(piece, record)
    for piece, what in (("0.508 ± 0.009", "estimate"), ("0.507 ± 0.0073", "standard error"),
                        ("[0.48, 0.62]", "high end"), ("[0.49, 0.63]", "low end"),
                        ("[0.47, 0.63]", "low end"), ("0.52", "estimate")):
        with pytest.raises(hooks.DocsError, match=what):
            hooks.check_piece(piece, record)
    # an interval that excludes its estimate is printed widened to it
    hooks.check_piece("[-0.00004, 0.01915]", {"value": -0.00004, "stderr": 0.0002,
                                              "interval": [0.0, 0.019145]})
    hooks.check_piece("[-0.00005, 0.01915]", {"value": -0.000041, "stderr": 0.0002,
                                              "interval": [0.0, 0.019145]})
    with pytest.raises(hooks.DocsError, match="expected"):
        hooks.check_piece("about half a nat", record)


def test_every_quote_appears_in_its_paragraph():
    checked = sum(hooks.check_quotes(text, run=False) for text in _pages().values())
    assert checked >= 10
    with pytest.raises(hooks.DocsError, match="not in the paragraph"):
        hooks.check_quotes("<!-- infocli:quote mi a b :: 0.5 ± 0.1 -->\nIt gives 0.6 ± 0.1.\n",
                           run=False)


def test_a_changed_number_fails_the_build():
    page = ("<!-- infocli:quote entropy sample_data/uniform.npy -e gaussian --check off :: "
            "{} -->\nThe Gaussian plug-in gives {} nats.\n")
    record = hooks.run_quote_command(["entropy", "sample_data/uniform.npy", "-e", "gaussian",
                                      "--check", "off"])
    from infocli._display import value_text

    right = value_text(record["value"], record["stderr"])
    assert hooks.check_quotes(page.format(right, right)) == 1
    wrong = f"{record['value'] + 0.01:.3f} ± {record['stderr']:.3f}"
    with pytest.raises(hooks.DocsError, match="the estimate is now"):
        hooks.check_quotes(page.format(wrong, wrong))


@pytest.mark.slow
def test_docs_quotes_match_their_commands():
    """What the docs build checks (every quote reruns its command)."""
    assert sum(hooks.check_quotes(text) for text in _pages().values()) >= 10
