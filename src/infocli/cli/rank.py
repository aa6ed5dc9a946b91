"""``infocli rank``: every feature of a table against a target, sorted by MI."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from ..errors import ParameterError
from ._app import command
from ._common import (Check, DiscreteX, DiscreteY, DropConstant, Estimator, InputHeader, Json,
                      Output, ParamOpt, Quiet, Seed, Traceback, Unit, _check_output,
                      _check_unit, _deprecated, _errors, _file_format, _Inputs, _params)

_EXAMPLES = """Examples:

\b
  infocli rank data.csv --target y
  infocli rank data.csv --target label --features p20:p29,age --format csv
  infocli rank data.csv --target y --groups 'shape=w,h;colour=r:b' --json -o ranks.csv
"""

RANK_FORMATS = ("table", "csv", "tsv", "json")


@command(short_help="Every feature against a target, sorted by MI (BH-adjusted p-values).",
         epilog=_EXAMPLES)
def rank(
    data: Annotated[str, typer.Argument(metavar="DATA", help="Table of samples (file or '-').")],
    target: Annotated[str, typer.Option("--target", "-t", metavar="COL",
                                        help="The target column (name or index).")],
    features: Annotated[Optional[str], typer.Option(
        "--features", metavar="COLS", help="Feature columns: names, indices, ranges 0:3 or "
        "name ranges p20:p29 (default: every other column).")] = None,
    groups: Annotated[Optional[str], typer.Option(
        "--groups", metavar="GROUPS", help="Named column groups as features: "
        "'a=x1,x2;b=p20:p29'.")] = None,
    discrete_x: DiscreteX = None,
    discrete_y: DiscreteY = None,
    permutations: Annotated[int, typer.Option(
        "--permutations", metavar="N", help="Row-shuffles of the target per p-value (0: none).",
        min=0)] = 99,
    alpha: Annotated[float, typer.Option(
        "--alpha", metavar="Q", help="False-discovery rate of the verdict (Benjamini-Hochberg).")
    ] = 0.05,
    estimator: Estimator = None,
    param: ParamOpt = None,
    check: Check = None,
    unit: Unit = "nats",
    seed: Seed = 0,
    input_header: InputHeader = None,
    old_header: Annotated[Optional[bool], typer.Option(
        "--header/--no-header", hidden=True,
        help="Deprecated: --input-header/--no-input-header.")] = None,
    drop_constant: DropConstant = False,
    jobs: Annotated[Optional[int], typer.Option(
        "--jobs", "-j", metavar="N", help="Threads over features (default: all cores).",
        min=1)] = None,
    fmt: Annotated[Optional[str], typer.Option(
        "--format", "-f", metavar="FORMAT", help="Output on stdout: table (default), csv, "
        "tsv or json.", show_default=False)] = None,
    as_json: Json = False,
    output: Output = None,
    quiet: Quiet = False,
    traceback: Traceback = False,
) -> None:
    """Mutual information of every feature (column or named group) with the target.

    A table sorted by MI, with each value's interval, its permutation p-value, the
    Benjamini-Hochberg adjusted p-value and a verdict (informative at --alpha).
    Continuous columns without ties share one permutation null under -e auto.
    """
    with _errors(traceback, "mi"):
        from .. import screening
        from ..io import select_columns

        _check_unit(unit)
        if fmt is not None and fmt not in RANK_FORMATS:
            raise ParameterError(f"--format {fmt!r}: expected one of {', '.join(RANK_FORMATS)}")
        if as_json and fmt not in (None, "json"):
            raise ParameterError(f"--format {fmt} and --json: choose one output format")
        fmt = "json" if as_json else (fmt or "table")
        _check_output(output)
        if groups is not None and features is not None:
            raise ParameterError("give --features or --groups, not both")
        est = estimator or "auto"
        params = _params(est, param)
        if old_header is not None:
            old = "--header" if old_header else "--no-header"
            _deprecated(f"{old} (the input's first row)",
                        "--input-header" if old_header else "--no-input-header")
            if input_header is not None and input_header != old_header:
                raise ParameterError(f"{old} and --{'' if input_header else 'no-'}input-header "
                                     "disagree; give --input-header/--no-input-header only")
            input_header = old_header
        inputs = _Inputs(header=input_header, quiet=quiet)
        table = inputs.table(data)
        y, y_idx, y_label = inputs.variable(data, target, "--target")
        if len(y_idx) != 1:
            raise ParameterError(f"--target {target!r}: expected one column, got {len(y_idx)}")
        if groups is not None:
            x, x_idx = select_columns(table, None, exclude=y_idx, option="--groups")
        else:
            x, x_idx, _ = inputs.variable(data, features, "--features",
                                          exclude=y_idx if features is None else None)
        if y_idx[0] in x_idx:
            raise ParameterError(f"--features: includes the target column "
                                 f"{table.column_label(y_idx[0])}")
        names = [table.column_label(j) for j in x_idx]
        mask = inputs.discrete(data, discrete_x, x_idx)
        inputs.check_outputs((output, "--output"))
        result = screening.rank_features(
            x, y, groups=groups, discrete_features=mask, discrete_target=discrete_y,
            estimator=est, permutations=permutations, alpha=alpha,
            check=check or "off", unit=unit, seed=seed, n_jobs=jobs, names=names,
            target_name=table.column_label(y_idx[0]), params=params,
            drop_constant=drop_constant)
        from .._render import format_rank, render_rank

        if output:
            from ..io import write_text_atomic

            write_text_atomic(output, "--output",
                              format_rank(result, _file_format(output, ("csv", "tsv"))))
        if fmt == "table":
            render_rank(result)
            for note in result.notes:
                typer.echo(f"infocli: warning: {note}", err=True)
        else:
            from .._display import fold_warnings

            sys.stdout.write(format_rank(result, fmt))
            if not quiet:
                for note in result.notes:
                    typer.echo(f"infocli: warning: {note}", err=True)
                per_feature = [f"{r['feature']}: {w}" for r in result.rows for w in r["warnings"]]
                for w in fold_warnings(per_feature):
                    typer.echo(f"infocli: warning: {w}", err=True)
