"""The ``infocli`` command: arguments -> load -> one library call -> render.

Errors from infocli's exception tree become one line on stderr and the exit
code documented in :mod:`infocli.errors`; ``--traceback`` shows the trace.
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Annotated, Any, Iterator, Optional

import typer

from . import registry
from ._version import __version__
from .errors import InfocliError, ParameterError

app = typer.Typer(
    name="infocli",
    help="Estimate differential entropy, conditional entropy and mutual information from data "
    "(.npy, .npz, .parquet, .csv/.tsv or '-' for stdin).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

Estimator = Annotated[Optional[str], typer.Option(
    "--estimator", "-e", help="Estimator name (see `infocli estimators`).")]
ParamOpt = Annotated[Optional[list[str]], typer.Option(
    "--param", "-p", help="Estimator parameter key=value (repeatable).")]
Unit = Annotated[str, typer.Option("--unit", help="nats or bits.")]
Seed = Annotated[int, typer.Option("--seed", help="Seed for every random choice.", min=0)]
Device = Annotated[str, typer.Option("--device", help="auto, cpu, cuda or cuda:N.")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
Output = Annotated[Optional[str], typer.Option(
    "--output", "-o", help="Also write the JSON result to this file.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
Traceback = Annotated[bool, typer.Option("--traceback", help="Show a traceback on errors.")]
XCols = Annotated[Optional[str], typer.Option(
    "--x-cols", help="Columns of X: names, indices or ranges like 0:3 (comma-separated).")]
YCols = Annotated[Optional[str], typer.Option(
    "--y-cols", help="Columns of Y (taken from X's file when Y is not given).")]
Given = Annotated[Optional[str], typer.Option("--given", help="File of the conditioning variable Z.")]
GivenCols = Annotated[Optional[str], typer.Option(
    "--given-cols", help="Columns of Z (from X's file when --given is not given).")]
DiscreteY = Annotated[bool, typer.Option(
    "--discrete-y", help="Treat Y as class labels (string columns are labels automatically).")]
DiscreteGiven = Annotated[bool, typer.Option(
    "--discrete-given", help="Treat Z as class labels (string columns are labels automatically).")]
SaveModel = Annotated[Optional[str], typer.Option(
    "--save-model", help="Write the fitted density and its metadata to FILE (-e knife).")]
Model = Annotated[Optional[str], typer.Option(
    "--model", help="Evaluate a density saved with --save-model on all rows, without "
    "refitting (implies -e knife).")]
PerSample = Annotated[Optional[str], typer.Option(
    "--per-sample", help="Write per-row log-densities (pointwise MI for mi) to OUT.npy; "
    "NaN on rows used for fitting (-e knife).")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"infocli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """infocli: entropy and mutual information estimation."""


@contextlib.contextmanager
def _errors(show_traceback: bool) -> Iterator[None]:
    try:
        yield
    except InfocliError as exc:
        if show_traceback:
            import traceback

            traceback.print_exc()
        # one line, whatever a third-party message embedded; the exit code stays
        # the documented one with or without --traceback
        message = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        typer.echo(f"infocli: error: {message}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("infocli: interrupted", err=True)
        raise typer.Exit(130) from None


class _Inputs:
    """Loads each file once (stdin can only be read once) and picks columns."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    def table(self, spec: str):
        from .io import read_table

        if spec not in self._cache:
            self._cache[spec] = read_table(spec)
        return self._cache[spec]

    def variable(self, spec: str, cols: str | None, option: str, exclude=None):
        from .io import select_columns

        table = self.table(spec)
        data, idx = select_columns(table, cols, exclude=exclude, option=option)
        label = table.source
        if cols is not None or exclude:
            label += "[" + ",".join(table.column_label(j) for j in idx) + "]"
            if table.columns is None and idx != list(range(table.n_columns)):
                # keep the file's column numbers, so that messages about a bad
                # value name its column in the file, not in the selection
                import pandas as pd

                data = pd.DataFrame(data, columns=[str(j) for j in idx], copy=False)
        return data, idx, label


def _progress(quiet: bool):
    """A rich progress callback on stderr, or None when quiet / not a terminal."""
    if quiet or not sys.stderr.isatty():
        return contextlib.nullcontext(None)
    return _RichProgress()


class _RichProgress:
    def __enter__(self):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self._p = Progress(TextColumn("{task.description}"), BarColumn(),
                           TextColumn("{task.completed:.0f}/{task.total:.0f}"),
                           TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self._p.__enter__()
        self._tasks: dict[str, Any] = {}
        return self

    def __call__(self, description: str, completed: float, total: float) -> None:
        # "name | status": one bar per name, the status (e.g. losses) updated in place
        key = description.partition(" | ")[0]
        if key not in self._tasks:
            self._tasks[key] = self._p.add_task(description, total=total)
        self._p.update(self._tasks[key], completed=completed, total=total,
                       description=description)

    def __exit__(self, *exc):
        return self._p.__exit__(*exc)


def _params(estimator: str, items: list[str] | None) -> dict[str, Any]:
    return registry.parse_param_strings(registry.get(estimator), items or [])


def _model_options(estimator: str, params: dict[str, Any], save_model: str | None,
                   model: str | None, per_sample: str | None) -> dict[str, Any]:
    """Map --save-model/--model/--per-sample to the estimator's parameters."""
    given = {"save_model": ("--save-model", save_model), "model": ("--model", model),
             "per_sample": ("--per-sample", per_sample)}
    spec = registry.get(estimator)
    names = {p.name for p in spec.params}
    for key, (option, value) in given.items():
        if value is None:
            continue
        if key not in names:
            raise ParameterError(f"{option} needs an estimator with a fitted model "
                                 f"(-e knife), not -e {estimator}")
        params[key] = value
    return params


def _check_output(output: str | None, option: str = "--output") -> None:
    """Refuse an unwritable --output (or --spectrum) before any work is done."""
    if output:
        from .io import check_writable

        check_writable(output, option)


def _save_npy(path: str, array) -> None:
    """Write an array atomically (np.save adds .npy to names without it)."""
    import numpy as np

    from .io import write_atomic

    if not path.endswith(".npy"):
        path += ".npy"

    def save(tmp: str) -> None:
        with open(tmp, "wb") as f:  # a file object: np.save adds no suffix
            np.save(f, array)

    write_atomic(path, "--spectrum", save)


def _emit(result, as_json: bool, output: str | None) -> None:
    text = result.to_json()
    if output:
        from .io import write_atomic

        def save(tmp: str) -> None:
            with open(tmp, "w") as f:
                f.write(text + "\n")

        write_atomic(output, "--output", save)
    if as_json:
        sys.stdout.write(text + "\n")
    else:
        from ._render import render_estimate

        render_estimate(result)


def _check_unit(unit: str) -> None:
    if unit not in ("nats", "bits"):
        raise ParameterError(f"--unit {unit!r}: expected nats or bits")


@app.command()
def entropy(
    data: Annotated[str, typer.Argument(help="Samples of X (file, file.npz:key or '-').")],
    x_cols: XCols = None,
    given: Given = None,
    given_cols: GivenCols = None,
    discrete_given: DiscreteGiven = False,
    estimator: Estimator = None,
    param: ParamOpt = None,
    unit: Unit = "nats",
    seed: Seed = 0,
    device: Device = "auto",
    json_: Json = False,
    output: Output = None,
    quiet: Quiet = False,
    save_model: SaveModel = None,
    model: Model = None,
    per_sample: PerSample = None,
    traceback: Traceback = False,
    spectrum: Annotated[Optional[str], typer.Option(
        "--spectrum", help="With -e dse: also save the eigenvalues used to this .npy file "
        "(written only on success).")] = None,
) -> None:
    """Differential entropy H(X); with --given, conditional entropy H(X|Z)."""
    with _errors(traceback):
        from . import api

        _check_unit(unit)
        _check_output(output)
        est = estimator or ("knife" if model else "kl")
        params = _model_options(est, _params(est, param), save_model, model, per_sample)
        if spectrum is not None:
            if est != "dse" or given is not None or given_cols is not None:
                raise ParameterError("--spectrum needs -e dse and no --given")
            if params.get("approx"):
                raise ParameterError("--spectrum needs the exact mode: drop approx=true")
            _check_output(spectrum, "--spectrum")
        inputs = _Inputs()
        z = None
        names = {}
        if given is not None or given_cols is not None:
            z, z_idx, names["z"] = inputs.variable(given or data, given_cols, "--given-cols")
            exclude = z_idx if given is None and x_cols is None else None
        else:
            exclude = None
        x, _, names["x"] = inputs.variable(data, x_cols, "--x-cols", exclude=exclude)
        with _progress(quiet) as progress:
            if spectrum is not None:
                result, eigenvalues = api.dse_spectrum(
                    x, unit=unit, seed=seed, device=device, progress=progress, names=names,
                    **params)
            else:
                result = api.entropy(x, given=z, estimator=est,
                                     discrete_given=True if discrete_given else None, unit=unit,
                                     seed=seed, device=device, params=params, progress=progress,
                                     names=names)
        if spectrum is not None:
            _save_npy(spectrum, eigenvalues)
        _emit(result, json_, output)


@app.command()
def mi(
    x_file: Annotated[str, typer.Argument(metavar="X", help="Samples of X (or of X and Y).")],
    y_file: Annotated[Optional[str], typer.Argument(
        metavar="[Y]", help="Samples of Y; omit to take --y-cols from X's file.")] = None,
    x_cols: XCols = None,
    y_cols: YCols = None,
    discrete_y: DiscreteY = False,
    permutations: Annotated[int, typer.Option(
        "--permutations", help="p-value against N seeded row-shuffles of Y.", min=0)] = 0,
    estimator: Estimator = None,
    param: ParamOpt = None,
    unit: Unit = "nats",
    seed: Seed = 0,
    device: Device = "auto",
    json_: Json = False,
    output: Output = None,
    quiet: Quiet = False,
    save_model: SaveModel = None,
    model: Model = None,
    per_sample: PerSample = None,
    traceback: Traceback = False,
) -> None:
    """Mutual information I(X;Y)."""
    with _errors(traceback):
        from . import api

        _check_unit(unit)
        _check_output(output)
        est = estimator or ("knife" if model else "ksg")
        params = _model_options(est, _params(est, param), save_model, model, per_sample)
        inputs = _Inputs()
        names = {}
        if y_file is None and y_cols is None:
            raise ParameterError("mi needs Y: a second file, or --y-cols to take Y from X's file")
        y, y_idx, names["y"] = inputs.variable(y_file or x_file, y_cols, "--y-cols")
        exclude = y_idx if y_file is None and x_cols is None else None
        x, _, names["x"] = inputs.variable(x_file, x_cols, "--x-cols", exclude=exclude)
        with _progress(quiet) as progress:
            result = api.mutual_information(
                x, y, estimator=est, discrete_y=True if discrete_y else None,
                permutations=permutations, unit=unit, seed=seed, device=device, params=params,
                progress=progress, names=names)
        _emit(result, json_, output)


@app.command()
def cmi(
    x_file: Annotated[str, typer.Argument(metavar="X", help="Samples of X (or of X, Y and Z).")],
    y_file: Annotated[Optional[str], typer.Argument(
        metavar="[Y]", help="Samples of Y; omit to take --y-cols from X's file.")] = None,
    x_cols: XCols = None,
    y_cols: YCols = None,
    given: Given = None,
    given_cols: GivenCols = None,
    discrete_given: DiscreteGiven = False,
    estimator: Estimator = None,
    param: ParamOpt = None,
    unit: Unit = "nats",
    seed: Seed = 0,
    device: Device = "auto",
    json_: Json = False,
    output: Output = None,
    quiet: Quiet = False,
    traceback: Traceback = False,
) -> None:
    """Conditional mutual information I(X;Y|Z)."""
    with _errors(traceback):
        from . import api

        _check_unit(unit)
        _check_output(output)
        est = estimator or "ksg"
        params = _params(est, param)
        inputs = _Inputs()
        names = {}
        if y_file is None and y_cols is None:
            raise ParameterError("cmi needs Y: a second file, or --y-cols to take Y from X's file")
        if given is None and given_cols is None:
            raise ParameterError("cmi needs Z: --given FILE, or --given-cols to take Z from X's file")
        y, y_idx, names["y"] = inputs.variable(y_file or x_file, y_cols, "--y-cols")
        z, z_idx, names["z"] = inputs.variable(given or x_file, given_cols, "--given-cols")
        exclude = [*(y_idx if y_file is None else []), *(z_idx if given is None else [])]
        x, _, names["x"] = inputs.variable(x_file, x_cols, "--x-cols",
                                           exclude=exclude if x_cols is None else None)
        with _progress(quiet) as progress:
            result = api.conditional_mutual_information(
                x, y, z, estimator=est, discrete_given=True if discrete_given else None,
                unit=unit, seed=seed, device=device, params=params, progress=progress,
                names=names)
        _emit(result, json_, output)


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
        from . import ib as ib_lib

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
            from ._render import render_plane

            render_plane(plane)


@app.command()
def estimators(
    json_: Json = False,
    traceback: Traceback = False,
) -> None:
    """List every registered estimator, its measures, inputs, devices and parameters."""
    with _errors(traceback):
        specs = registry.all_specs()
        if json_:
            rows = [{
                "name": s.name, "summary": s.summary, "measures": list(s.measures),
                "discrete_labels": list(s.discrete), "devices": list(s.devices),
                "params": {p.name: {"default": p.default, "doc": p.doc,
                                    "choices": list(p.choices) if p.choices else None}
                           for p in s.params},
                "reference": s.reference,
            } for s in specs]
            sys.stdout.write(json.dumps(rows, indent=2) + "\n")
            return
        from ._render import render_estimators

        render_estimators(specs)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
