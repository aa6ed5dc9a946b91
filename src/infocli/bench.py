"""The known-truth benchmark: tasks x estimators x sample sizes x seeds -> run
records -> summary and heat map.

One *run* samples a task (:meth:`infocli.tasks.Task.sample`) at ``n`` rows
with ``seed``, estimates the task's measure with one estimator through
infocli's public functions (:mod:`infocli.api`), and becomes one
:class:`RunRecord`: the estimate, its truth, its time, or the error it raised.
A failed run is a record with ``error`` set; it never stops the benchmark.

Estimators are registry names (``ksg``, ``gaussian``, ...) or external programs
following bmi's external-estimator contract (:class:`Command`): the sample is
written to a CSV file with a header row ``X0..X{dx-1},Y0..Y{dy-1}`` and the
program, given the file name, prints one number, the estimate in nats.

:func:`summarize` applies bmi's criterion (Czyz et al., NeurIPS 2023): a task
is *solved* by an estimator when the mean estimate over seeds lies within a
factor 1.5 of the truth (:func:`is_solved`).

Runs execute in this process (``workers=0``), in a local pool of single-thread
worker processes (``workers=N``), or on any :class:`concurrent.futures.Executor`
given as ``executor`` (e.g. ``dask.distributed.Client(...).get_executor()``):
a run is the picklable :class:`Job` handed to the top-level :func:`run_job`.

Nothing here prints; the command line (``infocli bench``) renders.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import csv
import json
import math
import os
import pickle
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from . import registry
from . import tasks as task_registry
from .errors import EstimationError, InfocliError, InputError, ParameterError

__all__ = ["RunRecord", "Job", "Command", "TaskSummary", "EstimatorSummary", "Summary",
           "MEASURES", "SOLVED_FACTOR", "ZERO_TOLERANCE", "resolve_measure", "parse_params",
           "plan", "split_estimator", "run", "iter_runs", "run_job", "parse_dims", "dims_tasks", "is_solved", "log_ratio", "covers", "summarize",
           "RecordWriter", "read_records", "plot_heatmap"]

#: Short names of the measures (``--measure``) and the ``Task.measure`` they select.
MEASURES = {
    "mi": "mutual_information",
    "entropy": "entropy",
    "cmi": "conditional_mutual_information",
    "ce": "conditional_entropy",
}

#: bmi's criterion: solved when truth / 1.5 <= mean estimate <= 1.5 * truth.
SOLVED_FACTOR = 1.5
#: For a task whose truth is 0 (independence) no ratio exists: solved when
#: |mean estimate| <= this many nats instead.
ZERO_TOLERANCE = 0.05

#: Environment of the pool's worker processes: one thread per worker, set before
#: numpy, numba and torch are imported there (the workers are spawned, not forked).
THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "INFOCLI_NUM_THREADS": "1",  # kd-tree queries and the check's concurrent parts
}

ProgressFn = Callable[[str, float, float], None]


# ----------------------------------------------------------------------------- records


@dataclass(frozen=True)
class RunRecord:
    """One (task, estimator, n, seed) run.

    ``value``, ``stderr`` (and ``interval``, ``reliable`` where the estimator's
    :class:`~infocli.Estimate` has them) are in nats; ``seconds`` is the wall
    time of the estimate (for an external program, of the program alone) and
    ``cpu_seconds`` the CPU time it used (all threads of the process, plus
    child processes), which, unlike wall time, does not grow when other work
    shares the machine.
    A failed run has ``value`` None, ``error`` its one-line message and
    ``exit_code`` the code infocli would exit with for it (2 bad input or
    parameter, 3 estimation failure or failing program, 1 unexpected error).
    """

    task: str
    family: str
    measure: str
    estimator: str
    n: int
    seed: int
    truth: float
    value: float | None
    stderr: float | None
    seconds: float
    error: str | None = None
    exit_code: int | None = None
    interval: tuple[float | None, float | None] | None = None
    reliable: bool | None = None
    warnings: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    cpu_seconds: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["interval"] = list(self.interval) if self.interval is not None else None
        d["warnings"] = list(self.warnings)
        return d

    def to_row(self) -> dict[str, Any]:
        """A flat row for CSV (:data:`CSV_FIELDS`)."""
        lo, hi = self.interval if self.interval is not None else (None, None)
        return {
            "task": self.task, "family": self.family, "measure": self.measure,
            "estimator": self.estimator, "n": self.n, "seed": self.seed, "truth": self.truth,
            "value": self.value, "stderr": self.stderr, "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds, "error": self.error, "exit_code": self.exit_code, "interval_low": lo,
            "interval_high": hi, "reliable": self.reliable,
            "warnings": " | ".join(self.warnings),
            "params": json.dumps(self.params, sort_keys=True) if self.params else "",
        }


CSV_FIELDS = ("task", "family", "measure", "estimator", "n", "seed", "truth", "value", "stderr",
              "seconds", "cpu_seconds", "error", "exit_code", "interval_low", "interval_high", "reliable",
              "warnings", "params")


class RecordWriter:
    """Appends run records to a CSV or JSON Lines file as they finish.

    Every record is written and flushed at once, so an interrupted benchmark
    keeps every run it finished. Use as a context manager; call it with a
    record (it is a ``sink`` for :func:`run`). ``path="-"`` writes to
    ``stream`` (stdout in the CLI).
    """

    def __init__(self, path: str, fmt: str, *, option: str = "output", stream=None) -> None:
        if fmt not in ("csv", "jsonl"):
            raise ParameterError(f"record format {fmt!r}: expected csv or jsonl")
        self.path, self.fmt, self.option = path, fmt, option
        self._stream = stream
        self._file = None
        self._csv = None

    def __enter__(self) -> RecordWriter:
        if self.path == "-":
            if self._stream is None:
                import sys

                self._stream = sys.stdout
            self._file, self._own = self._stream, False
        else:
            from .io import check_writable

            check_writable(self.path, self.option)
            try:
                self._file = open(self.path, "w", newline="" if self.fmt == "csv" else None)
            except OSError as exc:
                raise InputError(f"{self.option} {self.path}: cannot write "
                                 f"({exc.strerror or exc})") from None
            self._own = True
        if self.fmt == "csv":
            self._csv = csv.DictWriter(self._file, fieldnames=CSV_FIELDS)
            self._csv.writeheader()
            self._file.flush()
        return self

    def __call__(self, record: RunRecord) -> None:
        if self.fmt == "csv":
            self._csv.writerow(record.to_row())
        else:
            self._file.write(json.dumps(record.to_dict(), default=_json_default) + "\n")
        self._file.flush()

    def __exit__(self, *exc) -> None:
        if self._own and self._file is not None:
            self._file.close()


def read_records(path: str) -> list[RunRecord]:
    """Run records back from a file :class:`RecordWriter` wrote (``.csv``, or
    JSON Lines for any other name), e.g. to summarise or plot a finished run."""
    try:
        with open(path, newline="") as f:
            if path.endswith(".csv"):
                rows = [_from_row(r) for r in csv.DictReader(f)]
            else:
                rows = [_from_dict(json.loads(line)) for line in f if line.strip()]
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a bench record file ({_one_line(exc)})") from None
    return rows


def _from_dict(d: dict) -> RunRecord:
    d = dict(d)
    d["interval"] = tuple(d["interval"]) if d.get("interval") is not None else None
    d["warnings"] = tuple(d.get("warnings") or ())
    return RunRecord(**d)


def _from_row(r: dict) -> RunRecord:
    def num(key, kind=float):
        return kind(r[key]) if r.get(key) not in (None, "") else None

    lo, hi = num("interval_low"), num("interval_high")
    return RunRecord(
        task=r["task"], family=r["family"], measure=r["measure"], estimator=r["estimator"],
        n=int(r["n"]), seed=int(r["seed"]), truth=float(r["truth"]), value=num("value"),
        stderr=num("stderr"), seconds=float(r["seconds"]), cpu_seconds=num("cpu_seconds"),
        error=r.get("error") or None,
        exit_code=num("exit_code", int),
        interval=(lo, hi) if lo is not None or hi is not None else None,
        reliable=None if r.get("reliable") in (None, "") else r["reliable"] == "True",
        warnings=tuple(w for w in (r.get("warnings") or "").split(" | ") if w),
        params=json.loads(r["params"]) if r.get("params") else {})


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


# ----------------------------------------------------------------------------- commands


_PLACEHOLDER = re.compile(r"\{(csv|dx|dy|dz|n|seed)\}")
_INTERPRETERS = {"python", "python3", "pypy", "pypy3", "Rscript", "julia", "node", "sh", "bash",
                 "perl", "ruby", "java", "uv", "conda"}


@dataclass(frozen=True)
class Command:
    """An external estimator: ``PROG ARGS...`` with placeholders.

    ``{csv}`` (required) is replaced by the path of the sample file, ``{dx}``,
    ``{dy}``, ``{dz}`` by the number of columns of each variable, ``{n}`` and
    ``{seed}`` by the run's sample size and seed. The program is run without a
    shell; the last non-empty line of its standard output must be one number
    (the estimate, in nats). Its name in the records is ``cmd:PROG`` (for an
    interpreter such as ``python script.py``, ``cmd:script.py``).
    """

    text: str
    argv: tuple[str, ...]
    name: str

    @classmethod
    def parse(cls, text: str) -> Command:
        try:
            argv = tuple(shlex.split(text))
        except ValueError as exc:
            raise ParameterError(f"--command {text!r}: {exc}") from None
        if not argv:
            raise ParameterError("--command '': expected a program and its arguments")
        if not any("{csv}" in a for a in argv):
            raise ParameterError(f"--command {text!r}: no {{csv}} placeholder; the program "
                                 "needs the sample file, e.g. 'prog {csv} {dx} {dy}'")
        if shutil.which(argv[0]) is None:
            raise ParameterError(f"--command {text!r}: program {argv[0]!r} not found "
                                 "(not on PATH, or not executable)")
        label = argv[0]
        if os.path.basename(label) in _INTERPRETERS or \
                re.fullmatch(r"python3(\.\d+)?", os.path.basename(label)):
            rest = [a for a in argv[1:] if not a.startswith("-") and "{" not in a]
            if rest:
                label = rest[0]
        return cls(text=text, argv=argv, name=f"cmd:{os.path.basename(label)}")


#: Seconds an external ``--command`` may run for one estimate (``--timeout``).
COMMAND_TIMEOUT = 600.0


def _run_command(argv: Sequence[str], name: str, data: dict[str, np.ndarray], n: int,
                 seed: int, timeout: float = COMMAND_TIMEOUT) -> tuple[float, float]:
    """Write the sample, run the program, parse its number: (value, seconds). A program
    still running after ``timeout`` seconds is killed with its whole process group
    and the run fails (EstimationError)."""
    columns, header = [], []
    for var in ("x", "y", "z"):
        if var not in data:
            continue
        a = np.asarray(data[var])
        a = a.reshape(len(a), -1)
        columns.append(a.astype(np.float64) if a.dtype.kind not in "iub" else a)
        header += [f"{var.upper()}{j}" for j in range(a.shape[1])]
    dims = {f"d{v}": str(np.asarray(data[v]).reshape(n, -1).shape[1]) for v in data}
    with tempfile.TemporaryDirectory(prefix="infocli-bench-") as tmp:
        path = os.path.join(tmp, "sample.csv")
        with open(path, "w") as f:
            f.write(",".join(header) + "\n")
            np.savetxt(f, np.hstack([c.astype(np.float64) for c in columns]), delimiter=",",
                       fmt="%.17g")
        values = {"csv": path, "n": str(n), "seed": str(seed), **dims}
        args = [_PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), a) for a in argv]
        start = time.perf_counter()
        try:
            proc = _run_with_timeout(args, timeout)
        except OSError as exc:
            raise _timed(EstimationError(f"{name}: cannot run {argv[0]!r}: "
                                         f"{exc.strerror or exc}"), start) from None
        except subprocess.TimeoutExpired:
            raise _timed(EstimationError(f"{name}: still running after {timeout:g} s; killed "
                                         "(raise the limit with --timeout)"),
                         start) from None
        seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = _last_line(proc.stderr) or _last_line(proc.stdout)
        raise _timed(EstimationError(f"{name} exited with status {proc.returncode}"
                                     + (f": {tail}" if tail else "")), start, seconds)
    line = _last_line(proc.stdout)
    if not line:
        raise _timed(EstimationError(f"{name} printed no number on stdout"), start, seconds)
    try:
        value = float(line)
    except ValueError:
        raise _timed(EstimationError(f"{name} printed {line[:80]!r}, expected one number on "
                                     "the last line of stdout"), start, seconds) from None
    if not math.isfinite(value):
        raise _timed(EstimationError(f"{name} printed {line!r}, expected a finite number"),
                     start, seconds)
    return value, seconds


def _run_with_timeout(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    """``subprocess.run`` in a new session, so that on timeout the program and every
    process it started are killed, not only the first."""
    import signal

    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
        except BaseException:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
            raise
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def _last_line(text: str | None) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def _timed(exc: Exception, start: float, seconds: float | None = None) -> Exception:
    exc.seconds = time.perf_counter() - start if seconds is None else seconds  # type: ignore
    return exc


# ----------------------------------------------------------------------------- jobs


@dataclass(frozen=True)
class Job:
    """One run to execute: everything :func:`run_job` needs, picklable.

    ``task`` is the task's name; ``task_object`` the :class:`~infocli.tasks.Task`
    itself (sent to worker processes when it pickles; otherwise a worker looks
    the task up by name in the registry).
    ``command`` is set for an external program (``estimator`` is then its
    ``cmd:`` name).
    """

    task: str
    estimator: str
    n: int
    seed: int
    params: dict[str, Any] = field(default_factory=dict)
    command: tuple[str, ...] | None = None
    device: str = "cpu"
    task_object: Any = field(default=None, repr=False, compare=False)
    transform: str = "none"
    check: str | None = "off"
    timeout: float | None = None  # seconds an external command may run

    @property
    def label(self) -> str:
        """The name of the run's estimator in records: ``ksg``, or ``ksg+rank``
        when a transform is applied first."""
        return self.estimator if self.transform == "none" else f"{self.estimator}+{self.transform}"


_CALLS = {
    "entropy": lambda api, d, disc, kw: api.entropy(d["x"], **kw),
    "conditional_entropy": lambda api, d, disc, kw: api.entropy(
        d["x"], given=d["z"], discrete_given="z" in disc, **kw),
    "mutual_information": lambda api, d, disc, kw: api.mutual_information(
        d["x"], d["y"], discrete_y="y" in disc, **kw),
    "conditional_mutual_information": lambda api, d, disc, kw: api.conditional_mutual_information(
        d["x"], d["y"], d["z"], discrete_given="z" in disc, **kw),
}


def run_job(job: Job) -> RunRecord:
    """Execute one run and return its record; errors become failed records."""
    task = job.task_object
    if task is None:
        try:
            task = task_registry.get(job.task)
        except InfocliError as exc:
            return RunRecord(task=job.task, family="?", measure="?", estimator=job.label,
                             n=job.n, seed=job.seed, truth=math.nan, value=None, stderr=None,
                             seconds=0.0, error=_one_line(exc), exit_code=exc.exit_code,
                             params=dict(job.params))
    base = dict(task=task.name, family=task.family, measure=task.measure,
                estimator=job.label, n=job.n, seed=job.seed, truth=float(task.truth),
                params=dict(job.params))
    from . import api

    start, cpu = time.perf_counter(), None
    try:
        data = task.sample(job.n, job.seed)
        start, cpu = time.perf_counter(), _cpu_now()
        if job.command is not None:
            value, seconds = _run_command(job.command, job.estimator, data, job.n, job.seed,
                                          timeout=job.timeout or COMMAND_TIMEOUT)
            base["cpu_seconds"] = _cpu_now() - cpu
            return RunRecord(**base, value=value, stderr=None, seconds=seconds)
        est = _CALLS[task.measure](api, data, set(task.discrete),
                                   dict(estimator=job.estimator, seed=job.seed,
                                        device=job.device, params=job.params,
                                        check=job.check, transform=job.transform))
        seconds = time.perf_counter() - start
        base["cpu_seconds"] = _cpu_now() - cpu
        interval = getattr(est, "interval", None)
        if interval is not None:
            # one-sided intervals carry None on the open side
            interval = tuple(None if b is None else float(b) for b in interval)
        reliable = getattr(est, "reliable", None)
        return RunRecord(**base, value=float(est.value),
                         stderr=None if est.stderr is None else float(est.stderr),
                         seconds=seconds, interval=interval,
                         reliable=None if reliable is None else bool(reliable),
                         warnings=tuple(est.warnings))
    except Exception as exc:  # a bug in an estimator must not stop the benchmark either
        if cpu is not None:
            base["cpu_seconds"] = _cpu_now() - cpu
        return _failed(base, exc, start)


def _cpu_now() -> float:
    """CPU seconds of this process (every thread) and of its finished children."""
    import resource

    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + child.ru_utime + child.ru_stime


def _failed(base: dict, exc: Exception, start: float) -> RunRecord:
    seconds = getattr(exc, "seconds", None)
    if seconds is None:
        seconds = time.perf_counter() - start
    if isinstance(exc, InfocliError):
        code, message = exc.exit_code, _one_line(exc)
    else:
        code, message = 1, f"{type(exc).__name__}: {_one_line(exc)}"
    return RunRecord(**base, value=None, stderr=None, seconds=float(seconds), error=message,
                     exit_code=code)


def _one_line(exc: BaseException) -> str:
    return " ".join(line.strip() for line in str(exc).splitlines() if line.strip())


# ----------------------------------------------------------------------------- planning


def resolve_measure(measure: str | None) -> str | None:
    """``mi``/``entropy``/``cmi``/``ce`` (or a full measure name) -> ``Task.measure``."""
    if measure is None:
        return None
    if measure in MEASURES:
        return MEASURES[measure]
    if measure in MEASURES.values():
        return measure
    raise ParameterError(f"measure {measure!r}: expected one of {', '.join(MEASURES)}")


def parse_params(items: Iterable[str], estimators: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``-p`` strings -> per-estimator parameter dicts.

    ``estimator.key=value`` sets ``key`` of that estimator; a bare
    ``key=value`` sets it for every selected estimator that has the parameter
    (an error when none has it).
    """
    bases = dict.fromkeys(split_estimator(name)[0] for name in estimators)
    specs = {name: registry.get(name) for name in bases}
    out: dict[str, dict[str, Any]] = {name: {} for name in specs}
    for item in items:
        lhs, sep, text = item.partition("=")
        lhs = lhs.strip()
        if not sep or not lhs:
            raise ParameterError(f"-p {item!r}: expected key=value or estimator.key=value")
        name, dot, key = lhs.rpartition(".")
        key = key.replace("-", "_")
        if dot:
            if name not in specs:
                raise ParameterError(f"-p {item!r}: estimator {name!r} is not benchmarked "
                                     f"(-e {','.join(specs) or '-'})")
            out[name][key] = specs[name].param(key).parse(text.strip())
            continue
        takers = [s for s in specs.values() if key in {p.name for p in s.params}]
        if not takers:
            raise ParameterError(f"-p {item!r}: no benchmarked estimator has a parameter "
                                 f"{key!r} ({', '.join(specs) or 'none selected'})")
        for s in takers:
            out[s.name][key] = s.param(key).parse(text.strip())
    return out


def _check_n(task, n: int) -> None:
    check = getattr(task, "check_n", None)
    if check is not None:
        check(n)
        return
    # before Task.check_n existed: the joint sample covariance must be full rank
    need = int(sum(task.dims.values())) + 2
    if n < need:
        raise ParameterError(f"task {task.name}: n={n} is too small for its "
                             f"{need - 2} columns; expected n >= {need}")


def _seed_list(seeds: int | Sequence[int]) -> list[int]:
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        if seeds < 1:
            raise ParameterError(f"seeds={seeds}: expected at least 1")
        return list(range(int(seeds)))
    out = [int(s) for s in seeds]
    if not out or any(s < 0 for s in out):
        raise ParameterError(f"seeds {seeds!r}: expected non-negative integers")
    return out


def _accepts(spec, task) -> bool:
    if task.measure not in spec.implementations:
        return False
    return not task.discrete or task.measure in spec.discrete


def _shippable(jobs: Sequence[Job]) -> list[Job]:
    """Jobs for another process: a task that does not pickle (a closure as its
    sampler) is left for the worker to look up by name in the registry."""
    ok: dict[str, bool] = {}
    out = []
    for job in jobs:
        if job.task not in ok:
            try:
                pickle.dumps(job.task_object)
                ok[job.task] = True
            except Exception:
                ok[job.task] = False
        out.append(job if ok[job.task] else replace(job, task_object=None))
    return out


def split_estimator(name: str, transform: str = "none") -> tuple[str, str]:
    """``"ksg+rank"`` -> ``("ksg", "rank")``; a name without ``+`` takes ``transform``."""
    from . import transforms

    base, plus, suffix = name.strip().partition("+")
    tf = suffix.strip() if plus else transform
    if plus and not tf:
        raise ParameterError(f"estimator {name!r}: expected NAME or NAME+TRANSFORM "
                             f"(e.g. ksg+rank)")
    try:
        transforms.check(tf)
    except ParameterError as exc:
        raise ParameterError(f"estimator {name!r}: {exc}") from None
    return base.strip(), tf


def plan(tasks: Sequence, estimators: Sequence[str] = (), ns: Sequence[int] = (5000,),
         seeds: int | Sequence[int] = 3, params: dict[str, dict[str, Any]] | None = None,
         command: str | Sequence[str] | None = None, device: str = "cpu", *,
         check: str | None = "off", transform: str = "none",
         timeout: float = COMMAND_TIMEOUT) -> list[Job]:
    """Validate everything and list the runs, before any is executed.

    ``estimators`` are registry names, optionally with a transform applied
    first (``ksg+rank``, ``gaussian+copula``; a bare name takes ``transform``),
    so that an estimator can be compared with and without it in one run.
    ``check`` is the reliability check level of every run (``"off"`` by
    default: the benchmark scores the value; ``"fast"`` or ``"full"`` also
    give each run its interval and verdict, scored by :func:`summarize`).

    Raises :class:`ParameterError` for an unknown task or estimator, a sample
    size below a task's minimum, bad parameters, or an estimator that
    estimates none of the selected tasks' measures. An estimator is paired
    only with tasks whose measure (and label inputs) it supports.
    """
    from . import diagnostics

    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ParameterError(f"timeout {timeout!r}: expected a number of seconds > 0")
    task_objs = [task_registry.get(t) if isinstance(t, str) else t for t in tasks]
    if not task_objs:
        raise ParameterError("no tasks to benchmark")
    check = diagnostics.resolve_level(check)
    variants = list(dict.fromkeys(split_estimator(e, transform) for e in estimators))
    names = list(dict.fromkeys(base for base, _ in variants))
    specs = [registry.get(e) for e in names]
    commands = [Command.parse(c) for c in ([command] if isinstance(command, str)
                                             else list(command or ()))]
    seen: dict[str, int] = {}
    for i, c in enumerate(commands):  # two programs of the same name stay apart
        seen[c.name] = seen.get(c.name, 0) + 1
        if seen[c.name] > 1:
            commands[i] = Command(c.text, c.argv, f"{c.name}#{seen[c.name]}")
    if not specs and not commands:
        raise ParameterError("no estimator to benchmark: give -e NAMES or --command")
    params = dict(params or {})
    for name in params:
        if name not in names:
            raise ParameterError(f"parameters given for {name!r}, which is not benchmarked")
    resolved = {}
    for s in specs:
        s.resolve_params(params.get(s.name))  # validates; the jobs carry the given values only
        resolved[s.name] = dict(params.get(s.name) or {})
    for s in specs:
        if not any(_accepts(s, t) for t in task_objs):
            wanted = sorted({t.measure.replace("_", " ") for t in task_objs})
            raise ParameterError(f"estimator {s.name!r} estimates none of the selected tasks "
                                 f"({', '.join(wanted)}); estimators that do: "
                                 + ", ".join(sorted({n for t in task_objs
                                                     for n in registry.names_for(t.measure)})))
    ns = [int(n) for n in ns]
    if not ns:
        raise ParameterError("no sample size given")
    for n in ns:
        for t in task_objs:
            _check_n(t, n)
    seed_list = _seed_list(seeds)
    jobs = []
    by_name = {s.name: s for s in specs}
    for n in ns:
        for t in task_objs:
            for base, tf in variants:
                s = by_name[base]
                if not _accepts(s, t):
                    continue
                for seed in seed_list:
                    jobs.append(Job(t.name, s.name, n, seed, resolved[s.name], device=device,
                                    task_object=t, transform=tf, check=check))
            for c in commands:
                for seed in seed_list:
                    jobs.append(Job(t.name, c.name, n, seed, {}, command=c.argv, timeout=timeout,
                                    task_object=t))
    return jobs


def parse_dims(text: str) -> list[tuple[int, int]]:
    """``--dims`` text -> [(dim_x, dim_y), ...]: ``10x10,20x5`` or ``10`` (= 10x10)."""
    out = []
    for item in (t.strip() for t in text.split(",")):
        if not item:
            continue
        parts = item.lower().split("x")
        try:
            dx, dy = (int(parts[0]), int(parts[0])) if len(parts) == 1 else map(int, parts)
        except ValueError:
            raise ParameterError(f"--dims {text!r}: expected DXxDY pairs like 10x10,20x5, "
                                 f"got {item!r}") from None
        if dx < 1 or dy < 1:
            raise ParameterError(f"--dims {text!r}: dimensions must be positive, got {item!r}")
        out.append((dx, dy))
    if not out:
        raise ParameterError(f"--dims {text!r}: expected DXxDY pairs like 10x10,20x5")
    return out


def dims_tasks(dims: Sequence[tuple[int, int]], pattern: str | None = None) -> list:
    """The tasks of :func:`infocli.tasks.at_dims` (bmi-style dense, sparse,
    Student-t and transformed MI tasks, built at the user's dimensions and not
    registered) for every ``(dim_x, dim_y)``, optionally filtered by the name
    globs ``pattern``; an empty result is an error."""
    import fnmatch

    out: dict[str, Any] = {}
    for dx, dy in dims:
        for t in task_registry.at_dims(dx, dy):
            out.setdefault(t.name, t)
    chosen = list(out.values())
    if pattern is not None:
        globs = [g.strip() for g in pattern.split(",") if g.strip()]
        chosen = [t for t in chosen if any(fnmatch.fnmatchcase(t.name, g) for g in globs)]
    if not chosen:
        raise ParameterError(f"--dims: no task matches pattern={pattern!r}; the tasks at "
                             "those dimensions: " + ", ".join(out))
    return chosen


# ----------------------------------------------------------------------------- execution


def _init_worker(modules: tuple[str, ...] = ()) -> None:
    os.environ.update(THREAD_ENV)
    with contextlib.suppress(Exception):
        import threadpoolctl

        threadpoolctl.threadpool_limits(1)
    # import the estimators' modules once per worker, so that the first run's
    # time is not mostly imports (compiled numba code still loads on first use)
    import importlib

    importlib.import_module("infocli.api")
    for module in modules:
        with contextlib.suppress(Exception):
            importlib.import_module(module)


def _modules(jobs: Sequence[Job]) -> tuple[str, ...]:
    out: dict[str, None] = {}
    for name in dict.fromkeys(j.estimator for j in jobs if j.command is None):
        for target in registry.get(name).implementations.values():
            out[target.partition(":")[0]] = None
    return tuple(out)


@contextlib.contextmanager
def _worker_env() -> Iterator[None]:
    # spawned workers inherit the parent's environment at start: pin their
    # threads there, and restore the parent's own settings afterwards
    # (not NUMBA_NUM_THREADS: numba refuses a change of it in a process whose pool
    # runs; the workers set it themselves in _init_worker, before numba loads)
    env = {k: v for k, v in THREAD_ENV.items() if k != "NUMBA_NUM_THREADS"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _worker_count(workers: int | None, jobs: int) -> int:
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else (os.cpu_count() or 1)
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 0:
        raise ParameterError(f"workers={workers!r}: expected a non-negative integer "
                             "(0: run in this process)")
    return min(int(workers), jobs)


def _job_failed(job: Job, exc: BaseException) -> RunRecord:
    # the worker itself died (killed, out of memory): the run still gets a record
    task = job.task_object
    if task is None:
        with contextlib.suppress(InfocliError):
            task = task_registry.get(job.task)
    return RunRecord(task=job.task, family=getattr(task, "family", "?"),
                     measure=getattr(task, "measure", "?"), estimator=job.label, n=job.n,
                     seed=job.seed, truth=float(getattr(task, "truth", math.nan)), value=None,
                     stderr=None, seconds=0.0,
                     error=f"worker failed: {type(exc).__name__}: {_one_line(exc)}",
                     exit_code=1, params=dict(job.params))


def iter_runs(jobs: Sequence[Job], *, workers: int | None = 0,
              executor: cf.Executor | None = None) -> Iterator[RunRecord]:
    """Execute ``jobs``, yielding each record as its run finishes.

    ``executor`` (any :class:`concurrent.futures.Executor`, kept open) takes
    precedence over ``workers``; ``workers=0`` runs in this process, in order;
    ``workers=N`` starts N spawned single-thread processes (``None``: one per
    available CPU). Closing the iterator early cancels the pending runs.
    """
    if executor is None:
        count = _worker_count(workers, len(jobs))
        if count == 0:
            for job in jobs:
                yield run_job(job)
            return
    else:
        count = 0
    own = None
    with _worker_env() if executor is None else contextlib.nullcontext():
        if executor is None:
            import multiprocessing

            own = executor = cf.ProcessPoolExecutor(
                max_workers=count, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker, initargs=(_modules(jobs),))
        shipped = _shippable(jobs)
        futures = {executor.submit(run_job, job): job for job in shipped}
        finished = False
        try:
            for fut in cf.as_completed(futures):
                try:
                    yield fut.result()
                except Exception as exc:
                    yield _job_failed(futures[fut], exc)
            finished = True
        finally:
            if own is None:
                for fut in futures:
                    fut.cancel()
            elif finished:
                own.shutdown(wait=True)
            else:
                # interrupted: stop the workers now rather than let them finish their runs
                # (terminate first: cancelling queued futures before the pool notices its
                # dead workers makes Python 3.11's executor thread raise InvalidStateError)
                for p in list(getattr(own, "_processes", {}).values()):
                    with contextlib.suppress(Exception):
                        p.terminate()
                own.shutdown(wait=False)


def run(tasks: Sequence, estimators: Sequence[str] = (), ns: Sequence[int] = (5000,),
        seeds: int | Sequence[int] = 3, params: dict[str, dict[str, Any]] | None = None,
        command: str | Sequence[str] | None = None, *, workers: int | None = 0,
        executor: cf.Executor | None = None, device: str = "cpu",
        check: str | None = "off", transform: str = "none",
        progress: ProgressFn | None = None,
        sink: Callable[[RunRecord], None] | None = None,
        timeout: float = COMMAND_TIMEOUT) -> list[RunRecord]:
    """Run every (task, estimator, n, seed) and return the records in plan order.

    Parameters
    ----------
    tasks : sequence of Task or task names
    estimators : sequence of str
        Registry names (``infocli.available_estimators()``), optionally
        ``NAME+TRANSFORM`` (``ksg+rank``) to apply a transform first.
    ns : sequence of int
        Sample sizes.
    seeds : int or sequence of int
        ``3`` means seeds 0, 1, 2. The seed drives both the sample and the
        estimator, so every estimator sees the same samples.
    params : dict, optional
        ``{estimator: {parameter: value}}`` (see :func:`parse_params`).
    command : str or sequence of str, optional
        External programs (:class:`Command`), benchmarked side by side.
    workers, executor
        Where runs execute (:func:`iter_runs`).
    device : str
        Device of infocli's estimators (``cpu`` by default: pool workers
        would otherwise share one GPU).
    check : {"off", "fast", "full"}
        Reliability check of every run (:mod:`infocli.diagnostics`); ``off``
        by default, since the benchmark scores the value. With a check, each
        record carries its interval and verdict and :func:`summarize` scores
        them (coverage, confidently wrong).
    transform : {"none", "rank", "copula"}
        Transform for estimators named without one (:mod:`infocli.transforms`).
    progress : callable(description, completed, total), optional
        Called after every finished run.
    timeout : float
        Seconds an external ``command`` may run for one estimate before it is
        killed (the run then fails); default :data:`COMMAND_TIMEOUT`.
    sink : callable(RunRecord), optional
        Called with every record as it finishes (e.g. a :class:`RecordWriter`).

    Returns
    -------
    list of RunRecord
        One per run; failed runs carry ``error`` (nothing is raised for them).
        Invalid input raises :class:`ParameterError` before any run.
    """
    jobs = plan(tasks, estimators, ns, seeds, params, command, device, check=check,
                transform=transform, timeout=timeout)
    order = {(j.task, j.label, j.n, j.seed): i for i, j in enumerate(jobs)}
    records: list[RunRecord] = []
    if progress is not None:
        progress("bench", 0, len(jobs))
    for rec in iter_runs(jobs, workers=workers, executor=executor):
        records.append(rec)
        if sink is not None:
            sink(rec)
        if progress is not None:
            progress(f"bench | {rec.estimator} {rec.task} n={rec.n}", len(records), len(jobs))
    records.sort(key=lambda r: order.get((r.task, r.estimator, r.n, r.seed), len(order)))
    return records


# ----------------------------------------------------------------------------- summary


def is_solved(mean: float | None, truth: float, *, factor: float = SOLVED_FACTOR,
              zero_tolerance: float = ZERO_TOLERANCE) -> bool:
    """bmi's criterion: ``truth / factor <= mean <= factor * truth``.

    Equivalently ``1/factor <= mean/truth <= factor``, which also covers a
    negative truth (a differential entropy): the estimate must then be negative
    too. A negative MI estimate is never a solution of a positive truth. A
    truth of exactly 0 has no ratio; it is solved when ``|mean| <= zero_tolerance``
    nats. A missing or non-finite mean is unsolved.
    """
    if mean is None or not math.isfinite(mean) or not math.isfinite(truth):
        return False
    if truth == 0:
        return abs(mean) <= zero_tolerance
    ratio = mean / truth
    return 1.0 / factor <= ratio <= factor


def log_ratio(mean: float | None, truth: float) -> float:
    """log(mean / truth): NaN without a mean or for truth 0, -inf when the
    estimate is 0 or of the wrong sign (a ratio <= 0)."""
    if mean is None or not math.isfinite(mean) or truth == 0 or not math.isfinite(truth):
        return math.nan
    ratio = mean / truth
    return math.log(ratio) if ratio > 0 else -math.inf


@dataclass(frozen=True)
class TaskSummary:
    """One estimator on one task at one n, over its seeds.

    ``mean``/``sd`` are over the successful runs (sd with ddof=1, None for one
    run). ``solved`` needs every run to succeed and :func:`is_solved`.
    """

    task: str
    family: str
    measure: str
    estimator: str
    n: int
    truth: float
    runs: int
    failures: int
    mean: float | None
    sd: float | None
    log_ratio: float
    solved: bool
    seconds: float
    errors: tuple[str, ...] = ()
    checked: int = 0
    reliable: int = 0
    covered: int = 0
    confidently_wrong: int = 0


@dataclass(frozen=True)
class EstimatorSummary:
    """One estimator at one n over all its tasks of one measure.

    ``median_abs_log_ratio`` is the median over tasks of |log(mean/truth)|
    (tasks without a mean or with truth 0 left out; inf for a mean of the wrong
    sign). ``seconds_total`` sums the runs, ``seconds_median`` is per run.

    Runs that carry an interval and a verdict (a check level other than
    ``off``) are scored too: ``checked`` such runs, ``reliable`` of them
    marked reliable, ``covered`` reliable runs whose interval holds the truth
    and ``confidently_wrong`` reliable runs whose interval misses it
    (:attr:`coverage`, :attr:`confidently_wrong_rate`).
    """

    estimator: str
    n: int
    measure: str
    solved: int
    tasks: int
    median_abs_log_ratio: float
    seconds_total: float
    seconds_median: float
    runs: int
    failures: int
    cpu_seconds_total: float | None = None
    checked: int = 0
    reliable: int = 0
    covered: int = 0
    confidently_wrong: int = 0

    @property
    def coverage(self) -> float | None:
        """Share of reliable runs whose interval holds the truth."""
        return self.covered / self.reliable if self.reliable else None

    @property
    def confidently_wrong_rate(self) -> float | None:
        """Share of checked runs that are reliable and miss the truth."""
        return self.confidently_wrong / self.checked if self.checked else None


@dataclass(frozen=True)
class Summary:
    estimators: tuple[EstimatorSummary, ...]
    tasks: tuple[TaskSummary, ...]

    def to_dict(self) -> dict[str, Any]:
        def clean(d):
            return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                    for k, v in d.items()}
        return {"estimators": [clean({**asdict(e), "coverage": e.coverage,
                                      "confidently_wrong_rate": e.confidently_wrong_rate})
                               for e in self.estimators],
                "tasks": [clean({**asdict(t), "errors": list(t.errors)}) for t in self.tasks]}


def summarize(records: Iterable[RunRecord], *, factor: float = SOLVED_FACTOR,
              zero_tolerance: float = ZERO_TOLERANCE) -> Summary:
    """Per (estimator, n, task): mean ± sd vs truth and solved; per
    (estimator, n, measure): tasks solved, median |log ratio|, time and failures.
    Groups keep the order in which they first appear in ``records``."""
    groups: dict[tuple[str, int, str], list[RunRecord]] = {}
    for r in records:
        groups.setdefault((r.estimator, r.n, r.task), []).append(r)
    task_rows = []
    for (est, n, name), runs in groups.items():
        values = [r.value for r in runs if r.ok]
        failures = sum(not r.ok for r in runs)
        mean = float(np.mean(values)) if values else None
        sd = float(np.std(values, ddof=1)) if len(values) > 1 else None
        first = runs[0]
        scored = _scored(runs)
        task_rows.append(TaskSummary(
            task=name, family=first.family, measure=first.measure, estimator=est, n=n,
            truth=first.truth, runs=len(runs), failures=failures, mean=mean, sd=sd,
            log_ratio=log_ratio(mean, first.truth),
            solved=failures == 0 and is_solved(mean, first.truth, factor=factor,
                                               zero_tolerance=zero_tolerance),
            seconds=float(sum(r.seconds for r in runs)),
            errors=tuple(dict.fromkeys(r.error for r in runs if not r.ok)), **scored))
    est_rows = []
    for key in dict.fromkeys((t.estimator, t.n, t.measure) for t in task_rows):
        rows = [t for t in task_rows if (t.estimator, t.n, t.measure) == key]
        runs = [r for (e, n, _), rs in groups.items() for r in rs
                if (e, n, r.measure) == key]
        ratios = [abs(t.log_ratio) for t in rows if not math.isnan(t.log_ratio)]
        est_rows.append(EstimatorSummary(
            estimator=key[0], n=key[1], measure=key[2], solved=sum(t.solved for t in rows), tasks=len(rows),
            median_abs_log_ratio=float(np.median(ratios)) if ratios else math.nan,
            seconds_total=float(sum(r.seconds for r in runs)),
            seconds_median=float(np.median([r.seconds for r in runs])),
            runs=len(runs), failures=sum(not r.ok for r in runs),
            cpu_seconds_total=float(sum(r.cpu_seconds for r in runs))
            if all(r.cpu_seconds is not None for r in runs) else None,
            **_scored(runs)))
    return Summary(estimators=tuple(est_rows), tasks=tuple(task_rows))


def covers(interval: tuple[float | None, float | None] | None, truth: float) -> bool | None:
    """Whether ``interval`` (an open side is None) holds ``truth``; None without one."""
    if interval is None:
        return None
    lo, hi = interval
    return (lo is None or lo <= truth) and (hi is None or truth <= hi)


def _scored(runs: Sequence[RunRecord]) -> dict[str, int]:
    checked = [r for r in runs if r.ok and r.reliable is not None and r.interval is not None]
    reliable = [r for r in checked if r.reliable]
    covered = sum(bool(covers(r.interval, r.truth)) for r in reliable)
    return dict(checked=len(checked), reliable=len(reliable), covered=covered,
                confidently_wrong=len(reliable) - covered)


# ----------------------------------------------------------------------------- heat map


#: The colour scale of the heat map saturates at a factor of 3 either way.
HEATMAP_LIMIT = math.log(3.0)


def plot_heatmap(results: Summary | Iterable[RunRecord], path: str, *,
                 title: str | None = None) -> None:
    """Task x estimator heat map of log(mean estimate / truth), as in bmi's figures.

    Diverging colours centred at 0 (blue: underestimate, red: overestimate),
    saturating at a factor of 3; every cell is annotated with the mean
    estimate (bold when solved); failed cells are grey with ``fail``, and
    estimates of the wrong sign show the darkest blue. With several sample
    sizes each (estimator, n) gets a column. Writes a PNG (or any format
    matplotlib infers from ``path``); needs matplotlib
    (``pip install 'infocli[plot]'``).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.colors import Normalize
        from matplotlib.figure import Figure
        import matplotlib as mpl
    except ImportError:
        raise InputError("--plot needs matplotlib, which is not installed; install it with "
                         "pip install 'infocli[plot]'") from None
    summary = results if isinstance(results, Summary) else summarize(list(results))
    if not summary.tasks:
        raise ParameterError("nothing to plot: no runs")
    tasks = list(dict.fromkeys(t.task for t in summary.tasks))
    truths = {t.task: t.truth for t in summary.tasks}
    ns = sorted({t.n for t in summary.tasks})
    first = {c: i for i, c in enumerate(dict.fromkeys((t.estimator, t.n) for t in summary.tasks))}
    columns = sorted(first, key=lambda c: (ns.index(c[1]), first[c]))
    cell = {(t.task, t.estimator, t.n): t for t in summary.tasks}
    grid = np.full((len(tasks), len(columns)), np.nan)
    for i, name in enumerate(tasks):
        for j, (est, n) in enumerate(columns):
            t = cell.get((name, est, n))
            if t is not None:
                grid[i, j] = np.clip(t.log_ratio, -HEATMAP_LIMIT, HEATMAP_LIMIT) \
                    if not math.isnan(t.log_ratio) else np.nan

    label_width = 0.065 * max(len(f"{name} ({truths[name]:.2f})") for name in tasks)
    width = max(6.0, label_width + 1.8 + 0.8 * len(columns))
    height = max(3.0, 1.7 + 0.24 * len(tasks))
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    cmap = mpl.colormaps["RdBu_r"].with_extremes(bad="0.85")
    norm = Normalize(-HEATMAP_LIMIT, HEATMAP_LIMIT)
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, norm=norm, aspect="auto")
    for i, name in enumerate(tasks):
        for j, (est, n) in enumerate(columns):
            t = cell.get((name, est, n))
            if t is None:
                continue
            if t.mean is None:
                text, colour = "fail", "0.3"
            else:
                text = f"{t.mean:.2f}"
                colour = "white" if not math.isnan(grid[i, j]) and abs(grid[i, j]) > 0.7 \
                    else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=6.5, color=colour,
                    fontweight="bold" if t.solved else "normal")
    ax.set_xticks(range(len(columns)))
    ax.set_xticklabels([est if len(ns) == 1 else f"{est}\nn={n}" for est, n in columns],
                       rotation=45 if len(columns) > 4 else 0, ha="right"
                       if len(columns) > 4 else "center", fontsize=8)
    ax.set_yticks(range(len(tasks)))
    ax.set_yticklabels([f"{name} ({truths[name]:.2f})" for name in tasks], fontsize=7)
    ax.tick_params(length=0)
    if title is None:
        title = ("mean estimate vs truth" + (f", n = {ns[0]:,}" if len(ns) == 1 else "")
                 + "\ncolour: log(estimate / truth); bold: solved (within x1.5)")
    ax.set_title(title, fontsize=9)
    factors = (1 / 3, 1 / 2, 1 / 1.5, 1.0, 1.5, 2.0, 3.0)
    bar = fig.colorbar(image, ax=ax, fraction=0.08, pad=0.03,
                       shrink=1.0 if len(tasks) < 8 else 0.4, aspect=20)
    bar.set_ticks([math.log(f) for f in factors])
    bar.set_ticklabels(["1/3", "1/2", "1/1.5", "1", "1.5", "2", "3"])
    bar.ax.tick_params(labelsize=7)
    bar.set_label("estimate / truth", fontsize=8)
    fig.tight_layout()
    try:
        fig.savefig(path)
    except OSError as exc:
        raise InputError(f"--plot {path}: cannot write ({exc.strerror or exc})") from None
    except ValueError as exc:  # an unknown extension
        raise InputError(f"--plot {path}: {_one_line(exc)}") from None
