"""``infocli ib``: the information plane."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer

from ..errors import ParameterError
from ._app import command
from ._common import (Device, Format, Json, NoHeader, Output, Quiet, Seed, Traceback, Unit,
                      XCols, YCols, _check_output, _check_unit, _errors, _Inputs, _output_format,
                      _progress)

_EXAMPLES = """Examples:

\b
  infocli ib runs/activations --x inputs.npy --y labels.npy
  infocli ib manifest.csv --x inputs.npy --y labels.npy --plot plane.png
  infocli ib runs/activations --x inputs.npy --y labels.npy --format csv > plane.csv
"""


@command(short_help="Information plane: I(X;T), I(T;Y) per layer and epoch.",
         epilog=_EXAMPLES)
def ib(
    activations: Annotated[str, typer.Argument(
        metavar="ACTIVATIONS", help="Directory of epoch_<e>/<layer>.npy files, or a manifest CSV (epoch,layer,path).")],
    x_file: Annotated[str, typer.Option("--x", metavar="FILE",
                                        help="Network inputs X (one row per sample).")],
    y_file: Annotated[str, typer.Option("--y", metavar="FILE",
                                        help="Class labels Y (one row per sample).")],
    x_cols: XCols = None,
    y_cols: YCols = None,
    x_compressor: Annotated[str, typer.Option(metavar="NAME",
                                              help="pca, autoencoder or none.")] = "pca",
    t_compressor: Annotated[str, typer.Option(metavar="NAME",
                                              help="pca, autoencoder or none.")] = "pca",
    x_dim: Annotated[int, typer.Option(metavar="D", help="Code dimension of X.", min=1)] = 4,
    t_dim: Annotated[int, typer.Option(metavar="D", help="Code dimension of each layer.",
                                       min=1)] = 4,
    inner: Annotated[str, typer.Option(metavar="NAME",
                                       help="Estimator on the codes: wkl, ksg or knife.")] = "wkl",
    k: Annotated[int, typer.Option("--k", metavar="K", help="Neighbours of the inner estimator.",
                                   min=1)] = 5,
    smoothing: Annotated[int, typer.Option(
        metavar="W", help="Moving-average window over epochs (1 = none).", min=1)] = 1,
    csv_out: Annotated[Optional[str], typer.Option("--csv", metavar="FILE",
                                                   help="Write the table as CSV.")] = None,
    plot: Annotated[Optional[str], typer.Option(
        "--plot", metavar="FILE",
        help="Write the information-plane figure (PNG; needs matplotlib).")] = None,
    unit: Unit = "nats",
    seed: Seed = 0,
    device: Device = "auto",
    json_: Json = False,
    output: Output = None,
    quiet: Quiet = False,
    traceback: Traceback = False,
    fmt: Format = None,
    no_header: NoHeader = False,
) -> None:
    """Information plane: I(X;T) and I(T;Y) per layer and epoch, with error bars.

    --format csv/tsv/jsonl prints one row per (epoch, layer); value is not
    available (the plane has many numbers).
    """
    with _errors(traceback, "ib"):
        from .. import ib as ib_lib

        out_format = _output_format(fmt, json_, False)
        if out_format == "value":
            raise ParameterError("--format value: the information plane has many values; "
                                 "use csv, tsv, jsonl or json")
        _check_unit(unit)
        _check_output(output)
        for name, value, choices in (("--x-compressor", x_compressor, ("pca", "autoencoder", "none")),
                                     ("--t-compressor", t_compressor, ("pca", "autoencoder", "none")),
                                     ("--inner", inner, ("wkl", "ksg", "knife"))):
            if value not in choices:
                raise ParameterError(f"{name} {value!r}: expected one of {', '.join(choices)}")
        inputs = _Inputs()
        x, _, _ = inputs.variable(x_file, x_cols, "--x-cols")
        y, _, _ = inputs.variable(y_file, y_cols, "--y-cols")
        inputs.check_outputs((output, "--output"), (csv_out, "--csv"), (plot, "--plot"),
                             extra=[activations])
        acts = ib_lib.load_activations(activations)
        with _progress(quiet) as progress:
            plane = ib_lib.information_plane(
                x, y, acts, x_compressor=x_compressor, t_compressor=t_compressor, x_dim=x_dim,
                t_dim=t_dim, inner=inner, k=k, smoothing=smoothing, unit=unit, seed=seed,
                device=device, progress=progress)
        if plot:
            ib_lib.plot_information_plane(plane, plot)
        from ..io import write_atomic

        if csv_out:
            import pandas as pd

            rows = pd.DataFrame(plane.to_rows())
            write_atomic(csv_out, "--csv", lambda tmp: rows.to_csv(tmp, index=False))
        text = json.dumps(plane.to_dict(), indent=2)
        if output:
            def save(tmp: str) -> None:
                with open(tmp, "w") as f:
                    f.write(text + "\n")

            write_atomic(output, "--output", save)
        if out_format == "table":
            from .._render import render_plane

            render_plane(plane)
            return
        if out_format == "json":
            sys.stdout.write(text + "\n")
        else:
            from .._render import format_rows

            rows = [{**r, "unit": plane.unit} for r in plane.to_rows()]
            if out_format == "jsonl":
                sys.stdout.write("".join(json.dumps(r) + "\n" for r in rows))
            else:
                columns = ("epoch", "layer", "I_XT", "I_XT_stderr", "I_TY", "I_TY_stderr", "unit")
                sys.stdout.write(format_rows(rows, columns, "," if out_format == "csv" else "\t",
                                             header=not no_header))
        if not quiet:
            for w in plane.warnings:
                typer.echo(f"infocli: warning: {w}", err=True)


