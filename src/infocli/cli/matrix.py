"""``infocli matrix``: pairwise MI (or normalised MI, or entropies) of a table's columns."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer

from ..errors import ParameterError
from ._app import app
from ._common import (Device, DropConstant, Estimator, InputHeader, Json, ParamOpt, Quiet, Seed,
                      Traceback, Transform,
                      Unit, _check_output, _check_unit, _deprecated, _errors, _file_format,
                      _Inputs, _params, _progress)
from .batch import MemoryLimit, Scheduler, TlsCa, TlsCert, TlsKey, Workers, _tls


@app.command()
def matrix(
    data: Annotated[str, typer.Argument(help="Table of samples (file, file.npz:key or '-').")],
    cols: Annotated[Optional[str], typer.Option(
        "--cols", help="Columns to use: names, indices or ranges (default: all).")] = None,
    groups: Annotated[Optional[str], typer.Option(
        "--groups", help="Named column groups as variables: 'a=x1,x2;b=y1:y5'.")] = None,
    estimator: Estimator = None,
    measure: Annotated[str, typer.Option(
        "--measure", help="mi, nmi (information coefficient sqrt(1-exp(-2I))) or entropy.")] = "mi",
    permutations: Annotated[int, typer.Option(
        "--permutations", help="p-value per pair against N seeded row-shuffles.", min=0)] = 0,
    param: ParamOpt = None,
    check: Annotated[str, typer.Option(
        "--check", metavar="LEVEL", help="Reliability check of every entry: off (default: a "
        "matrix screens many pairs; use --permutations for p-values), fast or full (each "
        "row also gets its interval and reliable verdict, at ~4x the cost).")] = "off",
    transform: Transform = "none",
    unit: Unit = "nats",
    seed: Seed = 0,
    device: Device = "auto",
    fmt: Annotated[Optional[str], typer.Option(
        "--format", "-f", metavar="FORMAT", help="Output on stdout: table (default), json, "
        "jsonl (one line per pair), csv or tsv (the tidy table).")] = None,
    json_: Json = False,
    output: Annotated[Optional[str], typer.Option(
        "--output", "-o", metavar="FILE", help="Also write the result to FILE: the tidy "
        "table when its name ends in .csv, .tsv or .parquet, one line per pair for .jsonl, "
        "else JSON.")] = None,
    csv_out: Annotated[Optional[str], typer.Option(
        "--csv", hidden=True, help="Deprecated: -o FILE.csv.")] = None,
    parquet_out: Annotated[Optional[str], typer.Option(
        "--parquet", hidden=True, help="Deprecated: -o FILE.parquet.")] = None,
    json_file: Annotated[Optional[str], typer.Option(
        "--json-file", hidden=True, help="Deprecated spelling --json FILE: -o FILE.")] = None,
    plot: Annotated[Optional[str], typer.Option(
        "--plot", help="Write a labelled heat map (PNG; needs matplotlib).")] = None,
    max_pairs: Annotated[int, typer.Option(
        "--max-pairs", metavar="N", help="Refuse a matrix of more pairs than N before any "
        "work (a 10,000-column table makes 50 million).", min=1)] = 100_000,
    workers: Workers = None,
    scheduler: Scheduler = None,
    memory_limit: MemoryLimit = "auto",
    tls_ca_file: TlsCa = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    input_header: InputHeader = None,
    drop_constant: DropConstant = False,
    quiet: Quiet = False,
    traceback: Traceback = False,
) -> None:
    """Pairwise mutual information between all columns (or column groups) of one table."""
    with _errors(traceback):
        from .. import matrix as lib

        _check_unit(unit)
        if measure not in lib.MEASURES:
            raise ParameterError(f"--measure {measure!r}: expected mi, nmi or entropy")
        if groups is not None and cols is not None:
            raise ParameterError("give --cols or --groups, not both")
        out_format = _matrix_format(fmt, json_)
        files = _matrix_files(output, csv_out, parquet_out, json_file)
        for path, _, option in files:
            _check_output(path, option)
        _check_output(plot, "--plot")
        est = estimator or ("kl" if measure == "entropy" else "ksg")
        params = _params(est, param)
        inputs = _Inputs(header=input_header, quiet=quiet)
        table = inputs.table(data)
        frame, idx, _ = inputs.variable(data, cols, "--cols")
        inputs.check_outputs(*[(path, option) for path, _, option in files], (plot, "--plot"))
        if table.columns is None:  # a plain array: name the columns by their index in the file
            import pandas as pd

            frame = pd.DataFrame(frame, columns=[str(j) for j in idx], copy=False)
        with _progress(quiet) as progress:
            result = lib.mi_matrix(
                frame, groups=groups, estimator=est, measure=measure,
                permutations=permutations, unit=unit, seed=seed, device=device, params=params,
                check=check, transform=transform, workers=workers, scheduler=scheduler, memory_limit=memory_limit,
                tls=_tls(tls_ca_file, tls_cert, tls_key), max_pairs=max_pairs,
                progress=progress, drop_constant=drop_constant)
        if not quiet:
            for note in result.notes:
                typer.echo(f"infocli: warning: {note}", err=True)
        for path, file_fmt, option in files:
            _write_matrix(result, path, file_fmt, option)
        if plot:
            lib.plot_matrix(result, plot)
        if out_format == "table":
            from .._render import render_matrix

            render_matrix(result)
        else:
            sys.stdout.write(_matrix_text(result, out_format))
            sys.stdout.flush()
        failed = [r for r in result.rows if r.get("error")]
        if failed:
            typer.echo(f"infocli: error: {len(failed)} of {len(result.rows)} entries failed; "
                       f"first: {failed[0]['x']}, {failed[0]['y']}: {failed[0]['error']}", err=True)
            raise typer.Exit(4)


MATRIX_FORMATS = ("table", "json", "jsonl", "csv", "tsv")


def _matrix_format(fmt: str | None, as_json: bool) -> str:
    if fmt is not None and fmt not in MATRIX_FORMATS:
        raise ParameterError(f"--format {fmt!r}: expected one of {', '.join(MATRIX_FORMATS)}")
    if as_json and fmt not in (None, "json"):
        raise ParameterError(f"--format {fmt} and --json: choose one output format")
    return "json" if as_json else (fmt or "table")


def _matrix_files(output, csv_out, parquet_out, json_file) -> list[tuple[str, str, str]]:
    """(path, format, option) of every file to write; old spellings still work."""
    files = []
    if output:
        files.append((output, _file_format(output, ("csv", "tsv", "jsonl", "parquet")),
                      "--output"))
    for path, file_fmt, old in ((csv_out, "csv", "--csv"), (parquet_out, "parquet", "--parquet"),
                                (json_file, "json", "--json")):
        if path:
            _deprecated(f"{old} FILE", f"-o FILE (a name ending in .{file_fmt})")
            files.append((path, file_fmt, old))
    return files


def _matrix_text(result, fmt: str) -> str:
    """The matrix as ``fmt`` text (json, jsonl, csv or tsv)."""
    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2, default=str) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps(r, default=str) + "\n" for r in result.to_dict()["rows"])
    tidy = result.to_frame()
    return tidy.to_csv(index=False, sep="," if fmt == "csv" else "\t")


def _write_matrix(result, path: str, fmt: str, option: str) -> None:
    from ..io import write_atomic, write_text_atomic

    if fmt == "parquet":
        tidy = result.to_frame()
        write_atomic(path, option, lambda tmp: tidy.to_parquet(tmp, index=False))
        return
    write_text_atomic(path, option, _matrix_text(result, fmt))
