"""infocli.bench and ``infocli bench``: the solved criterion, the run records
(checked against a hand-written KSG on the same samples), streaming, external
commands by bmi's contract, and the command line's mapping and exit codes."""

from __future__ import annotations

import csv
import functools
import json
import math
import shlex
import sys
import textwrap

import numpy as np
import pytest
from scipy.spatial import cKDTree
from scipy.special import digamma
from typer.testing import CliRunner

import infocli.bench as bench
import infocli.cli
from infocli import tasks
from infocli.errors import ParameterError
from infocli.bench import RunRecord, is_solved, log_ratio, summarize

N = 300


# --------------------------------------------------------------------------- test tasks


def _pairs(n, rng, *, d, rho):
    x = rng.standard_normal((n, d))
    return {"x": x, "y": rho * x + math.sqrt(1 - rho * rho) * rng.standard_normal((n, d))}


def _cubed(n, rng, *, rho):
    out = _pairs(n, rng, d=1, rho=rho)
    return {"x": out["x"] ** 3, "y": out["y"]}  # MI is invariant to the monotone map


def _labels(n, rng):
    y = rng.integers(0, 2, n)
    return {"x": y[:, None] * 2.0 + rng.standard_normal((n, 1)), "y": y}


def _gauss_mi(d, rho):
    return -0.5 * d * math.log(1 - rho * rho)


TEST_TASKS = [
    tasks.Task(name="test-2v2-normal", measure="mutual_information", family="test",
               truth=_gauss_mi(2, 0.8), dims={"x": 2, "y": 2},
               sampler=functools.partial(_pairs, d=2, rho=0.8), tags=("gaussian",)),
    tasks.Task(name="test-1v1-cubed", measure="mutual_information", family="test",
               truth=_gauss_mi(1, 0.6), dims={"x": 1, "y": 1},
               sampler=functools.partial(_cubed, rho=0.6), tags=("transformed",)),
    tasks.Task(name="test-3v3-weak", measure="mutual_information", family="test",
               truth=_gauss_mi(3, 0.3), dims={"x": 3, "y": 3},
               sampler=functools.partial(_pairs, d=3, rho=0.3)),
]
LABEL_TASK = tasks.Task(name="test-labels", measure="mutual_information", family="test-labels",
                        truth=0.3, dims={"x": 1, "y": 1}, sampler=_labels, discrete=("y",))


@pytest.fixture
def suite():
    tasks.all_tasks()  # the built-in families load first
    added = [tasks.register(t) for t in [*TEST_TASKS, LABEL_TASK]]
    yield added[:3]
    for t in added:
        tasks._REGISTRY.pop(t.name, None)


def hand_ksg(x, y, k=3):
    """KSG algorithm 1 (Kraskov et al. 2004, eq. 8) with scipy's cKDTree, on columns
    centred and divided by their (population) standard deviation, as infocli does."""
    x = (x - x.mean(0)) / x.std(0)
    y = (y - y.mean(0)) / y.std(0)
    n = len(x)
    joint = np.hstack([x, y])
    dist, _ = cKDTree(joint).query(joint, k=k + 1, p=np.inf)
    eps = np.nextafter(dist[:, k], 0)  # strictly closer than the k-th neighbour
    nx = cKDTree(x).query_ball_point(x, eps, p=np.inf, return_length=True) - 1
    ny = cKDTree(y).query_ball_point(y, eps, p=np.inf, return_length=True) - 1
    return digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(ny + 1))


def record(value, *, truth=1.0, task="t", estimator="e", seed=0, error=None, seconds=0.1):
    return RunRecord(task=task, family="f", measure="mutual_information", estimator=estimator,
                     n=100, seed=seed, truth=truth, value=value, stderr=None, seconds=seconds,
                     error=error, exit_code=None if error is None else 3)


# --------------------------------------------------------------------------- criterion


@pytest.mark.parametrize("mean, truth, solved", [
    (1.0, 1.0, True),
    (1.5, 1.0, True),            # upper boundary is inside
    (1.5000001, 1.0, False),
    (1 / 1.5, 1.0, True),        # lower boundary is inside
    (0.6666, 1.0, False),
    (-0.8, 1.0, False),          # negative MI estimates never solve
    (0.0, 1.0, False),
    (3.0, 2.0, True), (1.4, 2.0, True), (1.3, 2.0, False),
    (-3.0, -2.0, True), (-1.4, -2.0, True), (-1.3, -2.0, False), (1.0, -2.0, False),
    (0.04, 0.0, True), (-0.05, 0.0, True), (0.0501, 0.0, False),  # truth 0: |mean| <= 0.05
    (None, 1.0, False), (math.nan, 1.0, False), (math.inf, 1.0, False),
])
def test_solved_criterion(mean, truth, solved):
    assert is_solved(mean, truth) is solved


def test_log_ratio_edge_cases():
    assert log_ratio(2.0, 1.0) == pytest.approx(math.log(2.0))
    assert log_ratio(-1.0, -2.0) == pytest.approx(math.log(0.5))
    assert log_ratio(-0.1, 1.0) == -math.inf
    assert math.isnan(log_ratio(0.1, 0.0)) and math.isnan(log_ratio(None, 1.0))


def test_summary_uses_the_mean_over_seeds_and_counts_failures():
    recs = [
        # mean 1.35 solves although one seed alone (2.2) does not
        record(0.5, task="a", seed=0), record(2.2, task="a", seed=1),
        # every seed within x1.5 but the mean is not: 1.45, 1.6 -> 1.525
        record(1.45, task="b", seed=0), record(1.6, task="b", seed=1),
        # a failed seed makes the task unsolved, though the other seed is exact
        record(1.0, task="c", seed=0), record(None, task="c", seed=1, error="diverged"),
        # a negative estimate of a positive truth
        record(-0.2, task="d", seed=0), record(-0.1, task="d", seed=1),
    ]
    s = summarize(recs)
    by_task = {t.task: t for t in s.tasks}
    assert by_task["a"].solved and by_task["a"].mean == pytest.approx(1.35)
    assert by_task["a"].sd == pytest.approx(np.std([0.5, 2.2], ddof=1))
    assert not by_task["b"].solved and by_task["b"].mean == pytest.approx(1.525)
    assert not by_task["c"].solved and by_task["c"].failures == 1
    assert by_task["c"].mean == 1.0 and by_task["c"].errors == ("diverged",)
    assert not by_task["d"].solved and by_task["d"].log_ratio == -math.inf
    (e,) = s.estimators
    assert (e.solved, e.tasks, e.runs, e.failures) == (1, 4, 8, 1)
    # |log ratio| per task: a log 1.35, b log 1.525, c 0, d inf -> median of the middle two
    assert e.median_abs_log_ratio == pytest.approx((math.log(1.35) + math.log(1.525)) / 2)
    assert e.seconds_total == pytest.approx(0.8) and e.seconds_median == pytest.approx(0.1)
    assert s.to_dict()["tasks"][3]["log_ratio"] is None  # JSON has no inf


# --------------------------------------------------------------------------- runs


def test_ksg_records_equal_a_hand_written_ksg_on_the_same_samples(suite):
    recs = bench.run(suite, ["ksg", "gaussian"], [N], 2, workers=0)
    assert len(recs) == len(suite) * 2 * 2
    assert all(r.ok for r in recs), [r.error for r in recs]
    for r in recs:
        task = tasks.get(r.task)
        assert (r.truth, r.family, r.measure, r.n) == (task.truth, "test", task.measure, N)
        if r.estimator == "ksg":
            data = task.sample(N, r.seed)
            assert r.value == pytest.approx(hand_ksg(data["x"], data["y"]), abs=1e-10)
            assert r.stderr > 0 and r.seconds > 0
    by = {(r.task, r.estimator, r.seed): r.value for r in recs}
    assert by[("test-2v2-normal", "ksg", 0)] != by[("test-2v2-normal", "ksg", 1)]


def test_bmi_subset_ksg_column_equals_the_hand_written_ksg():
    subset = ["1v1-additive-0.1", "student-identity-2-2-1",
              "half_cube-multinormal-sparse-3-3-2-2.0"]
    recs = bench.run(subset, ["ksg"], [N], 2, workers=0)
    assert [r.task for r in recs] == [name for name in subset for _ in range(2)]
    for r in recs:
        data = tasks.get(r.task).sample(N, r.seed)
        assert r.ok and r.value == pytest.approx(hand_ksg(data["x"], data["y"]), abs=1e-10)


def test_runs_are_deterministic_and_params_reach_the_estimator(suite):
    a = bench.run(suite[:1], ["ksg"], [N], [4], {"ksg": {"k": 5}}, workers=0)
    b = bench.run(suite[:1], ["ksg"], [N], [4], {"ksg": {"k": 5}}, workers=0)
    assert [r.value for r in a] == [r.value for r in b]
    data = suite[0].sample(N, 4)
    assert a[0].value == pytest.approx(hand_ksg(data["x"], data["y"], k=5), abs=1e-10)
    assert a[0].params == {"k": 5}


def test_pool_gives_the_in_process_values(suite):
    # the fixture's tasks are registered here only: workers get them pickled. A task
    # whose sampler is a closure does not pickle; in a worker it is looked up by name,
    # not found, and becomes a failed record rather than a crash
    closure = tasks.Task(name="adhoc-closure", measure="mutual_information", family="adhoc",
                         truth=_gauss_mi(1, 0.5), dims={"x": 1, "y": 1},
                         sampler=lambda n, rng: _pairs(n, rng, d=1, rho=0.5))
    inproc = bench.run([*suite[:2], closure], ["gaussian"], [N], 2, workers=0)
    pooled = bench.run([*suite[:2], closure], ["gaussian"], [N], 2, workers=1)
    assert all(r.ok for r in inproc)
    assert [(r.task, r.seed, r.value) for r in pooled[:4]] == \
        [(r.task, r.seed, r.value) for r in inproc[:4]]
    assert all(not r.ok and "unknown task 'adhoc-closure'" in r.error for r in pooled[4:])


def test_any_executor_runs_the_jobs(suite):
    # the hook for other engines (a Dask client's get_executor() in --scheduler)
    from concurrent.futures import ThreadPoolExecutor

    inproc = bench.run(suite[:2], ["gaussian"], [N], 2, workers=0)
    with ThreadPoolExecutor(2) as ex:
        threaded = bench.run(suite[:2], ["gaussian"], [N], 2, executor=ex)
    assert [(r.task, r.seed, r.value) for r in threaded] == \
        [(r.task, r.seed, r.value) for r in inproc]


def test_labels_and_incompatible_pairs(suite):
    # gaussian and ksg take labels for y; kl estimates no MI and is refused
    recs = bench.run([LABEL_TASK], ["ksg", "gaussian"], [N], 1, workers=0)
    assert all(r.ok for r in recs) and {r.estimator for r in recs} == {"ksg", "gaussian"}
    with pytest.raises(ParameterError, match="estimator 'kl' estimates none"):
        bench.plan(suite, ["kl"], [N], 1)


def test_failed_runs_are_records_and_the_rest_continue(suite):
    # k=400 >= n=300 rows: ksg refuses each run; gaussian still runs
    recs = bench.run(suite[:1], ["ksg", "gaussian"], [N], 2, {"ksg": {"k": 400}}, workers=0)
    ksg = [r for r in recs if r.estimator == "ksg"]
    assert all(not r.ok and r.exit_code == 2 and "k=400" in r.error for r in ksg)
    assert all(r.ok for r in recs if r.estimator == "gaussian")
    s = summarize(recs)
    assert {e.estimator: e.failures for e in s.estimators} == {"ksg": 2, "gaussian": 0}


@pytest.mark.parametrize("kwargs, message", [
    (dict(tasks=["no-such-task"]), "unknown task 'no-such-task'"),
    (dict(estimators=["nope"]), "unknown estimator 'nope'"),
    (dict(ns=[5]), r"n=5 is too small for its 6 columns"),
    (dict(seeds=0), "seeds=0"),
    (dict(params={"ksg": {"k": 0}}), "parameter k=0"),
    (dict(params={"knife": {}}), "'knife', which is not benchmarked"),
    (dict(estimators=[], command=None), "no estimator"),
])
def test_bad_plans_are_refused_before_running(suite, kwargs, message):
    args = dict(tasks=[suite[2]], estimators=["ksg"], ns=[N], seeds=1)
    args.update(kwargs)
    with pytest.raises(ParameterError, match=message):
        bench.plan(**args)


def test_parse_params_prefixed_and_shared():
    p = bench.parse_params(["ksg.k=5", "standardize=false", "gaussian.jackknife_groups=10"],
                           ["ksg", "gaussian", "kl"])
    assert p == {"ksg": {"k": 5, "standardize": False}, "kl": {"standardize": False},
                 "gaussian": {"jackknife_groups": 10}}
    with pytest.raises(ParameterError, match="no benchmarked estimator has a parameter 'zz'"):
        bench.parse_params(["zz=1"], ["ksg"])
    with pytest.raises(ParameterError, match="'knife' is not benchmarked"):
        bench.parse_params(["knife.n_kernels=3"], ["ksg"])
    with pytest.raises(ParameterError, match="parameter k='x'"):
        bench.parse_params(["ksg.k=x"], ["ksg"])


# --------------------------------------------------------------------------- streaming


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_records_stream_to_the_file_as_they_finish(suite, tmp_path, fmt):
    path = tmp_path / f"runs.{fmt}"
    seen = []
    with bench.RecordWriter(str(path), fmt) as writer:
        def sink(rec):
            writer(rec)
            seen.append(rec)
            lines = path.read_text().splitlines()  # already on disk, not buffered
            assert len(lines) == len(seen) + (fmt == "csv")
        recs = bench.run(suite[:2], ["gaussian"], [N], 2, workers=0, sink=sink)
    if fmt == "csv":
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        assert list(rows[0]) == list(bench.CSV_FIELDS)
        got = [(r["task"], r["estimator"], int(r["seed"]), float(r["value"]), float(r["truth"]))
               for r in rows]
    else:
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        got = [(r["task"], r["estimator"], r["seed"], r["value"], r["truth"]) for r in rows]
    assert sorted(got) == sorted((r.task, r.estimator, r.seed, r.value, r.truth) for r in recs)
    assert bench.read_records(str(path)) == recs  # in-process runs finish in plan order


def test_unwritable_output_is_refused(tmp_path):
    from infocli.errors import InputError

    with pytest.raises(InputError, match="--csv .*does not exist"):
        with bench.RecordWriter(str(tmp_path / "missing" / "r.csv"), "csv", option="--csv"):
            pass


# --------------------------------------------------------------------------- commands


PEER = textwrap.dedent("""
    import sys
    import numpy as np
    path, dx, dy, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    if mode == "fail":
        sys.stderr.write("peer: cannot converge\\n")
        sys.exit(4)
    if mode == "silent":
        print("nothing to say")
        sys.exit(0)
    header = open(path).readline().strip().split(",")
    assert header == [f"X{j}" for j in range(dx)] + [f"Y{j}" for j in range(dy)], header
    d = np.loadtxt(path, delimiter=",", skiprows=1)
    c = np.corrcoef(d, rowvar=False)
    print("estimating...")  # chatter before the number is allowed
    print(0.5 * (np.linalg.slogdet(c[:dx, :dx])[1] + np.linalg.slogdet(c[dx:, dx:])[1]
                 - np.linalg.slogdet(c)[1]))
""")


def _peer_command(tmp_path, mode):
    script = tmp_path / "peer.py"
    script.write_text(PEER)
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} {{csv}} {{dx}} {{dy}} {mode}"


def test_external_command_follows_bmis_contract(suite, tmp_path):
    recs = bench.run(suite[:1], [], [N], 2, command=_peer_command(tmp_path, "ok"), workers=0)
    assert [r.estimator for r in recs] == ["cmd:peer.py"] * 2
    for r in recs:
        assert r.ok, r.error
        data = suite[0].sample(N, r.seed)
        c = np.corrcoef(np.hstack([data["x"], data["y"]]), rowvar=False)
        expected = 0.5 * (np.linalg.slogdet(c[:2, :2])[1] + np.linalg.slogdet(c[2:, 2:])[1]
                          - np.linalg.slogdet(c)[1])
        assert r.value == pytest.approx(expected, rel=1e-9)  # the CSV held this very sample
        assert r.seconds > 0


@pytest.mark.parametrize("mode, message", [
    ("fail", "cmd:peer.py exited with status 4: peer: cannot converge"),
    ("silent", "cmd:peer.py printed 'nothing to say', expected one number on the last line "
               "of stdout"),
])
def test_failing_command_is_a_failed_record(suite, tmp_path, mode, message):
    recs = bench.run(suite[:1], ["gaussian"], [N], 1, command=_peer_command(tmp_path, mode),
                     workers=0)
    (cmd,) = [r for r in recs if r.estimator.startswith("cmd:")]
    assert not cmd.ok and cmd.error == message and cmd.exit_code == 3 and cmd.value is None
    assert all(r.ok for r in recs if r.estimator == "gaussian")


def test_command_validation(tmp_path):
    with pytest.raises(ParameterError, match="no {csv} placeholder"):
        bench.Command.parse(f"{sys.executable} peer.py")
    with pytest.raises(ParameterError, match="not found"):
        bench.Command.parse("no-such-program-xyz {csv}")
    assert bench.Command.parse(f"{sys.executable} -u /a/b/peer.py {{csv}}").name == "cmd:peer.py"
    assert bench.Command.parse("ls {csv}").name == "cmd:ls"


# --------------------------------------------------------------------------- heat map


def test_heatmap_is_written(suite, tmp_path):
    pytest.importorskip("matplotlib")
    recs = [record(1.2, task="a", estimator="x"), record(0.3, task="b", estimator="x"),
            record(None, task="a", estimator="y", error="boom"),
            record(-0.1, task="b", estimator="y")]
    path = tmp_path / "map.png"
    bench.plot_heatmap(recs, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


# --------------------------------------------------------------------------- command line


@pytest.fixture
def runner():
    return CliRunner(env={"COLUMNS": "160"})


def invoke(runner, *args):
    return runner.invoke(infocli.cli.app, ["bench", *map(str, args)])


@pytest.fixture
def fake_run(monkeypatch):
    calls = []

    def fake(tasks_, estimators, ns, seeds, params, command, **kw):
        calls.append(dict(tasks=[t.name for t in tasks_], estimators=estimators, ns=ns,
                          seeds=seeds, params=params, command=command, **kw))
        return [record(t.truth * 1.1, truth=t.truth, task=t.name, estimator=e)
                for t in tasks_ for e in estimators]

    monkeypatch.setattr(bench, "run", fake)
    return calls


def test_cli_maps_options_to_the_library(runner, suite, fake_run):
    res = invoke(runner, "-e", "ksg,gaussian", "-n", "400,800", "--seeds", "2", "--tasks",
                 "test-*", "--family", "test", "-p", "ksg.k=5", "-p", "standardize=false",
                 "--workers", "0", "--device", "cpu")
    assert res.exit_code == 0, res.output
    (call,) = fake_run
    assert call["tasks"] == [t.name for t in TEST_TASKS]
    assert call["estimators"] == ["ksg", "gaussian"] and call["ns"] == [400, 800]
    assert call["seeds"] == 2 and call["workers"] == 0 and call["device"] == "cpu"
    assert call["params"] == {"ksg": {"k": 5, "standardize": False}, "gaussian": {}}
    assert call["command"] is None and call["sink"] is None
    assert "infocli bench: estimators" in res.stdout and "3/3" in res.stdout


def test_cli_scheduler_runs_on_the_batch_engine(runner, suite, fake_run, monkeypatch):
    import contextlib
    from concurrent.futures import ThreadPoolExecutor

    import infocli.batch

    opened = []

    class Client:
        def get_executor(self):
            return ThreadPoolExecutor(1)

    @contextlib.contextmanager
    def engine(workers=None, scheduler=None, **kw):
        opened.append(scheduler)
        yield infocli.batch.Engine(client=None if scheduler == "sync" else Client())

    monkeypatch.setattr(infocli.batch, "open_engine", engine)
    res = invoke(runner, "--family", "test", "-e", "gaussian", "--scheduler", "tcp://h:8786")
    assert res.exit_code == 0, res.output
    assert opened == ["tcp://h:8786"] and isinstance(fake_run[0]["executor"], ThreadPoolExecutor)
    res = invoke(runner, "--family", "test", "-e", "gaussian", "--scheduler", "sync",
                 "--workers", 2)
    assert res.exit_code == 0, res.output
    assert fake_run[1]["executor"] is None and fake_run[1]["workers"] == 0


def test_cli_defaults(runner, suite, fake_run):
    res = invoke(runner, "--family", "test", "--measure", "mi", "--quiet")
    assert res.exit_code == 0, res.output
    (call,) = fake_run
    assert call["estimators"] == ["ksg", "gaussian"] and call["ns"] == [5000]
    assert call["seeds"] == 3 and call["workers"] is None and call["progress"] is None


def test_cli_real_run_writes_csv_json_and_plot(runner, suite, tmp_path):
    res = invoke(runner, "-e", "ksg,gaussian", "-n", N, "--seeds", 2, "--family", "test",
                 "--workers", 0, "--csv", tmp_path / "r.csv", "--json", tmp_path / "r.jsonl",
                 "--plot", tmp_path / "r.png")
    assert res.exit_code == 0, res.output
    with open(tmp_path / "r.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    lines = (tmp_path / "r.jsonl").read_text().splitlines()
    assert len(rows) == len(lines) == 3 * 2 * 2
    row = next(r for r in rows if r["task"] == "test-2v2-normal" and r["estimator"] == "ksg"
               and r["seed"] == "1")
    data = tasks.get("test-2v2-normal").sample(N, 1)
    assert float(row["value"]) == pytest.approx(hand_ksg(data["x"], data["y"]), abs=1e-10)
    assert (tmp_path / "r.png").stat().st_size > 5000
    assert "test-1v1-cubed" in res.stdout


def test_cli_csv_to_stdout_keeps_stdout_clean(runner, suite):
    res = invoke(runner, "-e", "gaussian", "-n", N, "--seeds", 1, "--family", "test",
                 "--workers", 0, "--csv", "-")
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(res.stdout.splitlines()))
    assert len(rows) == 3 and {r["estimator"] for r in rows} == {"gaussian"}


def test_cli_list(runner, suite):
    res = invoke(runner, "--list", "--family", "test")
    assert res.exit_code == 0, res.output
    for t in TEST_TASKS:
        assert t.name in res.stdout
    assert "test-labels" not in res.stdout and "2x2" in res.stdout
    assert f"{TEST_TASKS[0].truth:.4f}" in res.stdout


@pytest.mark.parametrize("args, message", [
    (["--tasks", "nope-*"], "no task matches pattern='nope-*'"),
    (["--family", "nope"], "unknown task family 'nope'"),
    (["-e", "ksg,nope"], "unknown estimator 'nope'"),
    (["--measure", "joint"], "measure 'joint': expected one of mi, entropy, cmi, ce"),
    (["-n", "4"], "n=4 is too small"),
    (["-n", "ten"], "-n 'ten': expected comma-separated integers"),
    (["-p", "nope=1"], "no benchmarked estimator has a parameter 'nope'"),
    (["-o", "/no/such/dir/r.csv"], "--output /no/such/dir/r.csv: directory /no/such/dir "
                                    "does not exist"),
    (["--plot", "/no/such/dir/r.png"], "--plot /no/such/dir/r.png: directory"),
    (["--command", "no-such-program-xyz {csv}"], "program 'no-such-program-xyz' not found"),
])
def test_cli_bad_input_is_one_line_exit_2(runner, suite, args, message):
    base = ["--family", "test", "-e", "gaussian", "-n", N, "--seeds", 1, "--workers", 0]
    res = invoke(runner, *base, *args)
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith("infocli: error: ") and message in res.stderr
    assert res.stderr.count("\n") == 1 and res.stdout == ""


def test_cli_all_runs_failing_exits_3(runner, suite, tmp_path):
    res = invoke(runner, "--family", "test", "-n", N, "--seeds", 1, "--workers", 0,
                 "--command", _peer_command(tmp_path, "fail"), "--csv", tmp_path / "r.csv")
    assert res.exit_code == 3, res.output
    assert "3 of 3 runs failed" in res.stderr and "every run failed" in res.stderr
    assert len((tmp_path / "r.csv").read_text().splitlines()) == 4  # header + 3 failed runs


# --------------------------------------------------------------------------- --dims


def test_dims_builds_tasks_at_the_users_sizes():
    assert bench.parse_dims("10x10, 4X2,3") == [(10, 10), (4, 2), (3, 3)]
    with pytest.raises(ParameterError, match="expected DXxDY"):
        bench.parse_dims("10by10")
    chosen = bench.dims_tasks([(4, 3), (2, 2)], "multinormal-dense-*")
    assert [t.name for t in chosen] == ["multinormal-dense-4-3-0.5", "multinormal-dense-2-2-0.5"]
    big = chosen[0]
    cov = np.full((7, 7), 0.5) + 0.5 * np.eye(7)
    logdet = lambda m: np.linalg.slogdet(m)[1]  # noqa: E731
    assert big.truth == pytest.approx(0.5 * (logdet(cov[:4, :4]) + logdet(cov[4:, 4:])
                                             - logdet(cov)), rel=1e-12)
    data = big.sample(50, 0)
    assert data["x"].shape == (50, 4) and data["y"].shape == (50, 3)
    assert {t.dims["x"] for t in bench.dims_tasks([(6, 6)])} == {6}
    with pytest.raises(ParameterError, match="no task matches pattern='nope'"):
        bench.dims_tasks([(3, 3)], "nope")


def test_cli_dims_maps_to_tasks_at_those_sizes(runner, fake_run):
    res = invoke(runner, "--tasks", "multinormal-*", "--dims", "8x8,3x5", "-e", "gaussian",
                 "-n", 100)
    assert res.exit_code == 0, res.output
    assert fake_run[0]["tasks"] == ["multinormal-dense-8-8-0.5", "multinormal-sparse-8-8-2-2.0",
                                    "multinormal-dense-3-5-0.5", "multinormal-sparse-3-5-2-2.0"]
    res = invoke(runner, "--dims", "8", "--family", "bmi")
    assert res.exit_code == 2 and "drop --family" in res.stderr


# --------------------------------------------------------------------------- check, transform


def test_check_scores_intervals_and_transforms_run_side_by_side(suite):
    plain = bench.run(suite[:2], ["ksg", "ksg+rank"], [N], 2, workers=0)
    checked = bench.run(suite[:2], ["ksg", "ksg+rank"], [N], 2, workers=0, check="fast")
    assert [r.estimator for r in plain] == ["ksg", "ksg", "ksg+rank", "ksg+rank"] * 2
    # the default scores the value only; a check changes no value, it adds the verdict
    assert all(r.interval is None and r.reliable is None for r in plain)
    assert [r.value for r in checked] == [r.value for r in plain]
    assert all(r.interval is not None and isinstance(r.reliable, bool) for r in checked)
    # ranks are invariant to the cube: ksg+rank on x**3 equals ksg+rank on x exactly
    cubed = [r for r in plain if r.task == "test-1v1-cubed" and r.estimator == "ksg+rank"]
    for r in cubed:
        data = suite[1].sample(N, r.seed)
        same = bench.run([tasks.Task(name="t-uncubed", measure="mutual_information",
                                     family="t", truth=r.truth, dims={"x": 1, "y": 1},
                                     sampler=lambda n, rng, d=data: {"x": np.cbrt(d["x"]),
                                                                     "y": d["y"]})],
                         ["ksg"], [N], [r.seed], workers=0, transform="rank")
        assert same[0].estimator == "ksg+rank" and same[0].value == pytest.approx(r.value,
                                                                                  abs=1e-12)
    summary = summarize(checked)
    for e in summary.estimators:
        expected_rel = [r for r in checked if r.estimator == e.estimator and r.reliable]
        covered = [r for r in expected_rel if bench.covers(r.interval, r.truth)]
        assert e.checked == 4 and e.reliable == len(expected_rel) and e.covered == len(covered)
        assert e.confidently_wrong == e.reliable - e.covered
    assert summarize(plain).estimators[0].checked == 0
    assert summarize(plain).estimators[0].coverage is None


def test_covers_open_sides():
    assert bench.covers((0.1, None), 5.0) and not bench.covers((0.1, None), 0.0)
    assert bench.covers((None, 1.0), -3.0) and not bench.covers((0.2, 0.4), 0.5)
    assert bench.covers(None, 1.0) is None


@pytest.mark.parametrize("name, message", [
    ("ksg+", r"expected NAME or NAME\+TRANSFORM"),
    ("ksg+log", "transform 'log'"),
])
def test_bad_transform_suffix_is_refused(suite, name, message):
    with pytest.raises(ParameterError, match=message):
        bench.plan(suite[:1], [name], [N], 1)


def test_cli_check_and_transform_reach_the_library(runner, suite, fake_run):
    res = invoke(runner, "--family", "test", "-e", "ksg,gaussian+copula", "--check", "fast",
                 "--transform", "rank", "-p", "ksg.k=4", "--quiet")
    assert res.exit_code == 0, res.output
    (call,) = fake_run
    assert call["check"] == "fast" and call["transform"] == "rank"
    assert call["estimators"] == ["ksg", "gaussian+copula"]
    assert call["params"] == {"ksg": {"k": 4}, "gaussian": {}}
    res = invoke(runner, "--family", "test", "--check", "sometimes")
    assert res.exit_code == 2 and "check 'sometimes'" in res.stderr
