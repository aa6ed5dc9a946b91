"""``infocli entropy``, ``infocli mi`` and ``infocli cmi``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .. import registry
from ..errors import ParameterError
from ._app import command
from ._common import (Check, Device, DiscreteGiven, DiscreteX, DiscreteY, DropNa, Estimator, Format, Given,
                      GivenCols, DropConstant, InputHeader, Json, Model, NoHeader, Output, ParamOpt, PerSample, Quiet,
                      SaveModel, Seed, Traceback, Transform, Unit, Value, XCols, YCols,
                      _check_kw, _check_output, _check_unit, _emit, _errors, _Inputs,
                      _model_options, _output_format, _params, _progress, _save_npy)

_ENTROPY_EXAMPLES = """Examples:

\b
  infocli entropy sample_data/uniform.npy -e kl -p k=5
  infocli entropy sample_data/clusters.csv --x-cols f1,f2 --given-cols label
  H=$(infocli entropy x.npy --value)
"""

_MI_EXAMPLES = """Examples:

\b
  infocli mi sample_data/gaussian_x.npy sample_data/gaussian_y.npy
  infocli mi sample_data/clusters.csv --y-cols label --unit bits
  infocli mi data.csv --x-cols a,b --y-cols c --format csv --no-header >> results.csv
"""

_CMI_EXAMPLES = """Examples:

\b
  infocli cmi sample_data/chain.npz:x sample_data/chain.npz:y --given sample_data/chain.npz:z
  infocli cmi data.csv --x-cols a --y-cols b --given-cols c --json
  infocli cmi data.csv --x-cols a --y-cols b --given-cols group --discrete-given --value
"""


@command(short_help="Differential entropy H(X), or H(X|Z) with --given.",
         epilog=_ENTROPY_EXAMPLES)
def entropy(
    data: Annotated[str, typer.Argument(metavar="X", help="Samples of X (file, file.npz:key or '-').")],
    x_cols: XCols = None,
    discrete_x: DiscreteX = None,
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
        "--spectrum", metavar="FILE", help="With -e dse: also save the eigenvalues used to this "
        ".npy file (written only on success).")] = None,
    fmt: Format = None,
    value: Value = False,
    no_header: NoHeader = False,
    input_header: InputHeader = None,
    dropna: DropNa = False,
    drop_constant: DropConstant = False,
    check: Check = None,
    transform: Transform = "none",
) -> None:
    """Differential entropy H(X); with --given, conditional entropy H(X|Z).

    The default estimator is auto (per-column 1-D entropies plus the joint term
    of the normal scores, the smaller of the Gaussian and the Kozachenko-Leonenko
    value); -e names another (`infocli estimators` lists them; -e kl for plain KL).
    """
    with _errors(traceback, "entropy"):
        from .. import api

        out_format = _output_format(fmt, json_, value)
        _check_unit(unit)
        _check_output(output)
        est = estimator or ("knife" if model else registry.default_for("entropy"))
        params = _model_options(est, _params(est, param), save_model, model, per_sample)
        if spectrum is not None:
            if est != "dse" or given is not None or given_cols is not None:
                raise ParameterError("--spectrum needs -e dse and no --given")
            if params.get("approx"):
                raise ParameterError("--spectrum needs the exact mode: drop approx=true")
            _check_output(spectrum, "--spectrum")
        inputs = _Inputs(header=input_header)
        z = None
        names = {}
        if given is not None or given_cols is not None:
            z, z_idx, names["z"] = inputs.variable(given or data, given_cols, "--given-cols")
            exclude = z_idx if given is None and x_cols is None else None
        else:
            exclude = None
        x, x_idx, names["x"] = inputs.variable(data, x_cols, "--x-cols", exclude=exclude)
        x_mask = inputs.discrete(data, discrete_x, x_idx)
        inputs.check_outputs((output, "--output"), (spectrum, "--spectrum"),
                             (save_model, "--save-model"), (per_sample, "--per-sample"),
                             extra=[model] if model else [])
        with _progress(quiet) as progress:
            if spectrum is not None:
                result, eigenvalues = api.dse_spectrum(
                    x, unit=unit, seed=seed, device=device, progress=progress, names=names,
                    **({"dropna": True} if dropna else {}), **_drop_kw(drop_constant), **_check_kw(check), **params)
            else:
                result = api.entropy(x, given=z, estimator=est, **_discrete_kw(x_mask),
                                     discrete_given=True if discrete_given else None, unit=unit,
                                     seed=seed, device=device, params=params, progress=progress,
                                     names=names, **({"dropna": True} if dropna else {}), **_drop_kw(drop_constant),
                                     **_check_kw(check), **_transform_kw(transform))
        if spectrum is not None:
            _save_npy(spectrum, eigenvalues)
        _emit(result, json_, output, fmt=out_format, header=not no_header, quiet=quiet,
              command="entropy")


@command(short_help="Mutual information I(X;Y).", epilog=_MI_EXAMPLES)
def mi(
    x_file: Annotated[str, typer.Argument(metavar="X", help="Samples of X (or of X and Y).")],
    y_file: Annotated[Optional[str], typer.Argument(
        metavar="[Y]", help="Samples of Y; omit to take --y-cols from X's file.")] = None,
    x_cols: XCols = None,
    y_cols: YCols = None,
    discrete_x: DiscreteX = None,
    discrete_y: DiscreteY = None,
    permutations: Annotated[int, typer.Option(
        "--permutations", metavar="N", help="p-value against N seeded row-shuffles of Y.",
        min=0)] = 0,
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
    fmt: Format = None,
    value: Value = False,
    no_header: NoHeader = False,
    input_header: InputHeader = None,
    dropna: DropNa = False,
    drop_constant: DropConstant = False,
    check: Check = None,
    transform: Transform = "none",
) -> None:
    """Mutual information I(X;Y) between X and Y (Y may be class labels).

    The default estimator is auto (normal scores of every column, then the
    Gaussian-copula and the KSG k-NN estimates combined by one rule; wide
    variables through validated principal components and learned codes; Ross's
    mixed estimator for labels Y; details.auto says what ran); -e names another
    (`infocli estimators` lists them; -e ksg for plain KSG).
    """
    with _errors(traceback, "mi"):
        from .. import api

        out_format = _output_format(fmt, json_, value)
        _check_unit(unit)
        _check_output(output)
        est = estimator or ("knife" if model else registry.default_for("mutual_information"))
        params = _model_options(est, _params(est, param), save_model, model, per_sample)
        inputs = _Inputs(header=input_header)
        names = {}
        if y_file is None and y_cols is None:
            raise ParameterError("mi needs Y: a second file, or --y-cols to take Y from X's file")
        y, y_idx, names["y"] = inputs.variable(y_file or x_file, y_cols, "--y-cols")
        exclude = y_idx if y_file is None and x_cols is None else None
        x, x_idx, names["x"] = inputs.variable(x_file, x_cols, "--x-cols", exclude=exclude)
        x_mask = inputs.discrete(x_file, discrete_x, x_idx)
        inputs.check_outputs((output, "--output"), (save_model, "--save-model"),
                             (per_sample, "--per-sample"), extra=[model] if model else [])
        with _progress(quiet) as progress:
            result = api.mutual_information(
                x, y, estimator=est, discrete_y=discrete_y, **_discrete_kw(x_mask),
                permutations=permutations, unit=unit, seed=seed, device=device, params=params,
                progress=progress, names=names, **({"dropna": True} if dropna else {}), **_drop_kw(drop_constant),
                **_check_kw(check), **_transform_kw(transform))
        _emit(result, json_, output, fmt=out_format, header=not no_header, quiet=quiet,
              command="mi")


@command(short_help="Conditional mutual information I(X;Y|Z).", epilog=_CMI_EXAMPLES)
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
    fmt: Format = None,
    value: Value = False,
    no_header: NoHeader = False,
    input_header: InputHeader = None,
    dropna: DropNa = False,
    drop_constant: DropConstant = False,
    check: Check = None,
    transform: Transform = "none",
) -> None:
    """Conditional mutual information I(X;Y|Z) (Z may be class labels).

    The default estimator is auto (normal scores, then the Gaussian-copula and
    the Frenzel-Pompe k-NN estimates combined by one rule); -e names another
    (`infocli estimators` lists them; -e ksg for plain Frenzel-Pompe).
    """
    with _errors(traceback, "cmi"):
        from .. import api

        out_format = _output_format(fmt, json_, value)
        _check_unit(unit)
        _check_output(output)
        est = estimator or registry.default_for("conditional_mutual_information")
        params = _params(est, param)
        inputs = _Inputs(header=input_header)
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
        inputs.check_outputs((output, "--output"))
        with _progress(quiet) as progress:
            result = api.conditional_mutual_information(
                x, y, z, estimator=est, discrete_given=True if discrete_given else None,
                unit=unit, seed=seed, device=device, params=params, progress=progress,
                names=names, **({"dropna": True} if dropna else {}), **_drop_kw(drop_constant),
                **_check_kw(check), **_transform_kw(transform))
        _emit(result, json_, output, fmt=out_format, header=not no_header, quiet=quiet,
              command="cmi")


def _transform_kw(transform: str) -> dict:
    """``transform=`` for the library call (omitted when none, the library default)."""
    from ..transforms import check

    return {"transform": check(transform)} if transform != "none" else {}


def _drop_kw(drop_constant: bool) -> dict:
    """``drop_constant=True`` for the library call, only when --drop-constant was given."""
    return {"drop_constant": True} if drop_constant else {}


def _discrete_kw(mask) -> dict:
    """``discrete_x=`` for the library call, only when --discrete-x was given."""
    return {} if mask is None else {"discrete_x": mask}
