"""``infocli batch``: a manifest of jobs on Dask workers, one JSON record per job."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from typing import Annotated, Optional

import typer

from ..errors import ParameterError
from ._app import app
from ._common import Quiet, Traceback, _deprecated, _errors, _PlainBatchProgress

Workers = Annotated[Optional[int], typer.Option(
    "--workers", "-w", help="Local worker processes (default: in this process for small "
    "work, else a local cluster of the machine's cores); 0 runs in this process, N starts "
    "N workers.", min=0)]
Scheduler = Annotated[Optional[str], typer.Option(
    "--scheduler", help="Use an existing Dask cluster: tcp://HOST:PORT, a scheduler file, "
    "or 'sync' (in this process).")]
TlsCa = Annotated[Optional[str], typer.Option(
    "--tls-ca-file", metavar="FILE", help="With a tls:// --scheduler: the CA certificate that "
    "signed the cluster's certificates (default: Dask's distributed.comm.tls config).")]
TlsCert = Annotated[Optional[str], typer.Option(
    "--tls-cert", metavar="FILE", help="With a tls:// --scheduler: this client's certificate "
    "(PEM; may include the key).")]
TlsKey = Annotated[Optional[str], typer.Option(
    "--tls-key", metavar="FILE", help="With a tls:// --scheduler: this client's private key, "
    "when not in --tls-cert.")]


def _tls(ca_file: str | None, cert: str | None, key: str | None) -> dict | None:
    given = {"ca_file": ca_file, "cert": cert, "key": key}
    return given if any(given.values()) else None


MemoryLimit = Annotated[str, typer.Option(
    "--memory-limit", help="Memory per local worker (e.g. 4GB; 'auto' shares the RAM); a job "
    "that needs more fails with an error record.")]


class _BatchProgress:
    """done / failed / running and the time left, on stderr."""

    def __enter__(self):
        from rich.console import Console
        from rich.progress import (BarColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self._p = Progress(TextColumn("jobs"), BarColumn(),
                           TextColumn("{task.completed:.0f}/{task.total:.0f}"),
                           TextColumn("{task.description}"), TimeElapsedColumn(),
                           TextColumn("eta"), TimeRemainingColumn(),
                           console=Console(stderr=True), transient=True)
        self._p.__enter__()
        self._task = self._p.add_task("", total=None)
        return self

    def __call__(self, done: int, failed: int, running: int, total: int) -> None:
        self._p.update(self._task, completed=done + failed, total=total,
                       description=f"{done} done, {failed} failed, {running} running")

    def __exit__(self, *exc):
        return self._p.__exit__(*exc)


@contextlib.contextmanager
def _term_as_interrupt():
    """While the run lasts, SIGTERM ends it like Ctrl-C: records already written stay,
    the cluster closes. The previous handler comes back afterwards (the command may
    run inside another program, e.g. a test runner)."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        previous = None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _info(message: str, quiet: bool) -> None:
    if not quiet:
        typer.echo(f"infocli: {message}", err=True)


@app.command()
def batch(
    jobs: Annotated[str, typer.Argument(help="Manifest of jobs: .csv, .tsv, .jsonl or .yaml.")],
    output: Annotated[Optional[str], typer.Option(
        "--output", "-o", metavar="FILE", help="Append one JSON record per job to this file "
        "(default: stdout).")] = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    memory_limit: MemoryLimit = "auto",
    tls_ca_file: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Skip jobs already in --output (a partial last line is cut away).")] = False,
    retry_failed: Annotated[bool, typer.Option(
        "--retry-failed", help="With --resume: drop error records and run those jobs again.")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Validate the manifest and list the jobs; run nothing.")] = False,
    table: Annotated[Optional[str], typer.Option(
        "--table", metavar="FORMAT", help="Also write a flat table of all records at the "
        "end: csv or parquet (beside --output, same name).")] = None,
    fmt: Annotated[Optional[str], typer.Option(
        "--format", hidden=True, help="Deprecated: --table FORMAT.")] = None,
    quiet: Quiet = False,
    traceback: Traceback = False,
) -> None:
    """Run a manifest of entropy / mi / cmi jobs on Dask workers.

    Exit codes: 0 every job succeeded; 4 some jobs failed (their error records are in the
    output); 2 bad manifest or options (nothing ran); 130 interrupted (Ctrl-C or SIGTERM;
    finished records are on disk, --resume continues).
    """
    with _errors(traceback):
        from .. import batch as lib
        from ..io import check_not_input, check_writable

        if fmt is not None:
            _deprecated("--format FORMAT (the flat table)", "--table FORMAT")
            if table is not None and table != fmt:
                raise ParameterError(f"--table {table} and --format {fmt}: give --table only")
            table = fmt
        fmt = table
        if fmt is not None and fmt not in ("csv", "parquet"):
            raise ParameterError(f"--table {fmt!r}: expected csv or parquet")
        if fmt is not None and output is None:
            raise ParameterError("--table needs --output (the table is written beside it)")
        if retry_failed and not resume:
            raise ParameterError("--retry-failed needs --resume")
        if resume and output is None:
            raise ParameterError("--resume needs --output (the file to continue)")
        manifest = lib.read_manifest(jobs)
        table_path = (os.path.splitext(output)[0] + "." + fmt) if fmt else None
        if table_path:
            check_writable(table_path, "--table")
        # jobs.csv -o jobs.jsonl --format csv would write the table over the manifest
        check_not_input(output, "--output", [jobs])
        check_not_input(table_path, f"--table {fmt} (the table {table_path})", [jobs])
        if dry_run:
            for job in manifest:
                sys.stdout.write(json.dumps({"id": job.id, "line": job.line,
                                             "job": job.inputs()}) + "\n")
            _info(f"{len(manifest)} jobs valid", quiet)
            return
        if output is not None:
            check_writable(output, "--output")
        with _term_as_interrupt(), (lib.OutputLock(output) if output is not None
                                    else contextlib.nullcontext()):
            show = not quiet and sys.stderr.isatty()
            plain = not quiet and not show
            records = []
            with lib.open_engine(workers, scheduler, memory_limit=memory_limit,
                                 tls=_tls(tls_ca_file, tls_cert, tls_key),
                                 work=lib.jobs_work(manifest)) as engine:
                _info(f"running on {engine.describe()}", quiet)
                if engine.client is not None:
                    _info(f"dashboard: {engine.dashboard}" if engine.dashboard else
                          "dashboard: not available (pip install bokeh)", quiet)
                with (_BatchProgress() if show else _PlainBatchProgress() if plain
                      else contextlib.nullcontext(None)) as progress:
                    for record in lib.run_iter(manifest, engine=engine, output=output,
                                               resume=resume, retry_failed=retry_failed,
                                               progress=progress):
                        records.append(record)
                        if output is None:
                            sys.stdout.write(json.dumps(record, default=str) + "\n")
                            sys.stdout.flush()
        if output is not None and os.path.isfile(output):
            all_records, _ = lib.read_results(output)
        else:  # stdout, or a device or FIFO (nothing to read back)
            all_records = records
        failed = sum("error" in r for r in records)
        skipped = len(manifest) - len(records)
        _info(f"{len(records) - failed} done, {failed} failed"
              + (f", {skipped} already in {output}" if skipped else "")
              + (f"; results in {output}" if output else ""), quiet)
        if table_path:
            lib.write_table(all_records, table_path, fmt)
            _info(f"table: {table_path}", quiet)
        code = lib.exit_code(all_records)
        if code:
            first = next(r for r in all_records if "error" in r)
            typer.echo(f"infocli: error: {sum('error' in r for r in all_records)} job(s) failed; "
                       f"first: {first['id']}: {first['error']['message']}", err=True)
            raise typer.Exit(code)
