"""Small work stays in-process, and progress shows off a terminal (issue 27, items 2-3)."""

from __future__ import annotations

import math
import sys
import time

import numpy as np
import pandas as pd
import pytest

from infocli import batch
from infocli.batch import Job
from infocli.cli._common import _clock, _PlainBatchProgress, _PlainProgress


def test_work_cells_counts_rows_columns_check_and_permutations():
    assert batch.work_cells(178, 2, estimator="ksg", check="off") == 356
    assert batch.work_cells(178, 2, estimator="ksg", check="fast") == 356 * 5
    assert batch.work_cells(100, 3, estimator="auto", check="full", permutations=9) == 300 * 12 * 10
    assert batch.work_cells(100, 2, estimator="mine") == math.inf


def test_jobs_work_reads_npy_headers(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((200, 3)))
    np.save(tmp_path / "b.npy", np.zeros((200, 1)))
    jobs = [Job(id=str(i), measure="mi", x="a.npy", y="b.npy", estimator="ksg",
                base=str(tmp_path)) for i in range(7)]
    assert batch.jobs_work(jobs) == 7 * 800 * batch.CHECK_COST["fast"]
    heavy = [Job(id="n", measure="mi", x="a.npy", y="b.npy", estimator="infonce",
                 base=str(tmp_path))]
    assert batch.jobs_work(jobs + heavy) == math.inf


def test_small_work_runs_in_process_without_dask():
    with batch.open_engine(work=10_000) as engine:
        assert engine.client is None
        assert "small work" in engine.describe() and "--workers N" in engine.describe()
    with batch.open_engine(workers=0, work=math.inf) as engine:  # 0 still means in-process
        assert engine.client is None and engine.reason is None
    assert batch.small_work(batch.SMALL_WORK_CELLS)
    assert not batch.small_work(batch.SMALL_WORK_CELLS + 1)


def test_matrix_records_which_executor_ran():
    from infocli.matrix import mi_matrix

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(150, 4)), columns=list("abcd"))
    result = mi_matrix(frame)  # no --workers: small work
    assert result.executor.startswith("in-process (small work: ~")
    assert result.to_dict()["executor"] == result.executor
    assert "distributed" not in sys.modules or result.executor.startswith("in-process")


def test_plain_progress_prints_done_total_elapsed_eta(capsys):
    with _PlainProgress(interval=0.05) as p:
        p("runs | loss 1.2", 3, 12)
        time.sleep(0.3)
    err = capsys.readouterr().err.splitlines()
    assert err, "no progress line"
    assert err[-1].startswith("infocli: runs 3/12, 0:00 elapsed, ETA 0:0")
    with _PlainBatchProgress(interval=0.05) as p:
        p(4, 1, 2, 10)
        time.sleep(0.2)
    assert "jobs (1 failed, 2 running) 5/10" in capsys.readouterr().err


def test_plain_progress_is_silent_for_short_work(capsys):
    with _PlainProgress(interval=5.0) as p:
        p("runs", 1, 2)
    assert capsys.readouterr().err == ""
    with _PlainProgress(interval=0.05):  # nothing reported yet: nothing to say
        time.sleep(0.2)
    assert capsys.readouterr().err == ""
    assert (_clock(42), _clock(725), _clock(3723)) == ("0:42", "12:05", "1:02:03")


def test_cli_progress_off_a_terminal_and_quiet(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import infocli.cli

    rng = np.random.default_rng(1)
    pd.DataFrame(rng.normal(size=(300, 6)), columns=list("abcdef")).to_csv(
        tmp_path / "t.csv", index=False)
    monkeypatch.setenv("INFOCLI_PROGRESS_SECONDS", "0.05")
    runner = CliRunner()
    res = runner.invoke(infocli.cli.app, ["matrix", str(tmp_path / "t.csv"), "--check", "fast"])
    assert res.exit_code == 0, res.output
    assert "infocli: pairs " in res.stderr and "elapsed" in res.stderr
    res = runner.invoke(infocli.cli.app, ["matrix", str(tmp_path / "t.csv"), "--check",
                                          "fast", "-q"])
    assert res.exit_code == 0 and "elapsed" not in res.stderr
