"""One spelling per idea across commands, and help that matches behaviour (issue 27,
item 5): walks every command's options."""

from __future__ import annotations

import re

import pytest
import typer.main
from typer.testing import CliRunner

import infocli.cli
from infocli.cli._app import _legacy_json, _placeholder

GROUP = typer.main.get_command(infocli.cli.app)
COMMANDS = sorted(GROUP.commands)
#: arguments that make each command fail on a missing input file, after its options
#: are parsed and checked
MISSING_INPUT = {
    "mi": ["gone_x.npy", "gone_y.npy"],
    "cmi": ["gone_x.npy", "gone_y.npy", "--given", "gone_z.npy"],
    "entropy": ["gone_x.npy"],
    "matrix": ["gone.csv"],
    "ib": ["gone_dir", "--x", "gone_x.npy", "--y", "gone_y.npy"],
}
#: options that name a file to read or a figure/model file, not an output format
FILE_OPTIONS_OK = {"--output", "--plot", "--given", "--model", "--save-model", "--per-sample",
                   "--spectrum", "--x", "--y", "--scheduler", "--tls-ca-file", "--tls-cert",
                   "--tls-key", "--command"}


def _help(name: str) -> str:
    res = CliRunner().invoke(infocli.cli.app, [name, "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    return res.stdout


def _options(name: str):
    return [p for p in GROUP.commands[name].params if p.param_type_name == "option"]


@pytest.mark.parametrize("name", COMMANDS)
def test_help_lists_exactly_the_visible_options(name):
    text = _help(name)
    for p in _options(name):
        for opt in p.opts:
            listed = re.search(rf"(^|[\s,]){re.escape(opt)}([\s,]|$)", text, re.M) is not None
            assert listed != p.hidden, (opt, "hidden" if p.hidden else "visible")


@pytest.mark.parametrize("name", COMMANDS)
def test_one_spelling_per_idea(name):
    for p in _options(name):
        if p.hidden:
            continue
        if "--json" in p.opts:  # a format everywhere, never a file name
            assert p.is_flag, f"{name} --json takes a value"
        if "-o" in p.opts:  # a file always goes to -o/--output
            assert "--output" in p.opts and (p.metavar or _placeholder(p)) == "FILE", name
        if "--output" in p.opts:
            assert "-o" in p.opts, name
        # no other option writes an output format to a file
        assert not ({"--csv", "--parquet", "--json-file"} & set(p.opts)), (name, p.opts)
        if (p.metavar or _placeholder(p)) == "FILE" and not p.is_flag:
            assert set(p.opts) & FILE_OPTIONS_OK, (name, p.opts)
    opts = {o for p in _options(name) if not p.hidden for o in p.opts}
    if "--format" in opts:
        assert "-f" in opts, name


@pytest.mark.parametrize("name", sorted(MISSING_INPUT))
def test_every_format_the_help_offers_is_accepted(name, tmp_path):
    help_text = " ".join(_help(name).split())
    m = re.search(r"--format FORMAT (.*?)(?= -|\Z)", help_text)
    assert m, f"{name} has no --format"
    offered = [f for f in ("table", "json", "jsonl", "csv", "tsv", "value")
               if re.search(rf"\b{f}\b", m.group(1))]
    assert "json" in offered and "csv" in offered, (name, offered)
    runner = CliRunner()
    for fmt in offered:
        res = runner.invoke(infocli.cli.app, [name, *MISSING_INPUT[name], "--format", fmt])
        # refused for the missing file, never for the format the help offered
        assert res.exit_code == 2 and "format" not in res.stderr, (name, fmt, res.stderr)
        assert "gone" in res.stderr, (name, fmt, res.stderr)


def test_ib_help_matches_behaviour():
    text = " ".join(_help("ib").split())
    assert "value" not in re.search(r"--format FORMAT (.*?)(?= -|\Z)", text).group(1)
    assert "X's file" not in text  # --y is required: Y never comes from X's file
    res = CliRunner().invoke(infocli.cli.app, ["ib", "d", "--x", "a.npy", "--y", "b.npy",
                                               "--format", "value"])
    assert res.exit_code == 2 and "--format value" in res.stderr


def test_old_json_file_spelling_is_rewritten_with_a_warning(capsys):
    assert _legacy_json("matrix", ["d.csv", "--json", "out.json"]) == [
        "d.csv", "--json-file", "out.json"]
    assert _legacy_json("matrix", ["d.csv", "--json", "-q"]) == ["d.csv", "--json", "-q"]
    assert _legacy_json("matrix", ["--json", "d.csv"]) == ["--json", "d.csv"]  # the new flag
    assert _legacy_json("bench", ["--json", "runs.txt"]) == ["--json-file", "runs.txt"]
    assert _legacy_json("bench", ["--json=-", "-q"]) == ["--json", "-q"]
    assert "--json - is deprecated" in capsys.readouterr().err
    assert _legacy_json("mi", ["--json", "x.json"]) == ["--json", "x.json"]


def test_old_matrix_spellings_still_write_their_files(tmp_path):
    import json

    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    pd.DataFrame(rng.normal(size=(120, 3)), columns=list("abc")).to_csv(tmp_path / "t.csv",
                                                                        index=False)
    res = CliRunner().invoke(infocli.cli.app, [
        "matrix", str(tmp_path / "t.csv"), "--json", str(tmp_path / "old.json"),
        "--csv", str(tmp_path / "old.csv"), "-o", str(tmp_path / "new.tsv")])
    assert res.exit_code == 0, res.output
    assert "--json FILE is deprecated" in res.stderr and "--csv FILE is deprecated" in res.stderr
    old = json.loads((tmp_path / "old.json").read_text())
    assert [r["value"] for r in old["rows"]] == list(pd.read_csv(tmp_path / "old.csv")["value"])
    assert list(pd.read_csv(tmp_path / "new.tsv", sep="\t")["value"]) == [
        r["value"] for r in old["rows"]]
    new = CliRunner().invoke(infocli.cli.app, ["matrix", str(tmp_path / "t.csv"), "--json"])
    assert json.loads(new.stdout)["rows"] == old["rows"] and new.stderr == ""
