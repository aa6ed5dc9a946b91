"""Rich rendering of results for the terminal (CLI side only)."""

from __future__ import annotations

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


def render_estimate(result, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"{_MEASURE[result.measure]} - {result.estimator}", show_header=False,
                  title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    value = _fmt(result.value)
    if result.stderr is not None:
        value += f" ± {_fmt(result.stderr)}"
    table.add_row("estimate", f"{value} {result.unit}")
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


# -- infocli bench -------------------------------------------------------------------


def _num(v, digits: int = 3) -> str:
    if v is None or v != v:
        return "-"
    if v in (float("inf"), float("-inf")):
        return "inf"
    return f"{v:.{digits}f}"


def render_task_list(tasks, console: Console | None = None) -> None:
    """The task suite: name, family, measure, dims, truth (nats), tags."""
    console = console or Console()
    table = Table(title=f"infocli bench tasks ({len(tasks)})", title_justify="left")
    for col in ("task", "family", "measure", "dims", "truth (nats)", "tags"):
        table.add_column(col, justify="right" if col == "truth (nats)" else "left",
                         overflow="fold", no_wrap=col in ("task", "family", "measure"),
                         min_width=6 if col in ("dims", "tags") else None)
    for t in tasks:
        table.add_row(t.name, t.family, _SHORT.get(t.measure, t.measure),
                      ", ".join(f"{k}: {v}" for k, v in t.dims.items()), f"{t.truth:.4f}",
                      ", ".join(t.tags))
    console.print(table)


def render_bench(summary, console: Console | None = None) -> None:
    """Per estimator: tasks solved, median |log ratio|, time; per task: mean ± sd
    against the truth for every estimator (green: solved, red: failed runs)."""
    console = console or Console()
    ns = sorted({e.n for e in summary.estimators})
    table = Table(title="infocli bench: estimators", title_justify="left")
    measures = len({e.measure for e in summary.estimators}) > 1
    for col in ("estimator", "n", *(("measure",) if measures else ()), "solved",
                "median |log ratio|", "time total (s)", "time / run (s)", "CPU total (s)",
                "failed runs"):
        table.add_column(col, justify="left" if col in ("estimator", "measure") else "right")
    for e in summary.estimators:
        table.add_row(e.estimator, str(e.n), *((_SHORT.get(e.measure, e.measure),)
                                               if measures else ()),
                      f"{e.solved}/{e.tasks}", _num(e.median_abs_log_ratio),
                      f"{e.seconds_total:.1f}", f"{e.seconds_median:.3f}",
                      "-" if e.cpu_seconds_total is None else f"{e.cpu_seconds_total:.1f}",
                      str(e.failures) if e.failures else "-")
    console.print(table)
    first = {c: i for i, c in enumerate(dict.fromkeys((t.estimator, t.n) for t in summary.tasks))}
    columns = sorted(first, key=lambda c: (ns.index(c[1]), first[c]))
    cell = {(t.task, t.estimator, t.n): t for t in summary.tasks}
    tasks = list(dict.fromkeys(t.task for t in summary.tasks))
    truths = {t.task: t.truth for t in summary.tasks}
    per_task = Table(title="per task: mean ± sd over seeds (nats); green: solved (within x1.5)",
                     title_justify="left")
    per_task.add_column("task", no_wrap=True)
    per_task.add_column("truth", justify="right")
    for est, n in columns:
        per_task.add_column(est if len(ns) == 1 else f"{est} n={n}", justify="right")
    for name in tasks:
        row = [name, _num(truths[name])]
        for est, n in columns:
            t = cell.get((name, est, n))
            if t is None:
                row.append("")
            elif t.mean is None:
                row.append("[red]failed[/red]")
            else:
                text = _num(t.mean) + (f" ± {_num(t.sd)}" if t.sd is not None else "")
                if t.failures:
                    text += f" [red]({t.failures} failed)[/red]"
                row.append(f"[green]{text}[/green]" if t.solved else text)
        per_task.add_row(*row)
    console.print(per_task)
