"""Information-plane analysis of a training run (Butakov et al., ICLR 2024).

For every recorded epoch and layer T: I(X;T) between the network input X and
the layer's activations, and I(T;Y) between the activations and the labels Y,
both estimated between compressed codes. X is compressed once and its codes
are reused for every epoch and layer.

Activation layout on disk (``load_activations``): a directory holding
``epoch_<e>/<layer>.npy`` files, one row per sample of X, in X's row order;
or a manifest CSV with columns ``epoch,layer,path`` (paths relative to the
manifest).
"""

from __future__ import annotations

import csv
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validation import as_continuous, as_labels, check_rows
from .errors import InputError, ParameterError, quote
from .diagnostics import mi_bound_findings
from .estimators._common import Context, ProgressFn, Raw
from .estimators._compress import fit_compressor
from .estimators.compressed import mi_of_codes
from .result import LN2

_EPOCH = re.compile(r"^epoch_(\d+)$")


@dataclass(frozen=True)
class PlanePoint:
    epoch: int
    layer: str
    i_xt: float
    i_xt_stderr: float | None
    i_ty: float
    i_ty_stderr: float | None
    t_quality: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InformationPlane:
    """I(X;T) and I(T;Y) per epoch and layer, with error bars, in ``unit``."""

    points: tuple[PlanePoint, ...]
    unit: str
    params: dict[str, Any]
    x_quality: dict[str, Any]
    seconds: float
    warnings: tuple[str, ...] = ()

    def to_rows(self) -> list[dict[str, Any]]:
        return [{"epoch": p.epoch, "layer": p.layer, "I_XT": p.i_xt, "I_XT_stderr": p.i_xt_stderr,
                 "I_TY": p.i_ty, "I_TY_stderr": p.i_ty_stderr} for p in self.points]

    def to_dict(self) -> dict[str, Any]:
        return {"unit": self.unit, "params": self.params, "x_compression": self.x_quality,
                "seconds": self.seconds, "warnings": list(self.warnings),
                "points": [{**r, "t_compression": p.t_quality}
                           for r, p in zip(self.to_rows(), self.points)]}


def load_activations(path: str) -> dict[tuple[int, str], np.ndarray]:
    """Activations keyed by (epoch, layer) from a directory layout or a manifest CSV."""
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file or directory")
    entries: list[tuple[int, str, str]] = []
    if os.path.isdir(path):
        for name in sorted(os.listdir(path)):
            m = _EPOCH.match(name)
            if not m or not os.path.isdir(os.path.join(path, name)):
                continue
            for f in sorted(os.listdir(os.path.join(path, name))):
                if f.endswith(".npy"):
                    entries.append((int(m.group(1)), f[:-4], os.path.join(path, name, f)))
        if not entries:
            raise InputError(f"{path}: no epoch_<e>/<layer>.npy files found")
    else:
        base = os.path.dirname(os.path.abspath(path))
        try:
            with open(path, newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                if reader.fieldnames is None or not {"epoch", "layer", "path"} <= set(reader.fieldnames):
                    raise InputError(f"{path}: a manifest needs the columns epoch,layer,path "
                                     "(or give a directory of epoch_<e>/<layer>.npy files)")
                for i, row in enumerate(reader):
                    try:
                        epoch = int(row["epoch"])
                    except (TypeError, ValueError):
                        raise InputError(f"{path}: row {i}: epoch {quote(row['epoch'])} is not "
                                         "an integer") from None
                    entries.append((epoch, row["layer"], os.path.join(base, row["path"] or "")))
        except UnicodeDecodeError:
            raise InputError(f"{path}: not UTF-8 text; expected the activations: a CSV manifest "
                             "with the columns epoch,layer,path, or a directory of "
                             "epoch_<e>/<layer>.npy files") from None
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    out = {}
    for epoch, layer, f in entries:
        if not os.path.exists(f):
            raise InputError(f"{f}: missing activation file (epoch {epoch}, layer {layer!r})")
        try:
            out[(epoch, layer)] = np.load(f, mmap_mode="r", allow_pickle=False)
        except Exception as exc:  # noqa: BLE001
            raise InputError(f"{f}: not a valid .npy file ({exc})") from None
    layers = {layer for _, layer in out}
    epochs = {epoch for epoch, _ in out}
    missing = [(e, la) for e in sorted(epochs) for la in sorted(layers) if (e, la) not in out]
    if missing:
        e, la = missing[0]
        raise InputError(f"{path}: layer {la!r} is missing at epoch {e} "
                         f"({len(missing)} epoch/layer file(s) missing)")
    return out


def information_plane(
    x: Any,
    y: Any,
    activations: dict[tuple[int, str], Any],
    *,
    x_compressor: str = "pca",
    t_compressor: str = "pca",
    x_dim: int = 4,
    t_dim: int = 4,
    inner: str = "wkl",
    k: int = 5,
    smoothing: int = 1,
    unit: str = "nats",
    seed: int = 0,
    device: str = "auto",
    ae: dict[str, Any] | None = None,
    progress: ProgressFn | None = None,
) -> InformationPlane:
    """I(X;T) and I(T;Y) for every (epoch, layer) of ``activations``.

    x : (n, d) network inputs; y : (n,) class labels; activations : mapping
    (epoch, layer) -> (n, width) array. Compressors: "pca", "autoencoder" or
    "none"; codes of x_dim / t_dim dimensions (layers narrower than t_dim are
    used as they are). ``smoothing`` > 1 averages each layer's curves over a
    centred moving window of that many epochs (error bars combine accordingly).
    """
    start = time.perf_counter()
    if unit not in ("nats", "bits"):
        raise ParameterError(f"unit {unit!r}: expected nats or bits")
    if smoothing < 1:
        raise ParameterError(f"smoothing={smoothing}: expected a positive number of epochs")
    ae_opts = {"hidden": 128, "epochs": 200, "patience": 10, "lr": 1e-3, "batch_size": 128,
               "val_fraction": 0.2, "threads": 1, **(ae or {})}
    xa = as_continuous(x, "x")
    labels, classes = as_labels(y, "y")
    check_rows({"x": xa, "y": labels}, {"x": "x", "y": "y"})
    rng = np.random.default_rng(seed)
    warnings: list[str] = []
    ctx = Context(rng=rng, device=device, progress=progress, warnings=warnings,
                  names={"x": "x"})
    cx = fit_compressor(xa, x_compressor, min(x_dim, xa.shape[1]), ctx, name="x", ae=ae_opts)
    tx = cx.encode(xa)
    raw: list[tuple[int, str, Any, Any, dict]] = []
    keys = sorted(activations)
    for i, (epoch, layer) in enumerate(keys):
        label = f"epoch {epoch} layer {layer}"
        t = as_continuous(activations[(epoch, layer)], label)
        if len(t) != len(xa):
            raise InputError(f"{label}: has {len(t)} rows but x has {len(xa)}; expected one row "
                             "per sample of x, in the same order")
        tctx = Context(rng=rng, device=device, progress=progress, warnings=warnings,
                       names={"x": label, "y": "x"})
        kind = t_compressor if t.shape[1] > t_dim else "none"
        ct = fit_compressor(t, kind, min(t_dim, t.shape[1]), tctx, name=label, ae=ae_opts)
        tt = ct.encode(t)
        i_xt = mi_of_codes(tctx, tt, tx, inner=inner, k=k)
        lctx = Context(rng=rng, device=device, progress=progress, warnings=warnings,
                       discrete={"y": True}, names={"x": label, "y": "y"},
                       classes={"y": classes})
        i_ty = mi_of_codes(lctx, tt, labels, inner=inner, k=k)
        for what, r in (("I(X;T)", i_xt), ("I(T;Y)", i_ty)):
            if r.stderr is not None and r.value < -3 * r.stderr:
                warnings.append(f"{label}: {what} = {r.value:.3g} nats is more than 3 standard "
                                "errors below zero; the kNN estimate is unreliable here "
                                "(clustered or near-discrete codes) - try another t_dim, "
                                "compressor or inner estimator")
        for _, sentence in mi_bound_findings(i_ty.value, i_ty.stderr, labels):
            if "exceeds" in sentence:  # the negative case is said just above
                warnings.append(f"{label}: I(T;Y) unreliable, {sentence}")
        raw.append((epoch, layer, i_xt, i_ty, {"compressor": ct.kind, **ct.quality}))
        if progress is not None:
            progress("information plane", i + 1, len(keys))
    scale = 1.0 / LN2 if unit == "bits" else 1.0
    points = _smooth(raw, smoothing, scale)
    return InformationPlane(
        points=tuple(points), unit=unit,
        params={"x_compressor": x_compressor, "t_compressor": t_compressor, "x_dim": x_dim,
                "t_dim": t_dim, "inner": inner, "k": k, "smoothing": smoothing, "seed": seed},
        x_quality={"compressor": cx.kind, **cx.quality},
        seconds=time.perf_counter() - start, warnings=tuple(dict.fromkeys(warnings)))


#: Record columns a tracker file must hold to be read as an information plane.
RECORD_COLUMNS = ("epoch", "layer", "measure", "value", "stderr", "unit")


def is_records_file(path: str) -> bool:
    """Whether ``path`` is a file of :class:`infocli.torch.Tracker` records (JSON
    lines, or a CSV whose header has a ``measure`` column) rather than a manifest."""
    if not os.path.isfile(path):
        return False
    if path.lower().endswith((".jsonl", ".json")):
        return True
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError):
        return False
    return "measure" in header and "path" not in header


def load_records(path: str) -> list[dict[str, Any]]:
    """The records of a tracker file (``.jsonl``/``.json`` lines or ``.csv``)."""
    import json

    try:
        with open(path, newline="", encoding="utf-8") as fh:
            if path.lower().endswith((".jsonl", ".json")):
                rows = []
                for i, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as exc:
                        raise InputError(f"{path}: line {i} is not JSON ({exc.msg}); expected "
                                         "one tracker record per line") from None
            else:
                rows = list(csv.DictReader(fh))
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; expected tracker records") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    for i, row in enumerate(rows, 1):
        missing = [c for c in RECORD_COLUMNS if c not in row]
        if missing:
            raise InputError(f"{path}: record {i} has no {', '.join(missing)}; expected the "
                             f"tracker's columns ({', '.join(RECORD_COLUMNS)}, ...)")
    return rows


def _number(value: Any, path: str, what: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{path}: {what} {quote(value)} is not a number") from None
    return out


def plane_from_records(records: str | list[dict[str, Any]], *, x_measure: str = "mi_x_noisy",
                       y_measure: str = "mi_y_noisy", unit: str = "nats",
                       smoothing: int = 1) -> InformationPlane:
    """The information plane of a tracker's records: I(X;T) from the ``x_measure``
    records and I(T;Y) from the ``y_measure`` records of each (epoch, layer),
    with their standard errors; ``records`` is a file (``.jsonl``/``.csv``, as
    :class:`infocli.torch.Tracker` writes them) or the records themselves.
    Records whose verdict is unreliable are named in the warnings."""
    start = time.perf_counter()
    if unit not in ("nats", "bits"):
        raise ParameterError(f"unit {unit!r}: expected nats or bits")
    if smoothing < 1:
        raise ParameterError(f"smoothing={smoothing}: expected a positive number of epochs")
    source = records if isinstance(records, str) else "records"
    rows = load_records(records) if isinstance(records, str) else list(records)
    found: dict[tuple[int, str], dict[str, dict[str, Any]]] = {}
    measures = set()
    for row in rows:
        measures.add(row["measure"])
        if row["measure"] in (x_measure, y_measure):
            epoch = _number(row["epoch"], source, "epoch")
            found.setdefault((int(epoch), str(row["layer"])), {})[row["measure"]] = row
    if not found:
        raise InputError(f"{source}: no {x_measure} or {y_measure} records (it holds "
                         f"{', '.join(sorted(measures)) or 'none'}); pick the measures with "
                         "x_measure / y_measure (--x-measure / --y-measure)")
    warnings: list[str] = []
    raw = []
    for (epoch, layer), pair in sorted(found.items()):
        if x_measure not in pair or y_measure not in pair:
            gone = y_measure if x_measure in pair else x_measure
            warnings.append(f"epoch {epoch} layer {layer!r}: no {gone} record; left out")
            continue
        values = []
        for m in (x_measure, y_measure):
            r = pair[m]
            v = _number(r["value"], source, f"{m} value")
            if v is None:
                raise InputError(f"{source}: epoch {epoch} layer {layer!r}: {m} has no value")
            se = _number(r["stderr"], source, f"{m} stderr")
            if r["unit"] not in ("nats", "bits"):
                raise InputError(f"{source}: epoch {epoch} layer {layer!r}: {m} unit "
                                 f"{quote(r['unit'])}; expected nats or bits")
            scale = 1.0
            if r["unit"] != unit:
                scale = LN2 if r["unit"] == "bits" else 1.0 / LN2
            values.append(Raw(v * scale, None if se is None else se * scale))
            if str(r.get("reliable")).lower() in ("false", "0"):
                warnings.append(f"epoch {epoch} layer {layer!r}: {m} is marked unreliable"
                                + (f" ({r['warnings']})" if r.get("warnings") else ""))
        raw.append((epoch, layer, values[0], values[1], {}))
    points = _smooth(raw, smoothing, 1.0)
    return InformationPlane(
        points=tuple(points), unit=unit,
        params={"source": "records", "x_measure": x_measure, "y_measure": y_measure,
                "smoothing": smoothing},
        x_quality={}, seconds=time.perf_counter() - start,
        warnings=tuple(dict.fromkeys(warnings)))


def _smooth(raw, window: int, scale: float) -> list[PlanePoint]:
    by_layer: dict[str, list] = {}
    for item in raw:
        by_layer.setdefault(item[1], []).append(item)
    points = []
    for layer, items in by_layer.items():
        items.sort(key=lambda it: it[0])
        for j, (epoch, _, i_xt, i_ty, quality) in enumerate(items):
            lo, hi = max(0, j - window // 2), min(len(items), j + window // 2 + 1)
            part = items[lo:hi] if window > 1 else [items[j]]

            def avg(idx):
                vals = [p[idx].value for p in part]
                ses = [p[idx].stderr for p in part]
                se = None if any(s is None for s in ses) else float(
                    np.sqrt(np.sum(np.square(ses))) / len(ses))
                return float(np.mean(vals)) * scale, (se * scale if se is not None else None)

            a, sa = avg(2)
            b, sb = avg(3)
            points.append(PlanePoint(epoch, layer, a, sa, b, sb, quality))
    points.sort(key=lambda p: (p.epoch, p.layer))
    return points


def plot_information_plane(plane: InformationPlane, path: str) -> None:
    """Write an information-plane figure (needs matplotlib: pip install 'infocli[plot]')."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError("--plot needs matplotlib, which is not installed; install it with "
                         "pip install 'infocli[plot]'") from None
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=120)
    layers = sorted({p.layer for p in plane.points})
    epochs = sorted({p.epoch for p in plane.points})
    cmap = plt.get_cmap("viridis")
    for li, layer in enumerate(layers):
        pts = [p for p in plane.points if p.layer == layer]
        xs = [p.i_xt for p in pts]
        ys = [p.i_ty for p in pts]
        ax.plot(xs, ys, "-", color="0.7", lw=1, zorder=1)
        colors = [cmap(epochs.index(p.epoch) / max(len(epochs) - 1, 1)) for p in pts]
        ax.errorbar(xs, ys, xerr=[p.i_xt_stderr or 0 for p in pts],
                    yerr=[p.i_ty_stderr or 0 for p in pts], fmt="none", ecolor="0.6",
                    lw=0.8, zorder=2)
        ax.scatter(xs, ys, c=colors, marker="os^Dvp*h"[li % 8], s=30, zorder=3,
                   label=str(layer), edgecolors="k", linewidths=0.4)
    ax.set_xlabel(f"I(X;T) [{plane.unit}]")
    ax.set_ylabel(f"I(T;Y) [{plane.unit}]")
    ax.set_title("Information plane (colour: epoch)")
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(min(epochs), max(epochs)))
    fig.colorbar(sm, ax=ax, label="epoch")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def noisy(t, sigma: float = 1e-3, generator=None):
    """Stochastic activation t + sigma * t * eps (eps ~ N(0, 1)), as in the reference:
    makes I(X;T) finite for deterministic networks. Works on torch tensors (in a
    forward pass) and numpy arrays; pass a torch.Generator / numpy Generator to seed."""
    if type(t).__module__.startswith("torch"):
        import torch

        eps = torch.randn(t.shape, generator=generator, device=t.device, dtype=t.dtype) \
            if generator is not None else torch.randn_like(t)
        return t + sigma * t * eps
    rng = generator if generator is not None else np.random.default_rng()
    arr = np.asarray(t, dtype=np.float64)
    return arr + sigma * arr * rng.standard_normal(arr.shape)
