"""Rich rendering of results for the terminal (CLI side only)."""

from __future__ import annotations

import math


_MEASURE = {
    "entropy": "H(X)",
    "conditional_entropy": "H(X|Z)",
    "mutual_information": "I(X;Y)",
    "conditional_mutual_information": "I(X;Y|Z)",
}


def _rich():
    """rich's Console and Table, imported on first use (machine formats need neither)."""
    from rich.console import Console
    from rich.table import Table

    return Console, Table


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def _decimals(scale: float | None) -> int | None:
    """Decimals that show ``scale`` (an error bar) with two significant digits."""
    from ._display import decimals

    return decimals(scale)


def _rounded(v: float, decimals: int | None) -> str:
    return _fmt(v) if decimals is None else f"{v:.{decimals}f}"


def _interval_text(result) -> str | None:
    """The printed interval: ends rounded outwards, always containing the printed
    estimate (:func:`infocli._display.figures`)."""
    from ._display import figures

    return figures(result.value, result.stderr, result.interval)["interval"]


def render_estimate(result, console: Console | None = None) -> None:
    from ._display import estimator_text, figures, fold_warnings, params_text, verdict_text

    Console, Table = _rich()
    console = console or Console()
    table = Table(title=f"{_MEASURE[result.measure]} - "
                  f"{estimator_text(result.estimator, result.details)}", show_header=False,
                  title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    f = figures(result.value, result.stderr, result.interval)
    value = f["value"] + (f" ± {f['stderr']}" if f["stderr"] is not None else "")
    table.add_row("estimate", f"{value} {result.unit}")
    interval = f["interval"]
    if interval is not None:
        table.add_row("95% interval", f"{interval} {result.unit}" if interval != "unknown"
                      else interval)
    warnings = fold_warnings(result.warnings)
    verdict = verdict_text(result.reliable, result.details.get("diagnostics") or [],
                           len(warnings))
    if verdict is not None:
        colour = "green" if result.reliable else "red"
        table.add_row("verdict", f"[bold {colour}]{verdict}[/bold {colour}]")
    if result.p_value is not None:
        table.add_row("p-value", f"{result.p_value:.4g} ({result.details.get('permutations')} "
                      "permutations)")
    table.add_row("samples", str(result.n_samples))
    table.add_row("dims", ", ".join(f"{k}: {v}" for k, v in result.dims.items()))
    table.add_row("params", params_text(result.estimator, result.params, result.details))
    table.add_row("device", result.device)
    table.add_row("time", f"{result.seconds:.3f} s")
    if result.stderr is not None and result.details.get("stderr_method"):
        table.add_row("stderr", str(result.details["stderr_method"]))
    if result.details.get("check"):
        table.add_row("check", str(result.details["check"]))
    console.print(table)
    for w in warnings:
        console.print(f"[yellow]warning:[/yellow] {w}", highlight=False, markup=True)


_SHORT = {
    "entropy": "H(X)",
    "conditional_entropy": "H(X|Z)",
    "mutual_information": "I(X;Y)",
    "conditional_mutual_information": "I(X;Y|Z)",
}


def render_estimators(specs, console: Console | None = None) -> None:
    Console, Table = _rich()
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
    Console, Table = _rich()
    console = console or Console()
    table = Table(title=f"Information plane ({plane.unit})", title_justify="left")
    for col in ("epoch", "layer", "I(X;T)", "I(T;Y)"):
        table.add_column(col, justify="right" if col != "layer" else "left")

    from ._display import value_text

    def fmt(v, se):
        return value_text(v, se)

    for p in plane.points:
        table.add_row(str(p.epoch), p.layer, fmt(p.i_xt, p.i_xt_stderr), fmt(p.i_ty, p.i_ty_stderr))
    console.print(table)
    if plane.x_quality:
        console.print(f"x compression: {_mapping_text(plane.x_quality)}", highlight=False)
    else:
        console.print(f"from records: I(X;T) = {plane.params.get('x_measure')}, I(T;Y) = "
                      f"{plane.params.get('y_measure')}", highlight=False)
    console.print(f"time: {plane.seconds:.1f} s", highlight=False)
    for w in plane.warnings:
        console.print(f"[yellow]warning:[/yellow] {w}", highlight=False)


def _mapping_text(value) -> str:
    """``compressor pca, dim 4, explained variance 0.93``: a dict as words, floats
    to four significant digits (not a Python repr)."""
    if not isinstance(value, dict):
        return str(value)
    parts = []
    for k, v in value.items():
        if isinstance(v, float):
            v = f"{v:.4g}"
        elif isinstance(v, dict):
            v = "(" + _mapping_text(v) + ")"
        elif isinstance(v, (list, tuple)):
            v = ", ".join(f"{e:.4g}" if isinstance(e, float) else str(e) for e in v)
        parts.append(f"{str(k).replace('_', ' ')} {v}")
    return ", ".join(parts)


def render_matrix(result, console: Console | None = None) -> None:
    """The tidy rows of a matrix (infocli matrix), strongest first."""
    Console, Table = _rich()
    console = console or Console()
    unit = f" [{result.unit}]" if result.unit else ""
    table = Table(title=f"{result.measure}{unit} - {result.estimator}, "
                  f"{len(result.variables)} variables", title_justify="left")
    from ._display import figures

    pair = result.measure != "entropy"
    checked = any(r.get("interval") is not None for r in result.rows)
    cols = ("value", "stderr") + (("95% interval", "verdict") if checked else ()) + ("p-value",)
    for col in (("x", "y") if pair else ("x",)) + cols:
        table.add_column(col, justify="left" if col in ("x", "y", "verdict") else "right")
    rows = sorted(result.rows, key=lambda r: -(r["value"] if r["value"] is not None else -1e300))
    for r in rows:
        cells = [r["x"]] + ([r["y"]] if pair else [])
        if r.get("error"):
            cells += ["error", r["error"]] + [""] * (len(cols) - 2)
        else:
            # each row rounded to what its own standard error (and interval) supports
            f = figures(r["value"], r["stderr"], r.get("interval"))
            cells += [f["value"], f["stderr"] if f["stderr"] is not None else "-"]
            if checked:
                rel = r.get("reliable")
                cells += [f["interval"] or "-",
                          "-" if rel is None else ("reliable" if rel else "UNRELIABLE")]
            cells += [f"{r['p_value']:.4g}" if r["p_value"] is not None else "-"]
        table.add_row(*cells)
    console.print(table)
    ran = f", {result.executor}" if getattr(result, "executor", "") else ""
    console.print(f"time: {result.seconds:.1f} s{ran}", highlight=False)


# --------------------------------------------------------------------------- machine formats
#: Columns of ``--format csv|tsv``: the same for entropy, mi and cmi, so rows of
#: different commands can be appended to one file.
ROW_COLUMNS = ("measure", "estimator", "value", "stderr", "unit", "p_value", "n_samples",
               "x", "y", "z", "dims", "params", "seconds", "n_warnings")


def estimate_row(result) -> dict:
    """One flat row of a result (see ROW_COLUMNS); floats at full precision."""
    inputs = result.details.get("inputs", {}) or {}
    return {
        "measure": result.measure,
        "estimator": result.estimator,
        "value": repr(float(result.value)),
        "stderr": "" if result.stderr is None else repr(float(result.stderr)),
        "unit": result.unit,
        "p_value": "" if result.p_value is None else repr(float(result.p_value)),
        "n_samples": str(result.n_samples),
        "x": inputs.get("x", ""),
        "y": inputs.get("y", ""),
        "z": inputs.get("z", ""),
        "dims": ";".join(f"{k}={v}" for k, v in result.dims.items()),
        "params": ";".join(f"{k}={v}" for k, v in result.params.items()),
        "seconds": f"{result.seconds:.6g}",
        "n_warnings": str(len(result.warnings)),
        "interval_low": _bound(result.interval, 0),
        "interval_high": _bound(result.interval, 1),
        "reliable": "" if result.reliable is None else str(bool(result.reliable)).lower(),
    }


def _bound(interval, i: int) -> str:
    """One end of the interval at full precision; empty when open or absent."""
    if interval is None or interval[i] is None:
        return ""
    return repr(float(interval[i]))


def format_estimate(result, fmt: str, *, header: bool = True) -> str:
    """The text ``--format fmt`` prints on stdout (json, jsonl, csv, tsv or value)."""
    if fmt == "json":
        return result.to_json() + "\n"
    if fmt == "jsonl":
        return result.to_json(indent=None) + "\n"
    if fmt == "value":
        return repr(float(result.value)) + "\n"
    if fmt in ("csv", "tsv"):
        return format_rows([estimate_row(result)], ROW_COLUMNS, "," if fmt == "csv" else "\t",
                           header=header)
    raise ValueError(f"unknown format {fmt!r}")


def format_rows(rows, columns, sep: str, *, header: bool = True) -> str:
    """Delimited text (RFC 4180 quoting for CSV; TSV fields have tabs and newlines
    replaced by spaces), with a header row unless ``header`` is false."""
    import csv
    import io

    buf = io.StringIO()
    if sep == "\t":
        clean = [[str(r.get(c, "")).replace("\t", " ").replace("\n", " ") for c in columns]
                 for r in rows]
        if header:
            buf.write("\t".join(columns) + "\n")
        for r in clean:
            buf.write("\t".join(r) + "\n")
        return buf.getvalue()
    w = csv.writer(buf, lineterminator="\n")
    if header:
        w.writerow(columns)
    for r in rows:
        w.writerow([r.get(c, "") for c in columns])
    return buf.getvalue()


_TINY = {
    "entropy": "H",
    "conditional_entropy": "H|Z",
    "mutual_information": "I",
    "conditional_mutual_information": "I|Z",
}


def render_estimator_summary(specs, console: Console | None = None) -> None:
    """`infocli estimators`: one line per estimator (measures abbreviated, see the caption)."""
    Console, Table = _rich()
    console = console or Console()
    table = Table(title="infocli estimators (`infocli estimators NAME` shows one in full)",
                  title_justify="left",
                  caption="H = H(X), H|Z = H(X|Z), I = I(X;Y), I|Z = I(X;Y|Z); "
                          "labels in: measures that accept class labels for Y or Z",
                  caption_justify="left")
    width = max(len(s.name) for s in specs)
    table.add_column("name", no_wrap=True, min_width=width)
    table.add_column("measures", no_wrap=True, min_width=14)
    table.add_column("labels in", no_wrap=True, min_width=11)
    table.add_column("description", no_wrap=True)  # one line each, cut to the terminal
    room = max(20, console.width - width - 14 - 11 - 13)  # 13: borders and padding
    for s in specs:
        table.add_row(s.name, ", ".join(_TINY[m] for m in s.measures),
                      ", ".join(_TINY[m] for m in s.discrete) or "-",
                      _one_line(s.summary, limit=room))
    console.print(table)


def _one_line(summary: str, limit: int = 60) -> str:
    """The first clause of a summary, cut at ``limit`` characters on a word."""
    text = summary.split(";")[0].strip()
    if len(text) <= limit:
        return text
    return text[:limit - 4].rsplit(" ", 1)[0] + " ..."


def render_estimator_detail(spec, console: Console | None = None) -> None:
    """`infocli estimators NAME`: everything the registry knows about one estimator."""
    Console, Table = _rich()
    console = console or Console()
    info = Table(title=f"{spec.name}: {spec.summary}", title_justify="left", show_header=False)
    info.add_column(style="bold")
    info.add_column(overflow="fold")
    info.add_row("measures", ", ".join(_SHORT[m] for m in spec.measures))
    info.add_row("labels in", ", ".join(_SHORT[m] for m in spec.discrete) or "-")
    info.add_row("devices", ", ".join(spec.devices))
    info.add_row("reference", spec.reference)
    console.print(info)
    params = Table(title="parameters (-p KEY=VALUE)", title_justify="left", show_edge=False)
    params.add_column("parameter", style="bold")
    params.add_column("default")
    params.add_column("meaning", overflow="fold")
    for p in spec.params:
        doc = p.doc + (f" ({' | '.join(map(str, p.choices))})" if p.choices else "")
        params.add_row(p.name, p.describe_default(), doc)
    console.print()
    console.print(params)


# -- infocli bench -------------------------------------------------------------------


def _num(v, digits: int = 3) -> str:
    if v is None or v != v:
        return "-"
    if v in (float("inf"), float("-inf")):
        return "inf"
    return f"{v:.{digits}f}"


def _wide_console() -> Console:
    # piped or redirected output has no width to fit: keep the rows whole (the
    # task names alone take up to 50 columns) rather than folding them at 80
    Console, Table = _rich()
    import sys

    console = Console()
    if not sys.stdout.isatty() and console.width < 160:
        console = Console(width=160)
    return console


def render_task_list(tasks, console: Console | None = None) -> None:
    """The task suite: name, measure, dims (x x y [x z]), truth (nats), family, tags."""
    Console, Table = _rich()
    console = console or _wide_console()
    table = Table(title=f"infocli bench tasks ({len(tasks)})", title_justify="left")
    table.add_column("task", no_wrap=True)
    table.add_column("measure", no_wrap=True)
    table.add_column("dims", no_wrap=True, justify="right")
    table.add_column("truth", no_wrap=True, justify="right")
    table.add_column("family", no_wrap=True)
    table.add_column("tags", overflow="fold")
    for t in tasks:
        table.add_row(t.name, _SHORT.get(t.measure, t.measure),
                      "x".join(str(v) for v in t.dims.values()), f"{t.truth:.4f}", t.family,
                      ", ".join(t.tags))
    console.print(table)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def render_bench(summary, console: Console | None = None) -> None:
    """Per estimator: tasks solved, median |log ratio|, time; per task: mean ± sd
    against the truth for every estimator (green: solved, red: failed runs)."""
    Console, Table = _rich()
    console = console or _wide_console()
    ns = sorted({e.n for e in summary.estimators})
    table = Table(title="infocli bench: estimators", title_justify="left")
    measures = len({e.measure for e in summary.estimators}) > 1
    checked = any(e.checked for e in summary.estimators)
    trust_cols = ("reliable runs", "coverage", "confidently wrong") if checked else ()
    for col in ("estimator", "n", *(("measure",) if measures else ()), "solved",
                "median |log ratio|", *trust_cols, "time total (s)", "time / run (s)",
                "CPU total (s)", "failed runs"):
        table.add_column(col, justify="left" if col in ("estimator", "measure") else "right",
                         no_wrap=col == "estimator")
    for e in summary.estimators:
        trust = ()
        if checked:
            trust = ((f"{e.reliable}/{e.checked}", _pct(e.coverage),
                      _pct(e.confidently_wrong_rate)) if e.checked else ("-", "-", "-"))
        table.add_row(e.estimator, str(e.n), *((_SHORT.get(e.measure, e.measure),)
                                               if measures else ()),
                      f"{e.solved}/{e.tasks}", _num(e.median_abs_log_ratio), *trust,
                      f"{e.seconds_total:.1f}", f"{e.seconds_median:.3f}",
                      "-" if e.cpu_seconds_total is None else f"{e.cpu_seconds_total:.1f}",
                      str(e.failures) if e.failures else "-")
    console.print(table)
    if checked:
        console.print("coverage: share of reliable runs whose interval holds the truth; "
                      "confidently wrong: share of checked runs marked reliable whose "
                      "interval misses it.", style="dim")
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


# --------------------------------------------------------------------------- rank
def _num_or_dash(v, fmt: str = "{:.4g}") -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v)


def render_rank(result, console: Console | None = None) -> None:
    """The table of ``infocli rank``: features sorted by MI with the target."""
    console = console or _wide_console()
    table = Table(title=f"I(feature; {result.target}) \\[{result.unit}] - {result.estimator}, "
                  f"n = {result.n_samples:,}, {result.permutations} permutations, "
                  f"BH at {result.alpha:g}", title_justify="left")
    for col in ("rank", "feature", "MI", "95% interval", "p", "p (BH)", "verdict", "by"):
        table.add_column(col, justify="left" if col in ("feature", "verdict", "by") else "right")
    for r in result.rows:
        d = _decimals(r["stderr"])
        interval = "-" if r["lo"] is None and r["hi"] is None else (
            f"[{_rounded(r['lo'], d) if r['lo'] is not None else '?'}, "
            f"{_rounded(r['hi'], d) if r['hi'] is not None else '?'}]")
        table.add_row(str(r["rank"]), r["feature"], _rounded(r["mi"], d), interval,
                      _num_or_dash(r["p_value"]), _num_or_dash(r["p_adjusted"]), r["verdict"],
                      r["estimator"])
    console.print(table)
    warned = sum(1 for r in result.rows if r["warnings"])
    if warned:
        console.print(f"{warned} feature(s) with warnings (--format json lists them)",
                      highlight=False)
    console.print(f"time: {result.seconds:.1f} s", highlight=False)


def format_rank(result, fmt: str, *, header: bool = True) -> str:
    """``infocli rank --format csv|tsv|json``: one row per feature, full precision."""
    import json

    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2, default=_plain) + "\n"
    if fmt in ("csv", "tsv"):
        from .screening import COLUMNS

        rows = [{**r, "columns": ";".join(map(str, r["columns"])),
                 **{k: "" if r[k] is None else repr(float(r[k]))
                    for k in ("mi", "lo", "hi", "stderr", "p_value", "p_adjusted")}}
                for r in result.rows]
        return format_rows(rows, COLUMNS, "," if fmt == "csv" else "\t", header=header)
    raise ValueError(f"unknown format {fmt!r}")


def _plain(obj):
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)
