"""Layer tracking: information measures of a network's layers, epoch by epoch.

:class:`Tracker` registers forward hooks on the named layers of a model, keeps
a fixed seeded probe set of rows, and at every ``every``-th call of
:meth:`Tracker.step` runs the probe rows through the model (``torch.no_grad``,
evaluation mode, then the model's mode is restored), flattens each layer's
output to (rows, features) and measures it with infocli's estimators - so each
measure comes with its standard error, interval and reliability verdict:

* ``mi_x_noisy``: I(X; T+eps), X uniform over the probe rows and T+eps the
  layer through Gaussian noise (estimator ``noisy``,
  :mod:`infocli.estimators.noisy`);
* ``mi_y_noisy``: I(T+eps; Y) with the probe labels, the same channel;
* ``dse``: diffusion spectral entropy of the layer (:func:`infocli.dse`);
* ``entropy``: differential entropy H(T) (:func:`infocli.entropy`);
* ``mi_y``: I(T;Y) with the probe labels (:func:`infocli.mutual_information`);
* ``mi_x``: I(X;T) with the probe inputs;
* ``dsmi_y``: diffusion spectral MI with the labels (:func:`infocli.dsmi`);
* ``dsmi_x``: diffusion spectral MI with the probe inputs (k-means clusters of
  the inputs, ``n_clusters`` of them, as :func:`infocli.dsmi` does for a vector).

The default measures are the information plane of the noisy layers,
``mi_x_noisy`` and ``mi_y_noisy`` (Saxe et al., ICLR 2018): both from one
rows x rows matrix per layer, on the training device, in about a millisecond
per layer at the default 300 probe rows - cheap enough to measure every
epoch. Their only error is the Monte Carlo over the noise (the mixture
densities are exact), so their intervals hold by construction; they describe
the layer *with* that noise (see :mod:`infocli.estimators.noisy` on the noise
scale). The others run infocli's estimators on the activations, at 0.1-1 s
per layer and measure: use them with ``every="auto"`` or a larger ``every``.

(*) in ``unit`` (nats by default; DSE and DSMI are converted from their native
bits). One record per (epoch, layer, measure) is kept in :attr:`Tracker.records`
and appended to ``path`` (``.jsonl`` or ``.csv``) as it is made;
``activations_dir`` also writes ``epoch_<e>/<layer>.npy`` plus the probe's
``x.npy`` and ``y.npy``, the layout ``infocli ib`` reads for the information
plane.

The hooks store only detached copies while a probe pass runs (never during
training steps), and the copies are dropped once measured, so the tracker holds
no autograd graph and its memory does not grow with the epochs. The estimators
are imported when a measure is taken, not when this module is imported.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from ..errors import InputError, ParameterError

__all__ = ["Tracker", "MEASURES", "RECORD_FIELDS"]

#: Measures a :class:`Tracker` can take per layer.
MEASURES = ("dse", "entropy", "mi_y", "mi_x", "dsmi_y", "dsmi_x", "mi_x_noisy", "mi_y_noisy")
#: The measures of the noisy channel (one computation per layer gives both).
NOISY = ("mi_x_noisy", "mi_y_noisy")
#: Parameters of the noisy measures (``params={"noisy": {...}}``) and their defaults.
NOISY_PARAMS = {"sigma": "auto", "noise": 1.0, "draws": 1, "queries": 0}

#: Keys of one record (the CSV columns).
RECORD_FIELDS = ("epoch", "layer", "measure", "estimator", "value", "stderr", "lo", "hi",
                 "reliable", "unit", "n_samples", "dim", "warnings")


Tensor = torch.Tensor


def _as_tensor(a: Any) -> Tensor:
    return a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a))


class Tracker:
    """Record information measures of a model's layers on a fixed probe set.

    Parameters
    ----------
    model : torch.nn.Module
    layers : sequence of str or nn.Module
        Layers to track: names from ``model.named_modules()`` (e.g. ``"0"``,
        ``"encoder.fc2"``) or the modules themselves (named by their qualified
        name). The output of each layer's ``forward`` is recorded (the first
        element of a tuple output).
    probe_x : tensor or array, shape (n, ...)
        Inputs the probe rows are drawn from (on any device: they are moved to
        the model's device).
    probe_y : tensor or array, shape (n,) or (n, k), optional
        Labels (integer classes) or targets of the same rows; needed by
        ``mi_y`` and ``dsmi_y``.
    every : int or "auto"
        An int measures at every ``every``-th epoch (epochs 0, every, 2 every,
        ...), whatever it costs. ``"auto"`` (the default) measures the first
        epoch it is called for and then whenever the next measurement, at the
        cost of the last one, keeps the tracker's own time within ``budget`` of
        the training time since the tracker was made (the wall time between
        calls of :meth:`step`, less the tracker's): on cheap training it spaces
        the measured epochs out, on expensive training it measures every epoch.
    budget : float
        The overhead ``every="auto"`` allows, as a fraction of the training
        time (default 0.25). Ignored for an int ``every``.
    rows : int
        Probe set size: a seeded subset of ``rows`` rows of ``probe_x`` (all
        rows when there are fewer), fixed for the whole run. The default 300
        keeps the default measures at about a millisecond per layer on a CPU
        (the noisy channel's work grows as rows^2); the estimator-based
        measures are more precise with more rows (e.g. ``rows=1000``).
    measures : sequence of str, optional
        From :data:`MEASURES`; default ``("mi_x_noisy", "mi_y_noisy")`` with
        labels, else ``("mi_x_noisy",)``.
    path : str, optional
        File the records are appended to, one per (epoch, layer, measure):
        JSON lines for ``.jsonl``/``.json``, CSV for ``.csv``.
    activations_dir : str, optional
        Also save each measured epoch's activations as
        ``<dir>/epoch_<e>/<layer>.npy`` and the probe as ``<dir>/x.npy`` and
        ``<dir>/y.npy`` (``infocli ib <dir> --x <dir>/x.npy --y <dir>/y.npy``).
    discrete_y : bool, optional
        Whether ``probe_y`` holds class labels (default: integer dtype).
    estimator : str
        Estimator of ``entropy``, ``mi_y`` and ``mi_x`` (default ``auto``).
    check : {"off", "fast", "full"}, optional
        Reliability check level of every measure (default: the library's).
    unit : {"nats", "bits"}
    seed : int
        Seed of the probe subset and of every estimate.
    batch_size : int
        Rows per probe forward pass.
    params : dict, optional
        Extra estimator parameters, by measure name (e.g.
        ``{"dse": {"sigma": 10.0}}``); the two noisy measures share the key
        ``"noisy"``: ``sigma`` (noise SD, or ``"auto"``), ``noise`` (with
        ``sigma="auto"``, the noise SD as a multiple of the layer's RMS
        coordinate SD; default 1), ``draws`` (noise draws per query row; 1) and
        ``queries`` (Monte Carlo query rows, a seeded subset of the probe, each
        against all probe rows; default 0 = all).
    loggers : sequence, optional
        Where new records also go, as scalars per epoch: TensorBoard
        ``SummaryWriter``, W&B run, Lightning logger or a callable taking the
        records (see :func:`infocli.torch.integrations.log_records`).

    Attributes
    ----------
    records : list of dict
        Every record so far (keys :data:`RECORD_FIELDS`).
    probe_index : ndarray
        The rows of ``probe_x`` in the probe set.
    measured_epochs, skipped_epochs : list of int
        Epochs measured, and epochs that were due by ``every`` (every epoch
        under ``"auto"``) but skipped to keep within ``budget``.
    seconds : float
        Wall time spent in the tracker's measurements (probe pass, estimates
        and files).
    """

    def __init__(self, model: nn.Module, layers: Sequence[str | nn.Module], probe_x: Any,
                 probe_y: Any = None, *, every: int | str = "auto", budget: float = 0.25,
                 rows: int = 300,
                 measures: Sequence[str] | None = None, path: str | os.PathLike | None = None,
                 activations_dir: str | os.PathLike | None = None,
                 discrete_y: bool | None = None, estimator: str = "auto",
                 check: str | None = None, unit: str = "nats", seed: int = 0,
                 batch_size: int = 512, params: dict[str, dict] | None = None,
                 loggers: Sequence[Any] | None = None) -> None:
        if every != "auto" and (isinstance(every, str) or int(every) != every or every < 1):
            raise ParameterError(f"every must be a positive integer or 'auto'; got {every!r}")
        if not (isinstance(budget, (int, float)) and budget > 0):
            raise ParameterError(f"budget must be a positive fraction of the training time; "
                                 f"got {budget!r}")
        if rows < 2 or batch_size < 1:
            raise ParameterError(f"rows and batch_size must be >= 2 and >= 1; got "
                                 f"{rows}, {batch_size}")
        if measures is None:
            measures = NOISY if probe_y is not None else ("mi_x_noisy",)
        bad = [m for m in measures if m not in MEASURES]
        if bad:
            raise ParameterError(f"unknown measure(s) {', '.join(bad)}: expected some of "
                                 f"{', '.join(MEASURES)}")
        if probe_y is None and any(m in ("mi_y", "dsmi_y", "mi_y_noisy") for m in measures):
            raise ParameterError("measures mi_y, dsmi_y and mi_y_noisy need probe_y (the labels)")
        noisy = dict((params or {}).get("noisy", {}))
        unknown = sorted(set(noisy) - set(NOISY_PARAMS))
        if unknown:
            raise ParameterError(f"unknown noisy parameter(s) {', '.join(unknown)}: expected "
                                 f"some of {', '.join(NOISY_PARAMS)}")
        self._noisy = {**NOISY_PARAMS, **noisy}
        from ..estimators.noisy import parse_sigma

        self._noisy["sigma"] = parse_sigma(self._noisy["sigma"])
        self.model = model
        self.every = every if every == "auto" else int(every)
        self.budget, self.measures = float(budget), tuple(measures)
        self.measured_epochs: list[int] = []
        self.skipped_epochs: list[int] = []
        self.seconds = 0.0
        self._last_cost: float | None = None
        self._created = time.perf_counter()
        self.estimator, self.check, self.unit, self.seed = estimator, check, unit, int(seed)
        self.batch_size = int(batch_size)
        self.params = dict(params or {})
        self.loggers = list(loggers or [])
        self.path = None if path is None else os.fspath(path)
        self.activations_dir = None if activations_dir is None else os.fspath(activations_dir)
        self.records: list[dict[str, Any]] = []
        self._noisy_rng = np.random.default_rng([self.seed, 1])

        x = _as_tensor(probe_x)
        n = len(x)
        if probe_y is not None and len(probe_y) != n:
            raise InputError(f"probe_x has {n} rows but probe_y has {len(probe_y)}")
        rng = np.random.default_rng(self.seed)
        self.probe_index = (np.sort(rng.choice(n, rows, replace=False)) if n > rows
                            else np.arange(n))
        idx = torch.as_tensor(self.probe_index, device=x.device)
        self._x = x.index_select(0, idx).detach()
        self._flat_inputs: np.ndarray | None = None
        self._y = None
        if probe_y is not None:
            y = np.asarray(probe_y.detach().cpu() if isinstance(probe_y, torch.Tensor)
                           else probe_y)[self.probe_index]
            self._y = y
            if discrete_y is None:
                discrete_y = np.issubdtype(y.dtype, np.integer)
        self.discrete_y = bool(discrete_y)
        if "mi_y_noisy" in self.measures and not self.discrete_y:
            raise ParameterError("measure mi_y_noisy needs class labels (integer probe_y, or "
                                 "discrete_y=True)")

        named = dict(model.named_modules())
        by_module = {id(m): name for name, m in named.items()}
        self.layer_names: list[str] = []
        self._handles = []
        self._store: dict[str, list[Tensor]] = {}
        self._capturing = False
        for layer in layers:
            if isinstance(layer, nn.Module):
                if id(layer) not in by_module:
                    raise ParameterError("a layer module is not part of the model")
                name, module = by_module[id(layer)], layer
            else:
                if layer not in named:
                    raise ParameterError(
                        f"layer {layer!r} is not in the model; its layers are: "
                        + ", ".join(repr(k) for k in named if k))
                name, module = str(layer), named[layer]
            self.layer_names.append(name)
            self._handles.append(module.register_forward_hook(self._hook(name)))
        if self.path is not None:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        if self.activations_dir is not None:
            os.makedirs(self.activations_dir, exist_ok=True)
            np.save(os.path.join(self.activations_dir, "x.npy"), self._flat(self._x))
            if self._y is not None:
                np.save(os.path.join(self.activations_dir, "y.npy"), self._y)

    # -- hooks and probe pass -------------------------------------------------------
    def _hook(self, name: str):
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            if not self._capturing:
                return  # training steps pass through untouched
            out = output[0] if isinstance(output, (tuple, list)) else output
            self._store.setdefault(name, []).append(out.detach())
        return hook

    @staticmethod
    def _flat(t: Tensor) -> np.ndarray:
        return t.detach().reshape(len(t), -1).to("cpu", torch.float64).numpy()

    def _device(self) -> torch.device:
        for p in self.model.parameters():
            return p.device
        return self._x.device

    def activations(self) -> dict[str, np.ndarray]:
        """Run the probe rows through the model and return each tracked layer's
        output as a float64 array (rows, features); no graph, model mode kept."""
        return {name: self._flat(t) for name, t in self._probe_pass().items()}

    def _probe_pass(self) -> dict[str, Tensor]:
        """Each tracked layer's output on the probe rows, detached, on the model's device."""
        was_training = self.model.training
        device = self._device()
        self._store = {}
        self._capturing = True
        try:
            self.model.eval()
            with torch.no_grad():
                for start in range(0, len(self._x), self.batch_size):
                    self.model(self._x[start:start + self.batch_size].to(device))
        finally:
            self._capturing = False
            self.model.train(was_training)
        out = {}
        for name in self.layer_names:
            parts = self._store.get(name)
            if not parts:
                raise InputError(f"layer {name!r} produced no output during the probe pass "
                                 "(is it used in the model's forward?)")
            out[name] = torch.cat(parts)
        self._store = {}  # drop the tensors: nothing is held between epochs
        return out

    # -- measures --------------------------------------------------------------------
    def _measure(self, measure: str, t: np.ndarray):
        import infocli

        extra = self.params.get(measure, {})
        common = dict(unit=self.unit, seed=self.seed, check=self.check)
        if measure == "dse":
            return infocli.dse(t, **common, **extra)
        if measure == "dsmi_y":
            return infocli.dsmi(t, self._y, discrete_y=self.discrete_y, **common, **extra)
        if measure == "dsmi_x":
            return infocli.dsmi(t, self._inputs(), discrete_y=False, **common, **extra)
        if measure == "entropy":
            return infocli.entropy(t, estimator=self.estimator, params=extra, **common)
        if measure == "mi_y":
            return infocli.mutual_information(t, self._y, estimator=self.estimator,
                                              discrete_y=self.discrete_y, params=extra,
                                              **common)
        return infocli.mutual_information(self._inputs(), t, estimator=self.estimator,
                                          params=extra, **common)

    def _inputs(self) -> np.ndarray:
        """The probe inputs, flat, without constant columns (digits' border pixels
        carry nothing, and the density-based estimators refuse them); made once."""
        if self._flat_inputs is None:
            x = self._flat(self._x)
            self._flat_inputs = x[:, np.ptp(x, axis=0) > 0]
        return self._flat_inputs

    @property
    def training_seconds(self) -> float:
        """Wall time since the tracker was made, less the tracker's own time."""
        return time.perf_counter() - self._created - self.seconds

    def _due(self, epoch: int, force: bool) -> bool:
        if force:
            return True
        if self.every != "auto":
            return epoch % self.every == 0
        if self._last_cost is None:
            return True  # the first call: the cost of a measurement is not known yet
        if self.seconds + self._last_cost <= self.budget * self.training_seconds:
            return True
        self.skipped_epochs.append(int(epoch))
        return False

    def step(self, epoch: int, *, force: bool = False) -> list[dict[str, Any]]:
        """Measure every tracked layer if ``epoch`` is due (see ``every``);
        returns the new records (empty when not due). ``force=True`` measures
        regardless, e.g. at the last epoch of a run."""
        if not self._due(epoch, force):
            return []
        start = time.perf_counter()
        try:
            return self._step(epoch)
        finally:
            self._last_cost = time.perf_counter() - start
            self.seconds += self._last_cost

    def _step(self, epoch: int) -> list[dict[str, Any]]:
        self.measured_epochs.append(int(epoch))
        tensors = self._probe_pass()
        new = []
        others = [m for m in self.measures if m not in NOISY]
        noisy = (self._noisy_records(tensors)
                 if any(m in NOISY for m in self.measures) else {})
        for name, tensor in tensors.items():
            if self.activations_dir is not None or others:
                t = self._flat(tensor)
            if self.activations_dir is not None:
                folder = os.path.join(self.activations_dir, f"epoch_{epoch}")
                os.makedirs(folder, exist_ok=True)
                np.save(os.path.join(folder, f"{name}.npy"), t)
            if others:
                # dead units (a ReLU that never fires on the probe) are constant columns: they
                # carry no information, and the density-based estimators refuse them
                varying = np.ptp(t, axis=0) > 0
                dropped = int((~varying).sum())
            for measure in self.measures:
                record = {"epoch": int(epoch), "layer": name, "measure": measure,
                          "dim": int(tensor[0].numel())}
                if measure in NOISY:
                    record.update(noisy[name][measure])
                    new.append({k: record[k] for k in RECORD_FIELDS})
                    continue
                notes = []
                if measure in ("dse", "dsmi_y", "dsmi_x"):
                    est = self._measure(measure, t)
                elif not varying.any():
                    record.update(self._constant(measure, len(t)))
                    new.append(record)
                    continue
                else:
                    est = self._measure(measure, t[:, varying])
                    if dropped:
                        notes.append(f"{dropped} constant column(s) of {t.shape[1]} left out")
                lo, hi = est.interval if est.interval is not None else (None, None)
                record.update({
                    "estimator": est.estimator, "value": est.value, "stderr": est.stderr,
                    "lo": lo, "hi": hi, "reliable": est.reliable, "unit": est.unit,
                    "n_samples": est.n_samples, "warnings": " | ".join([*notes, *est.warnings]),
                })
                new.append({k: record[k] for k in RECORD_FIELDS})
        self.records.extend(new)
        if self.path is not None:
            self._write(new)
        if self.loggers:
            from .integrations import log_records

            for logger in self.loggers:
                log_records(new, logger)
        return new

    def _noisy_records(self, tensors: dict[str, Tensor]) -> dict[str, dict[str, dict[str, Any]]]:
        """Both noisy measures of every layer (by name) from one Monte Carlo pass
        (estimator ``noisy``): value, stderr, interval within the bounds [0, log n]
        and [0, H(Y)], reliable (the Monte Carlo error is the only error, and it is
        in the interval - except for I(X; T+eps) at its ceiling, where the note
        says why it is not)."""
        from ..estimators.noisy import noisy_terms_many, saturation_note

        opts = self._noisy
        labels = self._y if "mi_y_noisy" in self.measures else None
        channels = noisy_terms_many([t.reshape(len(t), -1) for t in tensors.values()], labels,
                                    sigma=opts["sigma"], noise=opts["noise"],
                                    draws=opts["draws"], queries=opts["queries"],
                                    seed=self._noisy_rng)
        scale = 1.0 / math.log(2.0) if self.unit == "bits" else 1.0
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for name, ch in zip(tensors, channels):
            mi_x = ch.mi_x()
            note = saturation_note(mi_x["value"], mi_x["top"])
            out[name] = {}
            for measure, summary in (("mi_x_noisy", mi_x),
                                     ("mi_y_noisy", ch.mi_y() if labels is not None else None)):
                if summary is None:
                    continue
                out[name][measure] = {
                    "estimator": "noisy", "value": summary["value"] * scale,
                    "stderr": summary["stderr"] * scale, "lo": summary["lo"] * scale,
                    "hi": summary["hi"] * scale,
                    # near log n the interval of I(X; T+eps) is too narrow (saturation_note)
                    "reliable": note is None or measure == "mi_y_noisy", "unit": self.unit,
                    "n_samples": ch.n, "warnings": "" if note is None else note}
        return out

    def _constant(self, measure: str, n: int) -> dict[str, Any]:
        """A layer constant on every probe row: MI is exactly 0; entropy is -inf
        (not finite: reported as None)."""
        mi = measure in ("mi_y", "mi_x")
        return {"estimator": "constant", "value": 0.0 if mi else None,
                "stderr": 0.0 if mi else None, "lo": 0.0 if mi else None,
                "hi": 0.0 if mi else None, "reliable": True if mi else None,
                "unit": self.unit, "n_samples": n,
                "warnings": "the layer is constant on every probe row"}

    def _write(self, records: list[dict[str, Any]]) -> None:
        csv_file = self.path.lower().endswith(".csv")
        fresh = not os.path.exists(self.path) or os.path.getsize(self.path) == 0
        with open(self.path, "a", encoding="utf-8", newline="") as fh:
            if csv_file:
                writer = csv.DictWriter(fh, fieldnames=RECORD_FIELDS)
                if fresh:
                    writer.writeheader()
                writer.writerows({k: ("" if v is None else v) for k, v in r.items()}
                                 for r in records)
            else:
                for r in records:
                    fh.write(json.dumps({k: (None if isinstance(v, float) and not math.isfinite(v)
                                             else v) for k, v in r.items()}) + "\n")

    # -- lifetime ---------------------------------------------------------------------
    def close(self) -> None:
        """Remove the hooks (the model is left as it was)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> "Tracker":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
