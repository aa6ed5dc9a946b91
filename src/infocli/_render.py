"""Rich rendering of results for the terminal (CLI side only)."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table

_MEASURE = {
    "entropy": "H(X)",
    "conditional_entropy": "H(X|Z)",
    "mutual_information": "I(X;Y)",
    "conditional_mutual_information": "I(X;Y|Z)",
}


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def _decimals(scale: float | None) -> int | None:
    """Decimals that show ``scale`` (an error bar) with two significant digits."""
    if scale is None or not math.isfinite(scale) or scale <= 0:
        return None
    return max(0, 1 - math.floor(math.log10(scale)))


def _rounded(v: float, decimals: int | None) -> str:
    return _fmt(v) if decimals is None else f"{v:.{decimals}f}"


def _interval_text(result) -> str | None:
    if result.interval is None:
        return None
    lo, hi = result.interval
    if lo is None and hi is None:
        return "unknown"
    if lo is not None and hi is not None:
        half = (hi - lo) / 2
        d = None if half <= 0 else max(0, -math.floor(math.log10(half)))
        return f"[{_rounded(lo, d)}, {_rounded(hi, d)}]"
    bound = lo if lo is not None else hi
    d = _decimals(result.stderr)
    return (f"at least {_rounded(bound, d)}" if hi is None else f"at most {_rounded(bound, d)}")


def render_estimate(result, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"{_MEASURE[result.measure]} - {result.estimator}", show_header=False,
                  title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    d = _decimals(result.stderr)
    value = _rounded(result.value, d)
    if result.stderr is not None:
        value += f" ± {_rounded(result.stderr, d)}"
    table.add_row("estimate", f"{value} {result.unit}")
    interval = _interval_text(result)
    if interval is not None:
        table.add_row("95% interval", f"{interval} {result.unit}" if interval != "unknown"
                      else interval)
    if result.reliable is not None:
        codes = result.details.get("diagnostics") or []
        table.add_row("verdict", "[bold green]reliable[/bold green]" if result.reliable else
                      "[bold red]UNRELIABLE[/bold red]" + (f" ({', '.join(codes)})" if codes
                                                           else ""))
    if result.p_value is not None:
        table.add_row("p-value", f"{result.p_value:.4g} ({result.details.get('permutations')} "
                      "permutations)")
    table.add_row("samples", str(result.n_samples))
    table.add_row("dims", ", ".join(f"{k}: {v}" for k, v in result.dims.items()))
    table.add_row("params", ", ".join(f"{k}={v}" for k, v in result.params.items()))
    table.add_row("device", result.device)
    table.add_row("time", f"{result.seconds:.3f} s")
    if result.stderr is not None and result.details.get("stderr_method"):
        table.add_row("stderr", str(result.details["stderr_method"]))
    if result.details.get("check"):
        table.add_row("check", str(result.details["check"]))
    console.print(table)
    for w in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}", highlight=False, markup=True)


_SHORT = {
    "entropy": "H(X)",
    "conditional_entropy": "H(X|Z)",
    "mutual_information": "I(X;Y)",
    "conditional_mutual_information": "I(X;Y|Z)",
}


def render_estimators(specs, console: Console | None = None) -> None:
    console = console or Console()
    summary = Table(title="infocli estimators", title_justify="left")
    for col in ("name", "measures", "labels (Y or Z) in", "devices", "reference"):
        summary.add_column(col, overflow="fold")
    for s in specs:
        summary.add_row(s.name, ", ".join(_SHORT[m] for m in s.measures),
                        ", ".join(_SHORT[m] for m in s.discrete) or "-", ", ".join(s.devices),
                        s.reference)
    console.print(summary)
    for s in specs:
        params = Table(title=f"{s.name}: {s.summary}", title_justify="left", show_edge=False)
        params.add_column("parameter", style="bold")
        params.add_column("default")
        params.add_column("meaning", overflow="fold")
        for p in s.params:
            doc = p.doc + (f" ({' | '.join(map(str, p.choices))})" if p.choices else "")
            params.add_row(p.name, p.describe_default(), doc)
        console.print()
        console.print(params)


def render_plane(plane, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"Information plane ({plane.unit})", title_justify="left")
    for col in ("epoch", "layer", "I(X;T)", "I(T;Y)"):
        table.add_column(col, justify="right" if col != "layer" else "left")

    def fmt(v, se):
        return _fmt(v) + (f" ± {_fmt(se)}" if se is not None else "")

    for p in plane.points:
        table.add_row(str(p.epoch), p.layer, fmt(p.i_xt, p.i_xt_stderr), fmt(p.i_ty, p.i_ty_stderr))
    console.print(table)
    console.print(f"x compression: {plane.x_quality}", highlight=False)
    console.print(f"time: {plane.seconds:.1f} s", highlight=False)
    for w in plane.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}", highlight=False)
