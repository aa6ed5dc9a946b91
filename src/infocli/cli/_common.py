"""Shared pieces of the command modules: option types, error handling, input
loading, progress and output. No command lives here."""

from __future__ import annotations

import contextlib
import sys
from typing import Annotated, Any, Iterator, Optional

import typer

from .. import registry
from ..errors import InfocliError, ParameterError

Estimator = Annotated[Optional[str], typer.Option(
    "--estimator", "-e", metavar="NAME", help="Estimator name (see `infocli estimators`).")]
ParamOpt = Annotated[Optional[list[str]], typer.Option(
    "--param", "-p", metavar="KEY=VALUE", help="Estimator parameter (repeatable), e.g. -p k=5.")]
Unit = Annotated[str, typer.Option("--unit", metavar="UNIT", help="nats or bits.")]
Seed = Annotated[int, typer.Option("--seed", metavar="N", help="Seed for every random choice.", min=0)]
Device = Annotated[str, typer.Option("--device", metavar="DEVICE", help="auto, cpu, cuda or cuda:N.")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout (short for --format json).")]
Output = Annotated[Optional[str], typer.Option(
    "--output", "-o", metavar="FILE", help="Also write the result to FILE: CSV, TSV or JSON "
    "Lines when its name ends in .csv, .tsv or .jsonl, else JSON.")]
Quiet = Annotated[bool, typer.Option(
    "--quiet", "-q", help="No progress (a bar on a terminal, a line every 10 s elsewhere), "
    "and no warnings on stderr with a machine format.")]
Traceback = Annotated[bool, typer.Option("--traceback", help="Show a traceback on errors.")]
XCols = Annotated[Optional[str], typer.Option(
    "--x-cols", metavar="COLS", help="Columns of X: names, indices or ranges like 0:3 (comma-separated).")]
YCols = Annotated[Optional[str], typer.Option(
    "--y-cols", metavar="COLS", help="Columns of Y (taken from X's file when Y is not given).")]
Given = Annotated[Optional[str], typer.Option("--given", metavar="FILE", help="File of the conditioning variable Z.")]
GivenCols = Annotated[Optional[str], typer.Option(
    "--given-cols", metavar="COLS", help="Columns of Z (from X's file when --given is not given).")]
DiscreteY = Annotated[Optional[bool], typer.Option(
    "--discrete-y/--continuous-y", help="Treat Y as class labels, or as continuous (default: "
    "text columns are labels; under -e auto so are integer columns with few levels, with a "
    "warning).", show_default=False)]
DiscreteX = Annotated[Optional[str], typer.Option(
    "--discrete-x", metavar="COLS", help="Discrete columns of X (names, indices or ranges, as "
    "--x-cols), or all / none (default: detected under -e auto, with a warning).")]
DiscreteGiven = Annotated[bool, typer.Option(
    "--discrete-given", help="Treat Z as class labels (string columns are labels automatically).")]
SaveModel = Annotated[Optional[str], typer.Option(
    "--save-model", metavar="FILE", help="Write the fitted density and its metadata to FILE (-e knife).")]
Model = Annotated[Optional[str], typer.Option(
    "--model", metavar="FILE", help="Evaluate a density saved with --save-model on all rows, without "
    "refitting (implies -e knife).")]
PerSample = Annotated[Optional[str], typer.Option(
    "--per-sample", metavar="FILE", help="Write per-row log-densities (pointwise MI for mi) to FILE (.npy); "
    "NaN on rows used for fitting (-e knife).")]
Transform = Annotated[str, typer.Option(
    "--transform", metavar="METHOD", help="none, rank or copula: map each continuous column to uniform or "
    "normal scores first (average ranks; labels untouched). MI/CMI are invariant to it; "
    "entropy uses h(X) = sum h(X_i) + h(T(X)) - sum h(T_i(X_i)).")]

# --- options added for shell-friendly output and missing values (issue 17) ---------------
FORMATS = ("table", "json", "jsonl", "csv", "tsv", "value")
Format = Annotated[Optional[str], typer.Option(
    "--format", "-f", metavar="FORMAT",
    help="Output on stdout: table (default), json, jsonl (one line), csv, tsv (a header "
    "row, then one row) or value (the number only).")]
Value = Annotated[bool, typer.Option(
    "--value", help="Print only the estimate, as one number (same as --format value).")]
NoHeader = Annotated[bool, typer.Option(
    "--no-header", help="With --format csv/tsv: no header row (to append to a file in a loop).")]
InputHeader = Annotated[Optional[bool], typer.Option(
    "--input-header/--no-input-header", help="CSV/TSV input: its first row names the "
    "columns, or is data (default: detected; a first row 0,1,2,... is taken as names, with "
    "a warning).", show_default=False)]
DropConstant = Annotated[bool, typer.Option(
    "--drop-constant", help="Leave out constant columns of the selected ones (named in one "
    "warning) instead of refusing them in one error that names them all.")]
DropNa = Annotated[bool, typer.Option(
    "--dropna", help="Drop rows with NaN/inf in any selected column (X, Y, Z jointly) instead "
    "of failing; the result says how many.")]


#: How each command words a library hint (errors.Hint): (kind, var) -> text.
_CLI_HINTS: dict[str, dict[tuple[str, str], str]] = {
    "entropy": {
        ("labels", "z"): "pass --discrete-given to use it as class labels",
        ("continuous", "x"): "pass --discrete-x none to treat it as continuous",
        ("not_labels", "x"): "select numeric columns with --x-cols, or condition on a label "
                             "column with --given-cols {column}",
        ("not_labels", "z"): "pass --discrete-given to use it as class labels",
    },
    "mi": {
        ("labels", "y"): "pass --discrete-y to use it as class labels",
        ("continuous", "y"): "pass --continuous-y to treat it as continuous",
        ("continuous", "x"): "pass --discrete-x none to treat it as continuous, or "
                             "--discrete-x COLS to name the discrete columns",
        ("not_labels", "x"): "select numeric columns with --x-cols; a label column can be Y "
                             "(--y-cols {column})",
    },
    "cmi": {
        ("labels", "z"): "pass --discrete-given to use it as class labels",
        ("not_labels", "x"): "select numeric columns with --x-cols; a label column can be Z "
                             "(--given-cols {column} --discrete-given)",
        ("not_labels", "y"): "select numeric columns with --y-cols; a label column can be Z "
                             "(--given-cols {column} --discrete-given)",
    },
}
_DROPNA_HINT = "drop or impute those rows first, or pass --dropna to drop them"
_DROP_CONSTANT_HINT = "drop them, or pass --drop-constant to leave them out"


def _cli_hint(hint, command: str | None) -> str | None:
    """The command's wording of a library hint, or None when it has none."""
    if hint is None:
        return None
    if hint.kind == "drop_constant":  # every command that reads columns has the option
        return _DROP_CONSTANT_HINT
    if command is None:
        return None
    if hint.kind == "dropna":
        return _DROPNA_HINT if command in _CLI_HINTS else "drop or impute those rows first"
    text = _CLI_HINTS.get(command, {}).get((hint.kind, hint.var))
    if text is None:
        return None
    return text.format(column=hint.column if hint.column is not None else "COLUMN")


def _error_text(exc: InfocliError, command: str | None) -> str:
    hint = getattr(exc, "hint", None)
    cli = _cli_hint(hint, command)
    if hint is not None and (command is not None or hint.kind == "drop_constant"):
        # never show the Python API's wording on the command line
        return f"{exc.message}; {cli}" if cli else exc.message
    return str(exc)


def _cli_warnings(result, command: str | None):
    """The result with each hinted warning reworded for ``command``'s options."""
    hints = result.details.get("hints") or []
    if not hints or command is None:
        return result
    from dataclasses import replace

    from ..errors import Hint

    warnings = list(result.warnings)
    for h in hints:
        hint = Hint(h["kind"], h["var"], h.get("column"))
        cli = _cli_hint(hint, command)
        suffix = f"; {hint.api_text()}"
        for i, w in enumerate(warnings):
            if w.endswith(suffix):
                warnings[i] = w[: -len(suffix)] + (f"; {cli}" if cli else "")
    return replace(result, warnings=tuple(warnings))


def _output_format(fmt: str | None, as_json: bool, value_only: bool) -> str:
    """One output format from --format, --json and --value (conflicts are usage errors)."""
    if fmt is not None and fmt not in FORMATS:
        raise ParameterError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    given = [(f"--format {fmt}", fmt)] if fmt is not None else []
    given += [(opt, f) for opt, f, on in (("--json", "json", as_json),
                                          ("--value", "value", value_only)) if on]
    formats = {f for _, f in given}
    if len(formats) > 1:
        raise ParameterError(" and ".join(opt for opt, _ in given)
                             + ": choose one output format")
    return formats.pop() if formats else "table"


Check = Annotated[Optional[str], typer.Option(
    "--check", metavar="LEVEL", help="Reliability check: off, fast (default; kNN and gaussian: at most ~5x "
    "one estimate) or full (more subsamples, k vs 2k, subsamples for fitted estimators). "
    "Gives the interval and the reliable verdict.")]


def _check_kw(check: str | None) -> dict[str, Any]:
    """``check=`` for the library call, only when --check was given."""
    return {} if check is None else {"check": check}


@contextlib.contextmanager
def _errors(show_traceback: bool, command: str | None = None) -> Iterator[None]:
    """Turn infocli's errors into one line on stderr and the documented exit code;
    hints are worded with the options of ``command``."""
    try:
        yield
    except InfocliError as exc:
        if show_traceback:
            import traceback

            traceback.print_exc()
        # one line, whatever a third-party message embedded; the exit code stays
        # the documented one with or without --traceback
        text = _error_text(exc, command)
        message = " ".join(line.strip() for line in text.splitlines() if line.strip())
        typer.echo(f"infocli: error: {message}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("infocli: interrupted", err=True)
        raise typer.Exit(130) from None


class _Inputs:
    """Loads each file once (stdin can only be read once) and picks columns."""

    def __init__(self, header: bool | None = None, quiet: bool = False) -> None:
        self._cache: dict[str, Any] = {}
        self._header = header
        self._quiet = quiet

    def table(self, spec: str):
        from ..io import read_table

        if spec not in self._cache:
            self._cache[spec] = read_table(spec, header=self._header)
            if not self._quiet:
                for note in self._cache[spec].notes:
                    typer.echo(f"infocli: warning: {note}", err=True)
        return self._cache[spec]

    def check_outputs(self, *outputs: tuple[str | None, str], extra=()) -> None:
        """Refuse an output (path, option) that is one of the files loaded (or ``extra``)."""
        from ..io import check_not_input

        for path, option in outputs:
            check_not_input(path, option, [*self._cache, *extra])

    def discrete(self, spec: str, given: str | None, idx: list[int], option: str = "--discrete-x"):
        """``--discrete-x COLS`` as the library's ``discrete_x``: True/False for all/none,
        else a boolean mask over the selected columns ``idx`` (None when not given)."""
        if given is None:
            return None
        word = given.strip().lower()
        if word in ("all", "none"):
            return word == "all"
        from ..io import select_columns

        _, chosen = select_columns(self.table(spec), given, option=option)
        outside = [j for j in chosen if j not in idx]
        if outside:
            raise ParameterError(f"{option} {given!r}: column "
                                 f"{self.table(spec).column_label(outside[0])} is not one of "
                                 "the selected columns of X")
        return [j in chosen for j in idx]

    def variable(self, spec: str, cols: str | None, option: str, exclude=None):
        from ..io import select_columns

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
    """A progress callback on stderr: a rich bar on a terminal, plain lines every
    ~10 s elsewhere (:class:`_PlainProgress`), None with ``quiet``."""
    if quiet:
        return contextlib.nullcontext(None)
    if not sys.stderr.isatty():
        return _PlainProgress()
    return _RichProgress()


def _clock(seconds: float) -> str:
    """``0:42``, ``12:05`` or ``1:02:03``."""
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class _PlainProgress:
    """Progress off a terminal (a CI log, ``nohup``, a notebook cell): one plain line
    on stderr every ``INFOCLI_PROGRESS_SECONDS`` (default 10) seconds while the work
    lasts, as pip and rsync do - ``infocli: runs 12/40, 0:30 elapsed, ETA 1:10``.
    Work shorter than that prints nothing. Called as ``(description, done, total)``."""

    def __init__(self, interval: float | None = None):
        import os

        if interval is None:
            try:
                interval = float(os.environ.get("INFOCLI_PROGRESS_SECONDS", "10"))
            except ValueError:
                interval = 10.0
        self.interval = max(0.05, interval)
        self._state: tuple[str, float, float] | None = None

    def __enter__(self):
        import threading
        import time

        self._time = time.monotonic
        self._start = self._time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="infocli-progress", daemon=True)
        self._thread.start()
        return self

    def __call__(self, description: str, completed: float, total: float) -> None:
        self._state = (description.partition(" | ")[0], completed, total)

    def line(self) -> str | None:
        """The progress line, or None before the work has reported anything."""
        if self._state is None:
            return None
        elapsed = self._time() - self._start
        what, done, total = self._state
        text = f"infocli: {what} {done:.0f}/{total:.0f}, {_clock(elapsed)} elapsed"
        if 0 < done < total:
            text += f", ETA {_clock(elapsed * (total - done) / done)}"
        return text

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            text = self.line()
            if text is None:
                continue
            try:
                sys.stderr.write(text + "\n")
                sys.stderr.flush()
            except (OSError, ValueError):  # stderr closed
                return

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        return False


class _PlainBatchProgress(_PlainProgress):
    """:class:`_PlainProgress` for batch's ``(done, failed, running, total)`` calls."""

    def __call__(self, done: int, failed: int, running: int, total: int) -> None:  # type: ignore[override]
        self._state = (f"jobs ({failed} failed, {running} running)", done + failed, total)


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
        from ..io import check_writable

        check_writable(output, option)


def _save_npy(path: str, array) -> None:
    """Write an array atomically (np.save adds .npy to names without it)."""
    import numpy as np

    from ..io import write_atomic

    if not path.endswith(".npy"):
        path += ".npy"

    def save(tmp: str) -> None:
        with open(tmp, "wb") as f:  # a file object: np.save adds no suffix
            np.save(f, array)

    write_atomic(path, "--spectrum", save)


def _emit(result, as_json: bool, output: str | None, *, fmt: str | None = None,
          header: bool = True, quiet: bool = False, command: str | None = None) -> None:
    """Write the result: ``--output`` gets the JSON record; stdout gets ``fmt``
    (or JSON with ``as_json``, else the table). With any format but the table,
    each warning also goes to stderr as one line (unless ``quiet``)."""
    result = _cli_warnings(result, command)
    fmt = fmt or ("json" if as_json else "table")
    if output:
        from .._render import format_estimate
        from ..io import write_text_atomic

        file_fmt = _file_format(output)
        write_text_atomic(output, "--output", result.to_json() + "\n" if file_fmt == "json"
                          else format_estimate(result, file_fmt))
    if fmt == "table":
        from .._render import render_estimate

        render_estimate(result)
        return
    from .._render import format_estimate

    sys.stdout.write(format_estimate(result, fmt, header=header))
    sys.stdout.flush()
    if not quiet:
        from .._display import fold_warnings

        for w in fold_warnings(result.warnings):
            typer.echo(f"infocli: warning: {w}", err=True)


def _file_format(path: str, allowed: tuple[str, ...] = ("csv", "tsv", "jsonl")) -> str:
    """The format of an ``-o FILE``: its extension when one of ``allowed``, else json."""
    import os

    ext = os.path.splitext(path)[1].lower().lstrip(".")
    return ext if ext in allowed else "json"


def _deprecated(old: str, new: str) -> None:
    """One line on stderr for an old option spelling, kept working for one release."""
    typer.echo(f"infocli: warning: {old} is deprecated and goes in the next release; "
               f"use {new}", err=True)


def _check_unit(unit: str) -> None:
    if unit not in ("nats", "bits"):
        raise ParameterError(f"--unit {unit!r}: expected nats or bits")


