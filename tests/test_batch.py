"""infocli batch: manifests (parsing, validation with line numbers, stable ids), the
JSON Lines sink (resume after a truncated file, error records), execution on a real
``distributed.LocalCluster`` on loopback (same values as in-process, a worker
SIGKILLed mid-run, a job over the worker memory limit, SIGTERM of the client) and
the command line's mapping and exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import infocli
import infocli.cli
from infocli import batch
from infocli.errors import InputError, ParameterError

N = 400


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """Small seeded tables: a CSV with named columns and an .npy array."""
    d = tmp_path_factory.mktemp("batch")
    rng = np.random.default_rng(7)
    x = rng.standard_normal((N, 3))
    x[:, 1] = 0.8 * x[:, 0] + 0.6 * x[:, 1]
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2],
                  "lab": np.where(x[:, 0] > 0, "p", "q")}).to_csv(d / "t.csv", index=False)
    np.save(d / "xy.npy", x)
    return d


def _env():
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    return {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def _jobs(data_dir, n):
    """n distinct mi jobs (distinct seeds) on the CSV."""
    return batch.parse_jobs([(i + 1, {"measure": "mi", "x": "t.csv", "x_cols": "a",
                                      "y_cols": "b", "seed": i}) for i in range(n)],
                            base=str(data_dir))


# --------------------------------------------------------------------------- manifests

def test_csv_jsonl_yaml_manifests_give_the_same_jobs(data_dir):
    (data_dir / "m.csv").write_text(
        "measure,x,y,x_cols,y_cols,estimator,params,seed,discrete_y\n"
        "mi,t.csv,,a,b,ksg,k=5;algorithm=2,3,\n"
        "entropy,xy.npy,,0,,kl,,0,\n"
        "mi,t.csv,t.csv,a,lab,,,1,true\n")
    (data_dir / "m.jsonl").write_text(
        '{"measure": "mi", "x": "t.csv", "x_cols": "a", "y_cols": "b", "estimator": "ksg",'
        ' "params": {"k": 5, "algorithm": 2}, "seed": 3}\n'
        "\n"
        '{"measure": "entropy", "x": "xy.npy", "x_cols": 0, "estimator": "kl"}\n'
        '{"measure": "mi", "x": "t.csv", "y": "t.csv", "x_cols": "a", "y_cols": "lab",'
        ' "seed": 1, "discrete_y": true}\n')
    (data_dir / "m.yaml").write_text(
        "jobs:\n"
        "  - {measure: mi, x: t.csv, x_cols: a, y_cols: b, estimator: ksg,\n"
        "     params: [k=5, algorithm=2], seed: 3}\n"
        "  - measure: entropy\n"
        "    x: xy.npy\n"
        "    x_cols: [0]\n"
        "    estimator: kl\n"
        "  - {measure: mi, x: t.csv, y: t.csv, x_cols: a, y_cols: lab, seed: 1,\n"
        "     discrete_y: yes}\n")
    csv_jobs, jsonl_jobs, yaml_jobs = (batch.read_manifest(str(data_dir / f"m.{ext}"))
                                       for ext in ("csv", "jsonl", "yaml"))
    assert [j.id for j in csv_jobs] == [j.id for j in jsonl_jobs] == [j.id for j in yaml_jobs]
    assert [j.inputs() for j in csv_jobs] == [j.inputs() for j in yaml_jobs]
    first = csv_jobs[0]
    assert first.params == {"k": 5, "algorithm": 2} and first.seed == 3
    assert csv_jobs[1].estimator == "kl" and csv_jobs[1].x_cols == "0"
    assert csv_jobs[2].discrete_y is True and csv_jobs[2].y == "t.csv"
    assert [j.line for j in csv_jobs] == [2, 3, 4]
    assert [j.line for j in jsonl_jobs] == [1, 3, 4]
    assert [j.line for j in yaml_jobs] == [2, 4, 8]
    assert first.base == str(data_dir)


def test_yaml_defaults_apply_to_every_job(data_dir):
    (data_dir / "d.yaml").write_text(
        "defaults: {estimator: ksg, params: {k: 7}, x: t.csv}\n"
        "jobs:\n"
        "  - {measure: mi, x_cols: a, y_cols: b}\n"
        "  - {measure: mi, x_cols: a, y_cols: c, params: {k: 4}}\n")
    jobs = batch.read_manifest(str(data_dir / "d.yaml"))
    assert [j.params["k"] for j in jobs] == [7, 4]
    assert all(j.x == "t.csv" for j in jobs)


def test_bad_rows_are_reported_with_their_line_numbers_before_anything_runs(data_dir):
    path = data_dir / "bad.csv"
    path.write_text("measure,x,y_cols,params,seed\n"
                    "mi,t.csv,b,,0\n"
                    "mi,t.csv,b,k=0,0\n"             # line 3: k >= 1
                    "\n"
                    "foo,t.csv,b,,0\n"               # line 5: unknown measure
                    "mi,t.csv,,,0\n"                 # line 6: no Y
                    "mi,t.csv,b,neighbours=3,0\n"    # line 7: unknown parameter
                    "entropy,t.csv,b,,-1\n")         # line 8: entropy takes no y_cols
    with pytest.raises(InputError) as exc:
        batch.read_manifest(str(path))
    message = str(exc.value)
    assert "line 2" not in message
    assert "line 3: parameter k=0: expected >= 1" in message
    assert "line 5: measure 'foo'" in message
    assert "line 6: mi needs Y" in message
    assert "line 7: estimator 'auto' has no parameter 'neighbours'" in message  # mi's default
    assert "line 8: entropy takes no y" in message


def test_yaml_and_jsonl_errors_name_their_lines(data_dir):
    (data_dir / "bad.yaml").write_text("- {measure: mi, x: t.csv, y_cols: b}\n"
                                       "- measure: mi\n"
                                       "  x: t.csv\n"
                                       "  seed: -2\n"
                                       "  y_cols: b\n")
    with pytest.raises(InputError, match=r"line 2: seed -2: expected a non-negative integer"):
        batch.read_manifest(str(data_dir / "bad.yaml"))
    (data_dir / "bad.jsonl").write_text('{"measure": "mi", "x": "t.csv", "y_cols": "b"}\n'
                                        '{"measure": "mi", "x": \n')
    # reported with the other bad rows (all at once), as "FILE: line N: ..."
    with pytest.raises(InputError, match=r"bad.jsonl: line 2: not valid JSON"):
        batch.read_manifest(str(data_dir / "bad.jsonl"))
    (data_dir / "typo.jsonl").write_text('{"measure": "mi", "x": "t.csv", "ycols": "b"}\n')
    with pytest.raises(InputError, match=r"line 1: unknown field 'ycols'"):
        batch.read_manifest(str(data_dir / "typo.jsonl"))


def test_duplicate_ids_are_refused_naming_both_lines(data_dir):
    path = data_dir / "dup.csv"
    path.write_text("measure,x,x_cols,y_cols,seed\nmi,t.csv,a,b,1\nmi,t.csv,a,c,1\n"
                    "mi,t.csv,a,b,1\n")
    with pytest.raises(InputError, match=r"line 4: duplicate id '[0-9a-f]{12}' \(also line 2\)"):
        batch.read_manifest(str(path))


def test_stable_ids_depend_on_the_job_only():
    a = batch.make_job({"measure": "mi", "x": "f.csv", "x_cols": "a", "y_cols": "b",
                        "params": "k=5"})
    b = batch.make_job({"params": {"k": 5}, "y_cols": "b", "x_cols": "a", "x": "f.csv",
                        "measure": "mutual_information", "estimator": "auto", "seed": "0"})
    c = batch.make_job({"measure": "mi", "x": "f.csv", "x_cols": "a", "y_cols": "b",
                        "params": "k=5", "seed": 1})
    assert a.id == b.id != c.id
    assert len(a.id) == 12 and int(a.id, 16) >= 0
    assert batch.make_job({"id": "layer3", "measure": "entropy", "x": "f.npy"}).id == "layer3"
    # another interpreter (another hash seed) computes the same id
    code = ("from infocli import batch; print(batch.make_job({'measure': 'mi', 'x': 'f.csv', "
            "'x_cols': 'a', 'y_cols': 'b', 'params': 'k=5'}).id)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**_env(), "PYTHONHASHSEED": "123"}, check=True)
    assert out.stdout.strip() == a.id


# --------------------------------------------------------------------------- in-process runs

def test_records_equal_the_single_library_call(data_dir):
    jobs = batch.parse_jobs([
        (1, {"measure": "mi", "x": "t.csv", "x_cols": "a", "y_cols": "b", "params": "k=4",
             "seed": 2}),
        (2, {"measure": "entropy", "x": "xy.npy", "x_cols": "2", "unit": "bits"}),
        (3, {"measure": "cmi", "x": "t.csv", "x_cols": "a", "y_cols": "b", "given_cols": "c"}),
        (4, {"measure": "mi", "x": "t.csv", "x_cols": "a", "y_cols": "lab"}),
    ], base=str(data_dir))
    records = {r["id"]: r for r in batch.run(jobs, workers=0)}
    df = pd.read_csv(data_dir / "t.csv")
    arr = np.load(data_dir / "xy.npy")
    expected = [
        infocli.mutual_information(df[["a"]], df[["b"]], k=4, seed=2),
        infocli.entropy(arr[:, [2]], unit="bits"),
        infocli.conditional_mutual_information(df[["a"]], df[["b"]], df[["c"]]),
        infocli.mutual_information(df[["a"]], df[["lab"]]),
    ]
    for job, est in zip(jobs, expected):
        r = records[job.id]
        assert r["value"] == est.value and r["stderr"] == est.stderr
        assert r["measure"] == est.measure and r["unit"] == est.unit
        assert r["job"] == job.inputs() and r["id"] == job.id
    assert records[jobs[3].id]["details"]["classes"] == {"y": 2}


def test_failed_jobs_become_error_records_and_the_rest_run(data_dir, monkeypatch):
    jobs = batch.parse_jobs([
        (1, {"measure": "mi", "x": "t.csv", "x_cols": "a", "y_cols": "b"}),
        (2, {"measure": "mi", "x": "missing.npy", "x_cols": "0", "y_cols": "1"}),
        (3, {"measure": "mi", "x": "t.csv", "x_cols": "a", "y_cols": "nope"}),
        (4, {"measure": "mi", "x": "t.csv", "x_cols": "a", "y_cols": "b", "params": "k=900"}),
        (5, {"measure": "mi", "x": "t.csv", "x_cols": "a", "y_cols": "c"}),
    ], base=str(data_dir))
    real = infocli.api.mutual_information

    def flaky(x, y, **kw):  # a bug in one job (an unexpected exception type)
        if list(y.columns) == ["c"]:
            raise ZeroDivisionError("boom")
        return real(x, y, **kw)

    monkeypatch.setattr(infocli.api, "mutual_information", flaky)
    records = {r["id"]: r for r in batch.run(jobs, workers=0)}
    ok, missing, column, big_k, bug = (records[j.id] for j in jobs)
    assert "error" not in ok and ok["value"] > 0.3
    assert missing["error"] == {"code": 2, "message": f"{data_dir / 'missing.npy'}: no such file"}
    assert column["error"]["code"] == 2 and "y_cols 'nope'" in column["error"]["message"]
    assert big_k["error"]["code"] == 2 and "900" in big_k["error"]["message"]
    assert bug["error"]["code"] == 1 and "ZeroDivisionError: boom" in bug["error"]["message"]
    assert all(r["job"] == j.inputs() for r, j in zip((ok, missing, column, big_k, bug), jobs))
    assert batch.exit_code(records.values()) == batch.EXIT_SOME_FAILED == 4


def test_resume_after_a_truncated_file_runs_each_job_once(data_dir, tmp_path):
    jobs = _jobs(data_dir, 5)
    out = tmp_path / "r.jsonl"
    first = batch.run(jobs[:3], workers=0, output=str(out))
    assert len(first) == 3
    text = out.read_bytes()
    cut = text.rfind(b"\n", 0, len(text) - 1) + 1 + 40  # 40 bytes into the 3rd record
    out.write_bytes(text[:cut])
    with pytest.raises(InputError, match="exists; use --resume"):
        batch.run(jobs, workers=0, output=str(out))
    second = batch.run(jobs, workers=0, output=str(out), resume=True)
    lines = _lines(out)
    assert sorted(r["id"] for r in second) == sorted(j.id for j in jobs[2:])
    assert sorted(r["id"] for r in lines) == sorted(j.id for j in jobs)
    by_id = {r["id"]: r for r in lines}
    again = {r["id"]: r for r in batch.run(jobs, workers=0)}
    assert all(by_id[i]["value"] == again[i]["value"] for i in by_id)
    assert batch.run(jobs, workers=0, output=str(out), resume=True) == []


def test_corruption_before_the_last_line_is_refused(tmp_path):
    out = tmp_path / "c.jsonl"
    out.write_text('{"id": "a", "value": 1}\nnot json\n{"id": "b", "value": 2}\n')
    with pytest.raises(InputError, match=r"c.jsonl line 2: not a result record"):
        batch.read_results(str(out))


def test_retry_failed_reruns_only_the_error_records(data_dir, tmp_path):
    out = tmp_path / "f.jsonl"
    jobs = batch.parse_jobs([(1, {"measure": "mi", "x": "t.csv", "x_cols": "a", "y_cols": "b"}),
                             (2, {"measure": "mi", "x": "later.csv", "x_cols": "a",
                                  "y_cols": "b"})], base=str(data_dir))
    batch.run(jobs, workers=0, output=str(out))
    assert ["error" in r for r in _lines(out)] == [False, True]
    (data_dir / "later.csv").write_bytes((data_dir / "t.csv").read_bytes())
    assert batch.run(jobs, workers=0, output=str(out), resume=True) == []
    rerun = batch.run(jobs, workers=0, output=str(out), resume=True, retry_failed=True)
    assert [r["id"] for r in rerun] == [jobs[1].id]
    lines = _lines(out)
    assert len(lines) == 2 and not any("error" in r for r in lines)


def test_each_file_is_read_once_per_process(data_dir, monkeypatch):
    import infocli.io

    calls = []
    real = infocli.io.read_table
    monkeypatch.setattr(infocli.io, "read_table",
                        lambda spec, **kw: calls.append(spec) or real(spec, **kw))
    batch._CACHE.clear()
    batch._CACHE_BYTES[0] = 0
    batch.run(_jobs(data_dir, 4), workers=0)
    assert calls == [str(data_dir / "t.csv")]


# --------------------------------------------------------------------------- LocalCluster

def test_cluster_results_equal_in_process_results(data_dir, dask_engine):
    jobs = _jobs(data_dir, 6)
    local = {r["id"]: r for r in batch.run(jobs, workers=0)}
    seen = []
    remote = batch.run(jobs, client=dask_engine.client,
                       progress=lambda d, f, r, t: seen.append((d, f, r, t)))
    assert sorted(r["id"] for r in remote) == sorted(local)
    for r in remote:
        assert r["value"] == local[r["id"]]["value"]
        assert r["stderr"] == local[r["id"]]["stderr"]
    assert seen[0] == (0, 0, 0, 6) and seen[-1][:2] == (6, 0) and seen[-1][3] == 6


def test_worker_threads_are_pinned(dask_engine):
    env = dask_engine.client.run(lambda: {k: os.environ.get(k) for k in batch.THREAD_ENV})
    assert len(env) == 2
    assert all(e == batch.THREAD_ENV for e in env.values())


def test_workers_of_our_cluster_keep_freed_memory_for_reuse(dask_engine):
    # Dask's MALLOC_TRIM_THRESHOLD_=65536 made every array a fresh mmap; our own
    # cluster's workers get glibc's thresholds raised by a plugin (restarted workers too)
    plugins = dask_engine.client.run(lambda dask_worker: sorted(dask_worker.plugins))
    assert all("infocli-tune-allocator" in p and "infocli-pin-threads" in p
               for p in plugins.values())
    if sys.platform.startswith("linux") and os.path.exists("/lib/x86_64-linux-gnu/libc.so.6"):
        assert batch.tune_allocator() is True


def _worker_pids(client):
    return client.run(os.getpid)


def test_a_sigkilled_worker_loses_and_duplicates_nothing(data_dir, dask_engine, tmp_path):
    client = dask_engine.client
    client.wait_for_workers(2, timeout=120)
    jobs = batch.parse_jobs([(i + 1, {"measure": "mi", "x": "t.csv", "x_cols": "a",
                                      "y_cols": "b", "permutations": 60, "seed": i})
                             for i in range(12)], base=str(data_dir))
    out = tmp_path / "k.jsonl"
    killed = []
    for record in batch.run_iter(jobs, client=client, output=str(out)):
        if not killed:  # both workers are busy with the next jobs: kill one of them
            processing = client.processing()
            victim = next(w for w, keys in processing.items() if keys)
            pid = _worker_pids(client)[victim]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    lines = _lines(out)
    assert killed
    assert sorted(r["id"] for r in lines) == sorted(j.id for j in jobs)  # none lost or doubled
    assert not any("error" in r for r in lines)
    reference = {r["id"]: r["value"] for r in batch.run(jobs[:2], workers=0)}
    assert all(r["value"] == reference[r["id"]] for r in lines if r["id"] in reference)


def test_a_job_over_the_memory_limit_is_an_error_record_not_a_hang(data_dir, dask_engine,
                                                                     tmp_path):
    client = dask_engine.client
    client.wait_for_workers(2, timeout=120)
    # 100 million rows: a sparse file on disk, 800 MB as float64 in a 700 MiB worker
    big = np.lib.format.open_memmap(tmp_path / "big.npy", mode="w+", dtype=np.float32,
                                    shape=(100_000_000, 1))
    del big
    jobs = batch.parse_jobs([(1, {"measure": "entropy", "x": str(tmp_path / "big.npy"),
                                  "estimator": "gaussian"}),
                             (2, {"measure": "mi", "x": "t.csv", "x_cols": "a", "y_cols": "b"})],
                            base=str(data_dir))
    start = time.monotonic()
    records = {r["id"]: r for r in batch.run(jobs, client=client)}
    assert time.monotonic() - start < 240
    hog, ok = records[jobs[0].id], records[jobs[1].id]
    assert hog["error"]["code"] == 3
    assert "memory limit of 700.00 MiB" in hog["error"]["message"], hog["error"]["message"]
    assert "error" not in ok and ok["value"] > 0.3


def test_sigterm_keeps_finished_records_and_resume_completes(data_dir, dask_engine, tmp_path):
    client = dask_engine.client
    client.wait_for_workers(2, timeout=120)
    manifest = tmp_path / "jobs.jsonl"
    manifest.write_text("".join(json.dumps({"measure": "mi", "x": str(data_dir / "t.csv"),
                                            "x_cols": "a", "y_cols": "b", "permutations": 80,
                                            "seed": i}) + "\n" for i in range(12)))
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "infocli", "batch", str(manifest), "-o", str(out),
           "--scheduler", dask_engine.address, "--quiet"]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if out.exists() and out.read_bytes().count(b"\n") >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    partial = _lines(out)  # every line a whole record
    assert 2 <= len(partial) < 12
    done = subprocess.run(cmd + ["--resume"], env=_env(), capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr
    lines = _lines(out)
    jobs = batch.read_manifest(str(manifest))
    assert sorted(r["id"] for r in lines) == sorted(j.id for j in jobs)
    assert lines[:len(partial)] == partial


# --------------------------------------------------------------------------- command line

runner = CliRunner()


def _cli(*args):
    return runner.invoke(infocli.cli.app, ["batch", *map(str, args)])


def test_cli_dry_run_lists_the_validated_jobs(data_dir):
    (data_dir / "ok.csv").write_text("measure,x,x_cols,y_cols\nmi,t.csv,a,b\nmi,t.csv,a,c\n")
    result = _cli(data_dir / "ok.csv", "--dry-run")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    jobs = batch.read_manifest(str(data_dir / "ok.csv"))
    assert [r["id"] for r in rows] == [j.id for j in jobs] and [r["line"] for r in rows] == [2, 3]


def test_cli_runs_writes_a_table_and_maps_exit_codes(data_dir, tmp_path):
    (data_dir / "two.csv").write_text("measure,x,x_cols,y_cols,seed\nmi,t.csv,a,b,0\n"
                                      "mi,gone.csv,a,b,0\n")
    out = tmp_path / "res.jsonl"
    result = _cli(data_dir / "two.csv", "-o", out, "--workers", "0", "--table", "csv")
    assert result.exit_code == 4, result.output
    assert "1 job(s) failed" in result.stderr and "gone.csv: no such file" in result.stderr
    records = _lines(out)
    table = pd.read_csv(tmp_path / "res.csv")
    assert list(table["id"]) == [r["id"] for r in records]
    assert table["value"][0] == records[0]["value"] and table["error_code"][1] == 2
    assert table["job.x_cols"][0] == "a" and table["params.k"][0] == 1  # auto's k

    ok = _cli(data_dir / "ok.csv", "--workers", "0", "--quiet")  # stdout: JSON Lines
    assert ok.exit_code == 0, ok.output
    assert len([json.loads(line) for line in ok.stdout.splitlines()]) == 2


@pytest.mark.parametrize("args, message", [
    (["--table", "xls", "-o", "r.jsonl"], "--table 'xls'"),
    (["--table", "csv"], "--table needs --output"),
    (["--format", "csv"], "--format FORMAT (the flat table) is deprecated"),  # old spelling
    (["--resume"], "--resume needs --output"),
    (["--retry-failed", "-o", "r.jsonl"], "--retry-failed needs --resume"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "give one of them"),
    (["--workers", "2", "--memory-limit", "lots"], "--memory-limit 'lots'"),
    (["--scheduler", "nowhere"], "--scheduler 'nowhere'"),
])
def test_cli_bad_options_exit_2(data_dir, args, message):
    result = _cli(data_dir / "ok.csv", *args)
    assert result.exit_code == 2 and message in result.stderr, result.output


def test_cli_bad_manifest_exits_2_with_the_line(data_dir):
    result = _cli(data_dir / "bad.csv", "--workers", "0")
    assert result.exit_code == 2 and "line 3: parameter k=0" in result.stderr


def test_cli_maps_options_to_the_engine(data_dir, monkeypatch):
    seen = {}
    real = batch.open_engine

    def spy(workers=None, scheduler=None, **kw):
        seen.update(workers=workers, scheduler=scheduler, **kw)
        return real(0)

    monkeypatch.setattr(batch, "open_engine", spy)
    result = _cli(data_dir / "ok.csv", "--workers", "3", "--memory-limit", "2GB", "-q")
    assert result.exit_code == 0, result.output
    work = seen.pop("work")  # the small-work rule's estimate of the manifest's cells
    assert work > 0
    assert seen == {"workers": 3, "scheduler": None, "memory_limit": "2GB", "tls": None}
    result = _cli(data_dir / "ok.csv", "--scheduler", "sched.json", "-q")
    assert seen["scheduler"] == "sched.json" and seen["workers"] is None


def test_help_does_not_import_dask_and_a_missing_dask_is_explained(monkeypatch):
    code = "import sys, infocli.cli; print('distributed' in sys.modules, 'dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_env(), check=True)
    assert out.stdout.split() == ["False", "False"]
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ParameterError, match=r"pip install 'infocli\[batch\]'"):
        with batch.open_engine(2):
            pass
