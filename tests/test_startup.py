"""Start-up weight: what a fresh process imports for `import infocli`, the help
screens and a small estimate (issue 27). Each check runs in a subprocess, since
this test process has long imported everything."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

HEAVY = ("torch", "dask", "distributed", "matplotlib", "scipy.stats", "pandas", "numba")


def _loaded(code: str) -> set[str]:
    """Modules in sys.modules after running ``code`` in a fresh interpreter."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=120)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def _cli(args: list[str]) -> str:
    return ("import sys\nsys.argv = ['infocli'] + " + repr(args) + "\n"
            "from infocli.cli import main\n"
            "import contextlib, io\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main()\n    except SystemExit:\n        pass\n")


def test_import_infocli_is_light():
    loaded = _loaded("import infocli")
    assert not loaded & {*HEAVY, "numpy", "scipy", "typer", "rich"}, loaded & {*HEAVY, "scipy"}


@pytest.mark.parametrize("args", [["--help"], ["mi", "--help"], ["matrix", "--help"],
                                  ["bench", "--help"]])
def test_help_imports_no_heavy_library(args):
    loaded = _loaded(_cli(args))
    assert not loaded & {*HEAVY, "scipy", "numpy", "rich"}, sorted(loaded & {*HEAVY, "scipy"})


@pytest.mark.parametrize("extra", [["-e", "ksg", "--check", "off"], []],
                         ids=["ksg-check-off", "default-auto-check-fast"])
def test_small_estimate_needs_neither_scipy_nor_numba(tmp_path, extra):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = x[:, :1] + rng.normal(size=(200, 1))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    loaded = _loaded(_cli(["mi", str(tmp_path / "x.npy"), str(tmp_path / "y.npy"),
                           *extra, "--value"]))
    assert "infocli.estimators.knn" in loaded  # the estimate did run
    if not extra:  # the default ran auto and its check (the copula tests among them)
        assert {"infocli.estimators.auto", "infocli.diagnostics"} <= loaded
    assert not loaded & {*HEAVY, "scipy", "rich", "pydantic"}, sorted(
        loaded & {*HEAVY, "scipy", "rich", "pydantic"})


def test_importtime_names_no_heavy_module():
    """The same, read from ``python -X importtime`` (every module imported, with its
    cost): ``import infocli`` and ``infocli mi --help``."""
    for code in ("import infocli", _cli(["mi", "--help"])):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code],
                              capture_output=True, text=True, check=True, timeout=120)
        names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
                 if line.startswith("import time:") and line.count("|") == 2}
        assert "infocli" in names
        heavy = {n for n in names if n.split(".")[0] in {"torch", "dask", "distributed",
                                                         "matplotlib", "pandas", "numba"}
                 or n.startswith("scipy.stats")}
        assert not heavy, sorted(heavy)[:10]
