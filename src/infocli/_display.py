"""Numbers and text as a person reads them: rounding, intervals, verdicts, folded
warnings. Plain Python (no rich), shared by ``Estimate.__repr__`` and the CLI's
tables.

Rounding rule: a row's figures share one number of decimals, two significant
digits of its smallest error scale (the standard error, or the interval's
half-width when narrower). A printed interval always contains its printed
estimate: the low end is rounded down, the high end up, and an interval that
excludes its estimate (a CMI interval clipped at 0 around a slightly negative
estimate) is widened to it.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, Sequence

MEASURE_SYMBOL = {
    "entropy": "H(X)",
    "conditional_entropy": "H(X|Z)",
    "mutual_information": "I(X;Y)",
    "conditional_mutual_information": "I(X;Y|Z)",
}

_MAX_DECIMALS = 12


def decimals(*scales: float | None) -> int | None:
    """Decimals showing the smallest positive finite ``scale`` with two significant
    digits; None when there is none."""
    good = [abs(s) for s in scales if s is not None and math.isfinite(s) and s != 0]
    if not good:
        return None
    return min(_MAX_DECIMALS, max(0, 1 - math.floor(math.log10(min(good)))))


def _significant(*values: float | None) -> int:
    """Decimals giving four significant digits to the largest of ``values``."""
    good = [abs(v) for v in values if v is not None and math.isfinite(v) and v != 0]
    if not good:
        return 4
    return min(_MAX_DECIMALS, max(0, 3 - math.floor(math.log10(max(good)))))


def fixed(v: float, d: int) -> str:
    """``v`` with ``d`` decimals."""
    if not math.isfinite(v):
        return str(v)
    return f"{v:.{d}f}"


def _directed(v: float, d: int, rounding: str) -> str:
    if not math.isfinite(v):
        return str(v)
    near = f"{v:.{d}f}"
    if float(near) == v:  # v is the double of a d-decimal number: print that number
        return near
    q = Decimal(v).quantize(Decimal(1).scaleb(-d), rounding=rounding)
    return f"{q:.{d}f}"


def floor_text(v: float, d: int) -> str:
    """``v`` rounded down to ``d`` decimals (the printed number is <= v)."""
    return _directed(v, d, ROUND_FLOOR)


def ceil_text(v: float, d: int) -> str:
    """``v`` rounded up to ``d`` decimals (the printed number is >= v)."""
    return _directed(v, d, ROUND_CEILING)


def figures(value: float, stderr: float | None = None,
            interval: Sequence[float | None] | None = None) -> dict[str, Any]:
    """The printed figures of one estimate: ``value``, ``stderr`` (or None),
    ``interval`` text (or None) and ``decimals``.

    The interval text is ``[lo, hi]``, ``at least lo``, ``at most hi`` or
    ``unknown``; its ends are rounded outwards and it always contains the printed
    value.
    """
    lo = hi = None
    if interval is not None:
        lo, hi = interval
        if lo is not None:
            lo = min(lo, value)
        if hi is not None:
            hi = max(hi, value)
    half = (hi - lo) / 2 if lo is not None and hi is not None else None
    d = decimals(stderr, half)
    if d is None:
        d = decimals(value - lo if lo is not None else None,
                     hi - value if hi is not None else None)
    if d is None:
        d = _significant(value, lo, hi)
    out: dict[str, Any] = {"decimals": d, "value": fixed(value, d),
                           "stderr": None if stderr is None else fixed(stderr, d),
                           "interval": None}
    if interval is not None:
        if lo is None and hi is None:
            out["interval"] = "unknown"
        elif hi is None:
            out["interval"] = f"at least {floor_text(lo, d)}"
        elif lo is None:
            out["interval"] = f"at most {ceil_text(hi, d)}"
        else:
            out["interval"] = f"[{floor_text(lo, d)}, {ceil_text(hi, d)}]"
    return out


def value_text(value: float, stderr: float | None, unit: str | None = None) -> str:
    """``0.321 ± 0.052 nats``, rounded to what the standard error supports."""
    f = figures(value, stderr)
    text = f["value"] + (f" ± {f['stderr']}" if f["stderr"] is not None else "")
    return text + (f" {unit}" if unit else "")


def verdict_text(reliable: bool | None, codes: Sequence[str], n_warnings: int) -> str | None:
    """``reliable``, ``reliable, but see the 2 warnings below`` or
    ``UNRELIABLE (codes)``; None when no check ran."""
    if reliable is None:
        return None
    if not reliable:
        return "UNRELIABLE" + (f" ({', '.join(codes)})" if codes else "")
    if n_warnings == 1:
        return "reliable, but see the warning below"
    if n_warnings > 1:
        return f"reliable, but see the {n_warnings} warnings below"
    return "reliable"


def estimator_text(estimator: str, details: dict) -> str:
    """The estimator that ran: ``auto -> gaussian+copula`` when auto chose one."""
    chosen = (details.get("auto") or {}).get("chosen") if isinstance(details, dict) else None
    return f"{estimator} -> {chosen}" if chosen else estimator


#: parameters of auto that belong to its kNN candidate only
_AUTO_KNN_PARAMS = ("k",)


def params_text(estimator: str, params: dict, details: dict) -> str:
    """``k=3, seed=0``; for auto, the parameters of the candidate that was chosen
    (a kNN parameter is named as the unused candidate's when it was not)."""
    chosen = (details.get("auto") or {}).get("chosen") if isinstance(details, dict) else None
    ran_k = re.search(r"\(k=(\d+)\)", chosen or "")
    if estimator == "auto" and ran_k and "k" in params and int(ran_k.group(1)) != params["k"]:
        # a route with its own minimum k (labels: Ross needs k >= 3) ran with another k
        params = {**params, "k": f"{ran_k.group(1)} (raised from {params['k']})"}
    if estimator == "auto" and chosen and not chosen.startswith(("ksg", "mixed_ksg")):
        used = {k: v for k, v in params.items() if k not in _AUTO_KNN_PARAMS}
        unused = {k: v for k, v in params.items() if k in _AUTO_KNN_PARAMS}
        text = ", ".join(f"{k}={v}" for k, v in used.items())
        if unused:
            text += " (ksg candidate, not chosen: " + ", ".join(
                f"{k}={v}" for k, v in unused.items()) + ")"
        return text
    return ", ".join(f"{k}={v}" for k, v in params.items())


# --------------------------------------------------------------------------- warnings
_TIES = re.compile(
    r"^(?P<name>[^:]+): column (?P<col>'[^']*'|\d+) has (?P<n>\d+) repeated values "
    r"\(of (?P<of>\d+)\); added seeded uniform jitter of width (?P<w>\S+) (?P<rest>.*)$")
_COLUMN = re.compile(r"column ('[^']*'|\d+)")
_NUMBER = re.compile(r"-?\d+(\.\d+)?(e[-+]?\d+)?")
#: warnings of one kind folded into one line from this many on
FOLD_FROM = 3


def _names(cols: list[str], limit: int = 8) -> str:
    shown = ", ".join(cols[:limit])
    return shown + (f", ... ({len(cols) - limit} more)" if len(cols) > limit else "")


def fold_warnings(warnings: Sequence[str]) -> list[str]:
    """Warnings with repeats folded: per-column warnings of one kind (ties jittered
    in 30 columns, ...) become one line naming the columns; order kept."""
    groups: dict[str, list[str]] = {}
    for w in warnings:
        m = _TIES.match(w)
        key = f"ties:{m['name']}" if m else _NUMBER.sub("#", _COLUMN.sub("column #", w))
        groups.setdefault(key, []).append(w)
    out = []
    for key, items in groups.items():
        if len(items) < FOLD_FROM or not _COLUMN.search(items[0]):
            out.extend(items)
            continue
        if key.startswith("ties:"):
            ms = [_TIES.match(w) for w in items]
            counts = [int(m["n"]) for m in ms]
            widths = [float(m["w"]) for m in ms]
            span = (f"{min(counts)}" if min(counts) == max(counts)
                    else f"{min(counts)}-{max(counts)}")
            wspan = (f"{min(widths):.3g}" if min(widths) == max(widths)
                     else f"{min(widths):.3g}-{max(widths):.3g}")
            out.append(f"{ms[0]['name']}: ties in {len(items)} columns: "
                       f"{_names([m['col'] for m in ms])}; {span} repeated values each "
                       f"(of {ms[0]['of']}); added seeded uniform jitter of widths {wspan} "
                       "(each column's smallest gap between distinct values, in its units) "
                       "to make them continuous")
        else:
            cols = [_COLUMN.search(w).group(1) for w in items]
            out.append(f"{len(items)} columns ({_names(cols)}): {items[0]}")
    return out
