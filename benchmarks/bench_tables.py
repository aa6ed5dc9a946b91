#!/usr/bin/env python
"""Markdown tables of ``infocli bench`` records (``--csv`` files), for the docs.

Prints, per file set, the estimator summary (solved, median |log ratio|, the
trust scores when the runs were checked, CPU time) and the per-task table of
mean estimates (bold: solved). Nothing is re-run: the numbers are the records'.

Usage:
  python benchmarks/bench_tables.py A.csv [B.csv ...] [--n 5000] [--no-tasks]
"""

from __future__ import annotations

import argparse
import math

from infocli import bench


def _num(x: float | None) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{x:.3f}"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f} %"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--n", type=int, action="append", help="only these sample sizes")
    ap.add_argument("--no-tasks", action="store_true", help="the summary only")
    args = ap.parse_args()
    records = [r for f in args.files for r in bench.read_records(f)
               if not args.n or r.n in args.n]
    summary = bench.summarize(records)
    print("| estimator | n | solved | median abs log ratio | reliable runs | coverage "
          "| confidently wrong | CPU s / run (median) | CPU s total | failed runs |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for e in summary.estimators:
        cpu = sorted(r.cpu_seconds for r in records
                     if r.estimator == e.estimator and r.n == e.n and r.cpu_seconds is not None)
        med = cpu[len(cpu) // 2] if cpu else None
        print(f"| {e.estimator} | {e.n} | {e.solved}/{e.tasks} | {_num(e.median_abs_log_ratio)} "
              f"| {f'{e.reliable}/{e.checked}' if e.checked else '–'} | {_pct(e.coverage)} "
              f"| {_pct(e.confidently_wrong_rate)} | {_num(med)} "
              f"| {'–' if e.cpu_seconds_total is None else f'{e.cpu_seconds_total:.0f}'} "
              f"| {e.failures or '–'} |")
    if args.no_tasks:
        return
    cols = list(dict.fromkeys((t.estimator, t.n) for t in summary.tasks))
    ns = {n for _, n in cols}
    cell = {(t.task, t.estimator, t.n): t for t in summary.tasks}
    tasks = list(dict.fromkeys(t.task for t in summary.tasks))
    truth = {t.task: t.truth for t in summary.tasks}
    print()
    print("| task | truth | " + " | ".join(e if len(ns) == 1 else f"{e} n={n}"
                                          for e, n in cols) + " |")
    print("|---|---:|" + "---:|" * len(cols))
    for name in tasks:
        row = []
        for e, n in cols:
            t = cell.get((name, e, n))
            if t is None:
                row.append("")
            elif t.mean is None:
                row.append("error")
            else:
                text = _num(t.mean)
                row.append(f"**{text}**" if t.solved else text)
        print(f"| `{name}` | {_num(truth[name])} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
