"""``infocli bench``: the known-truth benchmark (tasks x estimators x n x seeds)."""

from __future__ import annotations

import contextlib
from typing import Annotated, Optional

import typer

from ..errors import EstimationError, ParameterError
from ._app import app
from ._common import Json, ParamOpt, Quiet, Traceback, _deprecated, _errors, _progress
from .batch import TlsCa, TlsCert, TlsKey, _tls


def _int_list(text: str, option: str) -> list[int]:
    out = []
    for item in text.split(","):
        item = item.strip().replace("_", "")
        if not item:
            continue
        try:
            value = int(item)
        except ValueError:
            raise ParameterError(f"{option} {text!r}: expected comma-separated integers, "
                                 f"got {item!r}") from None
        if value < 1:
            raise ParameterError(f"{option} {text!r}: {value} is not a positive integer")
        out.append(value)
    if not out:
        raise ParameterError(f"{option} {text!r}: expected comma-separated integers")
    return out


@app.command()
def bench(
    estimator: Annotated[Optional[str], typer.Option(
        "--estimator", "-e", help="Estimators to compare, comma-separated "
        "(default: ksg,gaussian unless --command is given).")] = None,
    n_samples: Annotated[str, typer.Option(
        "--n-samples", "-n", help="Sample sizes, comma-separated, e.g. 1000,5000.")] = "5000",
    seeds: Annotated[int, typer.Option(
        "--seeds", help="Seeds per (task, estimator, n): 0 .. SEEDS-1.", min=1)] = 3,
    tasks: Annotated[Optional[str], typer.Option(
        "--tasks", help="Task names or globs, comma-separated (e.g. '1v1-*,*-student-*').")] = None,
    family: Annotated[Optional[str], typer.Option(
        "--family", help="Task families, comma-separated (see --list).")] = None,
    measure: Annotated[Optional[str], typer.Option(
        "--measure", help="Only tasks of this measure: mi, entropy, cmi or ce.")] = None,
    dims: Annotated[Optional[str], typer.Option(
        "--dims", help="Benchmark at your own sizes: bmi-style tasks (dense and sparse "
        "normal, Student-t and their transforms) built at DXxDY columns, comma-separated, "
        "e.g. 10x10,20x5 (10 = 10x10); --tasks filters them by name.")] = None,
    param: ParamOpt = None,
    check: Annotated[str, typer.Option(
        "--check", metavar="LEVEL", help="Reliability check of every run: off (default; the "
        "benchmark scores the value), fast or full (each run also gets its interval and "
        "verdict; the table adds coverage and confidently-wrong rates).")] = "off",
    transform: Annotated[str, typer.Option(
        "--transform", metavar="METHOD", help="none, rank or copula, applied before every "
        "estimator named without one; -e ksg,ksg+rank compares both in one run.")] = "none",
    command: Annotated[Optional[list[str]], typer.Option(
        "--command", help="External estimator 'PROG {csv} {dx} {dy}' (bmi's contract: a CSV "
        "with columns X0.., Y0..; the program prints one number, in nats). Repeatable.")] = None,
    timeout: Annotated[float, typer.Option(
        "--timeout", metavar="SECONDS", help="With --command: kill the program after this "
        "many seconds for one estimate (the run fails).")] = 600.0,
    workers: Annotated[Optional[int], typer.Option(
        "--workers", help="Worker processes, one thread each (default: one per CPU; 0: run "
        "in this process).", min=0)] = None,
    scheduler: Annotated[Optional[str], typer.Option(
        "--scheduler", help="Run on a Dask cluster: tcp://HOST:PORT or a scheduler file "
        "(the engine of infocli batch; needs pip install 'infocli[batch]'). Overrides "
        "--workers.")] = None,
    tls_ca_file: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    device: Annotated[str, typer.Option("--device", help="cpu, cuda or cuda:N.")] = "cpu",
    fmt: Annotated[Optional[str], typer.Option(
        "--format", "-f", metavar="FORMAT", help="Output on stdout: table (default; the "
        "summary at the end), csv or jsonl (one row per run as runs finish; json is the "
        "same as jsonl).")] = None,
    json_: Json = False,
    output: Annotated[Optional[str], typer.Option(
        "--output", "-o", metavar="FILE", help="Also write one row per run to FILE as runs "
        "finish: CSV when its name ends in .csv, else JSON Lines.")] = None,
    csv_out: Annotated[Optional[str], typer.Option(
        "--csv", hidden=True, help="Deprecated: -o FILE.csv (or --format csv for '-').")] = None,
    json_file: Annotated[Optional[str], typer.Option(
        "--json-file", hidden=True, help="Deprecated spelling --json FILE: -o FILE.")] = None,
    plot: Annotated[Optional[str], typer.Option(
        "--plot", help="Write the task x estimator heat map of log(estimate/truth) (PNG; "
        "needs matplotlib).")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the tasks and exit.")] = False,
    quiet: Quiet = False,
    traceback: Traceback = False,
) -> None:
    """Benchmark estimators on tasks with known truth: tasks solved (mean estimate within
    x1.5 of the truth), median |log(estimate/truth)|, time."""
    with _errors(traceback):
        from .. import bench as lib
        from .. import tasks as task_registry

        if dims is not None:
            if family is not None or measure not in (None, "mi", "mutual_information"):
                raise ParameterError("--dims builds its own bmi-style MI tasks; drop --family "
                                     "and --measure (--tasks filters them by name)")
            selected = lib.dims_tasks(lib.parse_dims(dims), tasks)
        elif tasks or family or measure:
            selected = task_registry.select(tasks, family, lib.resolve_measure(measure))
        else:
            selected = task_registry.default_tasks()
        if list_:
            from .._render import render_task_list

            render_task_list(selected)
            return
        names = [e.strip() for e in (estimator or ("" if command else "ksg,gaussian")).split(",")
                 if e.strip()]
        ns = _int_list(n_samples, "-n")
        params = lib.parse_params(param or [], names)
        jobs = lib.plan(selected, names, ns, seeds, params, command, device, check=check,
                        transform=transform, timeout=timeout)
        if scheduler is None and _tls(tls_ca_file, tls_cert, tls_key):
            raise ParameterError("--tls-ca-file/--tls-cert/--tls-key secure the connection "
                                 "to a --scheduler; give one")
        if plot:
            _check_plot(plot)
        records_to = _bench_outputs(fmt, json_, output, csv_out, json_file)
        with contextlib.ExitStack() as stack:
            sinks = [stack.enter_context(lib.RecordWriter(path, rec_fmt, option=option))
                     for path, rec_fmt, option in records_to]
            executor = None
            if scheduler is not None:
                from .. import batch

                engine = stack.enter_context(batch.open_engine(
                    scheduler=scheduler, tls=_tls(tls_ca_file, tls_cert, tls_key)))
                if engine.client is not None:  # "sync": in this process
                    executor = engine.client.get_executor()
                else:
                    workers = 0
            progress = stack.enter_context(_progress(quiet))
            records = lib.run(selected, names, ns, seeds, params, command, workers=workers,
                              executor=executor, device=device, check=check,
                              transform=transform, progress=progress, timeout=timeout,
                              sink=(lambda r: [s(r) for s in sinks]) if sinks else None)
        summary = lib.summarize(records)
        if plot:
            lib.plot_heatmap(summary, plot)
        if all(path != "-" for path, _, _ in records_to):
            from .._render import render_bench

            render_bench(summary)
        failed = [r for r in records if not r.ok]
        if failed:
            first = failed[0]
            typer.echo(f"infocli: {len(failed)} of {len(jobs)} runs failed; first: "
                       f"{first.estimator} on {first.task} (n={first.n}, seed={first.seed}): "
                       f"{first.error}", err=True)
        if failed and len(failed) == len(records):
            raise EstimationError("every run failed")


def _check_plot(path: str) -> None:
    from ..io import check_writable

    check_writable(path, "--plot")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ParameterError("--plot needs matplotlib, which is not installed; install it "
                             "with pip install 'infocli[plot]'") from None


BENCH_FORMATS = ("table", "csv", "jsonl", "json")


def _bench_outputs(fmt, as_json, output, csv_out, json_file) -> list[tuple[str, str, str]]:
    """(path or '-', record format, option) of every record sink; old spellings
    (--csv FILE, --json FILE, '-' for stdout) still work, with a warning."""
    if fmt is not None and fmt not in BENCH_FORMATS:
        raise ParameterError(f"--format {fmt!r}: expected one of {', '.join(BENCH_FORMATS)}")
    if as_json and fmt not in (None, "json", "jsonl"):
        raise ParameterError(f"--format {fmt} and --json: choose one output format")
    out = []
    stdout = "jsonl" if as_json or fmt in ("json", "jsonl") else fmt if fmt == "csv" else None
    if stdout:
        out.append(("-", stdout, "--format"))
    if output:
        out.append((output, "csv" if output.lower().endswith(".csv") else "jsonl", "--output"))
    for path, rec_fmt, old in ((csv_out, "csv", "--csv"), (json_file, "jsonl", "--json")):
        if not path:
            continue
        if path == "-":
            _deprecated(f"{old} -", "--format csv" if rec_fmt == "csv" else "--json")
        else:
            _deprecated(f"{old} FILE", f"-o FILE (a name ending in .{'csv' if rec_fmt == 'csv' else 'jsonl'})")
        out.append((path, rec_fmt, old))
    if sum(path == "-" for path, _, _ in out) > 1:
        raise ParameterError("two outputs want stdout; write one of them to a file (-o FILE)")
    return out
