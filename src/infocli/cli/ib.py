"""``infocli ib``: the information plane."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Optional

import typer

from ..errors import InputError, ParameterError
from ._app import command
from ._common import (Device, InputHeader, Json, NoHeader, Quiet, Seed, Traceback, Unit, _check_output,
                      _check_unit, _deprecated, _errors, _file_format, _Inputs, _output_format,
                      _progress)

_EXAMPLES = """Examples:

\b
  infocli ib runs/activations --x inputs.npy --y labels.npy
  infocli ib manifest.csv --x inputs.npy --y labels.npy --plot plane.png
  infocli ib runs/activations --x inputs.npy --y labels.npy --format csv > plane.csv
  infocli ib runs/records.jsonl --plot plane.png      # a Tracker's records
"""


@command(short_help="Information plane: I(X;T), I(T;Y) per layer and epoch.",
         epilog=_EXAMPLES)
def ib(
    activations: Annotated[str, typer.Argument(
        metavar="ACTIVATIONS", help="Directory of epoch_<e>/<layer>.npy files, a manifest "
        "CSV (epoch,layer,path), or a file of infocli.torch.Tracker records (.jsonl, or .csv "
        "with a measure column: plotted as they are, no --x/--y).")],
    x_file: Annotated[Optional[str], typer.Option(
        "--x", metavar="FILE", help="Network inputs X (one row per sample); needed for "
        "activations.")] = None,
    y_file: Annotated[Optional[str], typer.Option(
        "--y", metavar="FILE", help="Class labels Y (one row per sample); needed for "
        "activations.")] = None,
    x_measure: Annotated[str, typer.Option(
        metavar="NAME", help="Tracker records: the measure read as I(X;T).")] = "mi_x_noisy",
    y_measure: Annotated[str, typer.Option(
        metavar="NAME", help="Tracker records: the measure read as I(T;Y).")] = "mi_y_noisy",
    x_cols: Annotated[Optional[str], typer.Option(
        "--x-cols", metavar="COLS", help="Columns of X in the --x file: names, indices or "
        "ranges like 0:3 (comma-separated; default: all).")] = None,
    y_cols: Annotated[Optional[str], typer.Option(
        "--y-cols", metavar="COLS", help="Column of the labels in the --y file (default: "
        "all).")] = None,
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
    csv_out: Annotated[Optional[str], typer.Option("--csv", metavar="FILE", hidden=True,
                                                   help="Deprecated: -o FILE.csv.")] = None,
    plot: Annotated[Optional[str], typer.Option(
        "--plot", metavar="FILE",
        help="Write the information-plane figure (PNG; needs matplotlib).")] = None,
    unit: Unit = "nats",
    seed: Seed = 0,
    device: Device = "auto",
    json_: Json = False,
    output: Annotated[Optional[str], typer.Option(
        "--output", "-o", metavar="FILE", help="Also write the plane to FILE: one row per "
        "(epoch, layer) when its name ends in .csv, .tsv or .jsonl, else JSON.")] = None,
    quiet: Quiet = False,
    traceback: Traceback = False,
    fmt: Annotated[Optional[str], typer.Option(
        "--format", "-f", metavar="FORMAT", help="Output on stdout: table (default), json, "
        "jsonl, csv or tsv (one row per epoch and layer).")] = None,
    no_header: NoHeader = False,
    input_header: InputHeader = None,
) -> None:
    """Information plane: I(X;T) and I(T;Y) per layer and epoch, with error bars.

    --format csv/tsv/jsonl prints one row per (epoch, layer).
    """
    with _errors(traceback, "ib"):
        from .. import ib as ib_lib

        if fmt == "value":
            raise ParameterError("--format value: the information plane has many values; "
                                 "use csv, tsv, jsonl or json")
        out_format = _output_format(fmt, json_, False)
        if csv_out:
            _deprecated("--csv FILE", "-o FILE (a name ending in .csv)")
        _check_unit(unit)
        _check_output(output)
        for name, value, choices in (("--x-compressor", x_compressor, ("pca", "autoencoder", "none")),
                                     ("--t-compressor", t_compressor, ("pca", "autoencoder", "none")),
                                     ("--inner", inner, ("wkl", "ksg", "knife"))):
            if value not in choices:
                raise ParameterError(f"{name} {value!r}: expected one of {', '.join(choices)}")
        inputs = _Inputs(header=input_header, quiet=quiet)
        if not os.path.exists(activations):
            raise InputError(f"{activations}: no such file or directory; expected the "
                             "activations (a directory or manifest) or a Tracker's records file")
        if ib_lib.is_records_file(activations):
            inputs.check_outputs((output, "--output"), (csv_out, "--csv"), (plot, "--plot"),
                                 extra=[activations])
            plane = ib_lib.plane_from_records(activations, x_measure=x_measure,
                                              y_measure=y_measure, unit=unit,
                                              smoothing=smoothing)
        else:
            if x_file is None or y_file is None:
                raise ParameterError(f"{activations}: activations need the network inputs and "
                                     "the labels: pass --x FILE and --y FILE")
            x, _, _ = inputs.variable(x_file, x_cols, "--x-cols")
            y, _, _ = inputs.variable(y_file, y_cols, "--y-cols")
            inputs.check_outputs((output, "--output"), (csv_out, "--csv"), (plot, "--plot"),
                                 extra=[activations])
            acts = ib_lib.load_activations(activations)
            with _progress(quiet) as progress:
                plane = ib_lib.information_plane(
                    x, y, acts, x_compressor=x_compressor, t_compressor=t_compressor,
                    x_dim=x_dim, t_dim=t_dim, inner=inner, k=k, smoothing=smoothing,
                    unit=unit, seed=seed, device=device, progress=progress)
        if plot:
            ib_lib.plot_information_plane(plane, plot)
        from ..io import write_atomic, write_text_atomic

        if csv_out:
            import pandas as pd

            rows = pd.DataFrame(plane.to_rows())
            write_atomic(csv_out, "--csv", lambda tmp: rows.to_csv(tmp, index=False))
        text = json.dumps(plane.to_dict(), indent=2)
        if output:
            file_fmt = _file_format(output)
            write_text_atomic(output, "--output", text + "\n" if file_fmt == "json"
                              else _plane_rows(plane, file_fmt))
        if out_format == "table":
            from .._render import render_plane

            render_plane(plane)
            return
        if out_format == "json":
            sys.stdout.write(text + "\n")
        else:
            sys.stdout.write(_plane_rows(plane, out_format, header=not no_header))
        if not quiet:
            for w in plane.warnings:
                typer.echo(f"infocli: warning: {w}", err=True)




def _plane_rows(plane, fmt: str, header: bool = True) -> str:
    """The plane as rows (one per epoch and layer): jsonl, csv or tsv."""
    from .._render import format_rows

    rows = [{**r, "unit": plane.unit} for r in plane.to_rows()]
    if fmt == "jsonl":
        return "".join(json.dumps(r) + "\n" for r in rows)
    columns = ("epoch", "layer", "I_XT", "I_XT_stderr", "I_TY", "I_TY_stderr", "unit")
    return format_rows(rows, columns, "," if fmt == "csv" else "\t", header=header)
