"""``infocli ib``: the information plane."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer

from ..errors import ParameterError
from ._app import app
from ._common import (Device, Json, Output, Quiet, Seed, Traceback, Unit, XCols, YCols,
                      _check_output, _check_unit, _errors, _Inputs, _progress)


@app.command()
def ib(
    activations: Annotated[str, typer.Argument(
        help="Directory of epoch_<e>/<layer>.npy files, or a manifest CSV (epoch,layer,path).")],
    x_file: Annotated[str, typer.Option("--x", help="Network inputs X (one row per sample).")],
    y_file: Annotated[str, typer.Option("--y", help="Class labels Y (one row per sample).")],
    x_cols: XCols = None,
    y_cols: YCols = None,
    x_compressor: Annotated[str, typer.Option(help="pca, autoencoder or none.")] = "pca",
    t_compressor: Annotated[str, typer.Option(help="pca, autoencoder or none.")] = "pca",
    x_dim: Annotated[int, typer.Option(help="Code dimension of X.", min=1)] = 4,
    t_dim: Annotated[int, typer.Option(help="Code dimension of each layer.", min=1)] = 4,
    inner: Annotated[str, typer.Option(help="Estimator on the codes: wkl, ksg or knife.")] = "wkl",
    k: Annotated[int, typer.Option("--k", help="Neighbours of the inner estimator.", min=1)] = 5,
    smoothing: Annotated[int, typer.Option(
        help="Moving-average window over epochs (1 = none).", min=1)] = 1,
    csv_out: Annotated[Optional[str], typer.Option("--csv", help="Write the table as CSV.")] = None,
    plot: Annotated[Optional[str], typer.Option(
        "--plot", help="Write the information-plane figure (PNG; needs matplotlib).")] = None,
    unit: Unit = "nats",
    seed: Seed = 0,
    device: Device = "auto",
    json_: Json = False,
    output: Output = None,
    quiet: Quiet = False,
    traceback: Traceback = False,
) -> None:
    """Information plane: I(X;T) and I(T;Y) per layer and epoch, with error bars."""
    with _errors(traceback):
        from .. import ib as ib_lib

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
        acts = ib_lib.load_activations(activations)
        with _progress(quiet) as progress:
            plane = ib_lib.information_plane(
                x, y, acts, x_compressor=x_compressor, t_compressor=t_compressor, x_dim=x_dim,
                t_dim=t_dim, inner=inner, k=k, smoothing=smoothing, unit=unit, seed=seed,
                device=device, progress=progress)
        if plot:
            ib_lib.plot_information_plane(plane, plot)
        if csv_out:
            import pandas as pd

            pd.DataFrame(plane.to_rows()).to_csv(csv_out, index=False)
        text = json.dumps(plane.to_dict(), indent=2)
        if output:
            with open(output, "w") as f:
                f.write(text + "\n")
        if json_:
            sys.stdout.write(text + "\n")
        else:
            from .._render import render_plane

            render_plane(plane)


