"""``infocli matrix``: pairwise MI (or normalised MI, or entropies) of a table's columns."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer

from ..errors import ParameterError
from ._app import app
from ._common import (Device, Estimator, ParamOpt, Quiet, Seed, Traceback, Transform, Unit,
                      _check_output,
                      _check_unit, _errors, _Inputs, _params, _progress)
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
    csv_out: Annotated[Optional[str], typer.Option("--csv", help="Write the tidy table as CSV.")] = None,
    parquet_out: Annotated[Optional[str], typer.Option(
        "--parquet", help="Write the tidy table as Parquet.")] = None,
    json_out: Annotated[Optional[str], typer.Option(
        "--json", help="Write the result as JSON (FILE, or '-' for stdout).")] = None,
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
        for path, option in ((csv_out, "--csv"), (parquet_out, "--parquet"), (plot, "--plot"),
                             (json_out if json_out != "-" else None, "--json")):
            _check_output(path, option)
        est = estimator or ("kl" if measure == "entropy" else "ksg")
        params = _params(est, param)
        inputs = _Inputs()
        table = inputs.table(data)
        frame, idx, _ = inputs.variable(data, cols, "--cols")
        inputs.check_outputs((csv_out, "--csv"), (parquet_out, "--parquet"), (plot, "--plot"),
                             (json_out, "--json"))
        if table.columns is None:  # a plain array: name the columns by their index in the file
            import pandas as pd

            frame = pd.DataFrame(frame, columns=[str(j) for j in idx], copy=False)
        with _progress(quiet) as progress:
            result = lib.mi_matrix(
                frame, groups=groups, estimator=est, measure=measure,
                permutations=permutations, unit=unit, seed=seed, device=device, params=params,
                check=check, transform=transform, workers=workers, scheduler=scheduler, memory_limit=memory_limit,
                tls=_tls(tls_ca_file, tls_cert, tls_key), max_pairs=max_pairs,
                progress=progress)
        tidy = result.to_frame()
        if csv_out:
            from ..io import write_atomic

            write_atomic(csv_out, "--csv", lambda tmp: tidy.to_csv(tmp, index=False))
        if parquet_out:
            from ..io import write_atomic

            write_atomic(parquet_out, "--parquet", lambda tmp: tidy.to_parquet(tmp, index=False))
        if plot:
            lib.plot_matrix(result, plot)
        if json_out:
            text = json.dumps(result.to_dict(), indent=2, default=str)
            if json_out == "-":
                sys.stdout.write(text + "\n")
            else:
                from ..io import write_atomic

                def save(tmp: str) -> None:
                    with open(tmp, "w") as f:
                        f.write(text + "\n")

                write_atomic(json_out, "--json", save)
        if json_out != "-":
            from .._render import render_matrix

            render_matrix(result)
        failed = [r for r in result.rows if r.get("error")]
        if failed:
            typer.echo(f"infocli: error: {len(failed)} of {len(result.rows)} entries failed; "
                       f"first: {failed[0]['x']}, {failed[0]['y']}: {failed[0]['error']}", err=True)
            raise typer.Exit(4)
