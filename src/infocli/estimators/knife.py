"""KNIFE estimators of H(X), H(X|Z) and I(X;Y) with an honest protocol.

Pichler, Colombo, Boudiaf, Koliander & Piantanida, "A Differential Entropy
Estimator for Training Neural Networks", ICML 2022. The densities live in
:mod:`infocli.torch`; this module runs the protocol:

1. the rows are split by a seeded permutation into train / validation / test
   parts (stratified by class when the conditioning variable is labels);
2. each continuous variable is standardised with its *training* mean and
   standard deviation (entropies add sum(log sd) back: h(aX + b) = h(X) + log|a|);
3. capacity (``init=em``, the default): every candidate mixture - covariance
   type (full, diagonal), number of kernels M = 1, 2, 4, ... (doubled while it
   pays, at most one kernel per 2 max(d, 10) training rows) and, for full
   covariances, the shrinkage of each kernel's covariance toward its diagonal
   - is fitted by EM on the training rows, and the one with the highest
   validation log-likelihood is kept (:func:`infocli.torch.select_mixture`). So
   n and d set the capacity: 3,500 training rows in 50 dimensions buy one
   lightly shrunk Gaussian, the same rows in 2 dimensions dozens of kernels.
   (``init=data|random`` keep the paper's fixed M with unit-bandwidth kernels.);
4. the kernels are then fitted by Adam on the training cross-entropy, with early
   stopping on the validation cross-entropy (the best epoch is kept; the EM
   start is epoch 0, so Adam can only improve it on the validation rows);
5. the estimate is the mean of per-sample terms on the test rows only, which
   the fit never saw: -log f(x) for H(X), -log f(x|z) for H(X|Z), and for
   I(X;Y) with continuous y (default ``mi_form=joint``) the pointwise
   log f(x,y) - log f(x) - log f(y) of ONE fitted joint mixture f(x,y) and its
   exact marginals (the marginal of a Gaussian mixture is the mixture of the
   kernels' marginals): the joint and the marginals share every kernel, so
   their errors cancel - the expected estimate is
   I - E_x KL(p(y|x) || f(y|x)) + KL(p(y) || f(y)), and a product-form fit
   (one diagonal kernel) gives exactly 0. The older forms remain:
   log f(x|y) - log f(x) with separate fits (``difference``, paper eq. 8) and
   log f(x,y) - log f(x) - log f(y) with three fits (``three_entropies``).
   For class labels y the default (``mi_form=pooled``) takes f(x) as the pooled
   mixture sum_c p(c) f(x|c) of the fitted class densities (itself a KNIFE
   with the union of the class kernels), so both terms share one fit:
   mean log f(x|y) / sum_c p(c) f(x|c) = mean log p(y|x) + H(Y), which never
   exceeds H(Y) (plug-in) and is, in expectation, a lower bound on I when
   the class densities are imperfect (Barber-Agakov);
   stderr = std of those terms / sqrt(n_test).

A fitted set of densities can be saved (``save_model``) and evaluated later on
new rows without refitting (``model``); then every row is evaluated. The joint
form saves the joint and its two marginals.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._device import resolve_torch_device, torch_threads
from .._version import __version__
from ..errors import Hint, InputError, ParameterError
from ..io import check_writable, write_atomic
from ._common import Context, Raw, class_groups, mean_and_stderr

STDERR_METHOD = "std of per-sample test-row terms / sqrt(n_test)"
FORMAT = "infocli-knife"
FORMAT_VERSION = 1


# --------------------------------------------------------------------------- public entry points


def knife_entropy(ctx: Context, x, **params) -> Raw:
    """H(X) = mean over test rows of -log f(x) (nats)."""
    return _run(ctx, "entropy", {"x": x}, params)


def knife_conditional_entropy(ctx: Context, x, z, **params) -> Raw:
    """H(X|Z) = mean over test rows of -log f(x|z); labels z: one kernel set per class."""
    return _run(ctx, "conditional_entropy", {"x": x, "z": z}, params)


def knife_mi(ctx: Context, x, y, **params) -> Raw:
    """I(X;Y) on the test rows: mean log f(x,y) / f(x) f(y) of one joint fit and its
    exact marginals (continuous y), or the pooled class form (labels y)."""
    labels = bool(ctx.discrete.get("y"))
    form = params["mi_form"]
    if form == "auto":
        form = "pooled" if labels else "joint"
    if form in ("three_entropies", "joint") and labels:
        raise ParameterError(
            f"mi_form={form} needs a continuous y, but {ctx.name('y')} holds class "
            "labels (a discrete y has no differential entropy); use mi_form=pooled or "
            "difference")
    if form == "pooled" and not labels:
        raise ParameterError(
            f"mi_form=pooled needs class labels y, but {ctx.name('y')} is continuous; use "
            "mi_form=joint, difference or three_entropies, or if y holds labels",
            hint=Hint("labels", "y"))
    ctx.details["mi_form"] = form
    return _run(ctx, "mutual_information", {"x": x, "y": y}, {**params, "mi_form": form})


# --------------------------------------------------------------------------- the bundle


@dataclass
class _Bundle:
    """Fitted densities of one measure plus what is needed to apply them to new rows."""

    measure: str
    mi_form: str
    variables: dict[str, dict[str, Any]]  # var -> dims, name, discrete, classes, mean, sd
    components: dict[str, Any] = field(default_factory=dict)  # key -> torch module

    def component_keys(self) -> list[str]:
        if self.measure == "entropy":
            return ["x"]
        if self.measure == "conditional_entropy":
            return ["x|z"]
        if self.mi_form == "pooled":
            return ["x|y"]
        if self.mi_form == "joint":
            return ["xy"]  # x and y are its exact marginals, added after the fit
        return ["x", "x|y"] if self.mi_form == "difference" else ["x", "y", "xy"]

    def log_scale(self, var: str) -> float:
        return float(np.log(self.variables[var]["sd"]).sum())

    def standardised(self, arrays: dict[str, np.ndarray], torch_device: str):
        """Tensors of every variable: continuous ones standardised, labels as long."""
        import torch

        out = {}
        for var, a in arrays.items():
            info = self.variables[var]
            if info["discrete"]:
                out[var] = torch.as_tensor(a, dtype=torch.long, device=torch_device)
            else:
                s = (a - info["mean"]) / info["sd"]
                out[var] = torch.as_tensor(s, dtype=torch.float32, device=torch_device)
        return out

    def component_inputs(self, key: str, t: dict) -> tuple:
        import torch

        if key == "x":
            return (t["x"],)
        if key == "y":
            return (t["y"],)
        if key == "xy":
            return (torch.cat([t["x"], t["y"]], dim=1),)
        cond = key.split("|")[1]
        return (t["x"], t[cond])

    def terms(self, t: dict) -> np.ndarray:
        """Per-sample terms (float64) whose mean is the estimate in nats."""
        import torch

        from ..torch import log_prob_chunked

        if self.mi_form == "pooled" and self.measure == "mutual_information":
            module = self.components["x|y"]
            lp = log_prob_chunked(module, (t["x"],), method="log_prob_classes").double()
            log_prior = torch.log(torch.as_tensor(self.variables["y"]["prior"],
                                                  dtype=torch.float64, device=lp.device))
            own = lp.gather(1, t["y"].reshape(-1, 1)).squeeze(1)
            return (own - torch.logsumexp(lp + log_prior[None, :], dim=1)).cpu().numpy()
        lp = {k: log_prob_chunked(m, self.component_inputs(k, t)).double().cpu().numpy()
              for k, m in self.components.items()}
        if self.measure == "entropy":
            return -lp["x"] + self.log_scale("x")
        if self.measure == "conditional_entropy":
            return -lp["x|z"] + self.log_scale("x")
        if self.mi_form == "difference":
            return lp["x|y"] - lp["x"]
        return lp["xy"] - lp["x"] - lp["y"]

    def to_dict(self) -> dict:
        variables = {}
        for var, info in self.variables.items():
            entry = {k: v for k, v in info.items() if k not in ("mean", "sd")}
            if not info["discrete"]:
                entry["mean"] = [float(v) for v in info["mean"]]
                entry["sd"] = [float(v) for v in info["sd"]]
            variables[var] = entry
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "infocli_version": __version__,
            "measure": self.measure,
            "mi_form": self.mi_form,
            "variables": variables,
            "components": {
                key: {"kind": type(m).__name__, "config": m.config(),
                      "state": {k: v.detach().cpu() for k, v in m.state_dict().items()}}
                for key, m in self.components.items()
            },
        }


def _build(kind: str, config: dict, **init):
    from .. import torch as knn

    cls = {"KNIFE": knn.KNIFE, "ClassConditionalKNIFE": knn.ClassConditionalKNIFE,
           "ConditionalKNIFE": knn.ConditionalKNIFE}[kind]
    config = dict(config)
    if kind == "KNIFE":
        return cls(config.pop("dim"), config.pop("n_kernels"), **config, **init)
    if kind == "ClassConditionalKNIFE":
        return cls(config.pop("dim"), config.pop("n_classes"), config.pop("n_kernels"),
                   **config, **init)
    return cls(config.pop("dim"), config.pop("cond_dim"), config.pop("n_kernels"),
               **config, **init)


def load_model(path: str) -> _Bundle:
    """Read a file written with ``save_model``; InputError if it is not one."""
    import torch

    if not os.path.isfile(path):
        raise InputError(f"model {path}: no such file")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unpickling failure means "not our file"
        raise InputError(f"model {path}: not a KNIFE model saved by infocli "
                         f"({type(exc).__name__})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise InputError(f"model {path}: not a KNIFE model saved by infocli "
                         "(no 'format: infocli-knife' entry)")
    if raw.get("format_version") != FORMAT_VERSION:
        raise InputError(f"model {path}: format version {raw.get('format_version')!r} is not "
                         f"supported (this infocli reads version {FORMAT_VERSION})")
    try:
        variables = {}
        for var, info in raw["variables"].items():
            info = dict(info)
            if not info["discrete"]:
                info["mean"] = np.asarray(info["mean"], dtype=np.float64)
                info["sd"] = np.asarray(info["sd"], dtype=np.float64)
            variables[var] = info
        bundle = _Bundle(raw["measure"], raw["mi_form"], variables)
        for key, comp in raw["components"].items():
            module = _build(comp["kind"], comp["config"])
            module.load_state_dict(comp["state"])
            module.eval()
            bundle.components[key] = module
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise InputError(f"model {path}: damaged KNIFE model file ({type(exc).__name__}: "
                         f"{exc})") from None
    return bundle


def _save(bundle: _Bundle, path: str) -> None:
    import torch

    data = bundle.to_dict()
    write_atomic(path, "save_model", lambda tmp: torch.save(data, tmp))


def split_rows(n: int, rng: np.random.Generator, val_fraction: float, test_fraction: float,
               labels: np.ndarray | None = None, describe=lambda code: f"class {code}"):
    """Seeded train / validation / test row indices (stratified by ``labels``).

    Each group (all rows, or each class) gets round(fraction * size) test and
    validation rows and keeps the rest for training.
    """
    if val_fraction + test_fraction >= 1:
        raise ParameterError(
            f"val_fraction + test_fraction = {val_fraction + test_fraction:g} leaves no "
            "training rows; expected a sum below 1")
    groups = [np.arange(n)] if labels is None else class_groups(labels)
    parts: list[list[np.ndarray]] = [[], [], []]
    for g in groups:
        g = g[rng.permutation(g.size)]
        n_test = int(round(test_fraction * g.size))
        n_val = int(round(val_fraction * g.size))
        n_train = g.size - n_test - n_val
        if n_train < 1:
            what = "the data" if labels is None else describe(int(labels[g[0]]))
            raise InputError(
                f"{what} has {g.size} rows: too few to keep a training row after "
                f"test_fraction={test_fraction:g} and val_fraction={val_fraction:g}")
        parts[0].append(g[:n_train])
        parts[1].append(g[n_train:n_train + n_val])
        parts[2].append(g[n_train + n_val:])
    train, val, test = (np.sort(np.concatenate(p)) for p in parts)
    needed = {"training": (train, 2), "test": (test, 2)}
    if val_fraction > 0:
        needed["validation"] = (val, 1)
    for what, (rows, least) in needed.items():
        if rows.size < least:
            raise InputError(
                f"{n} rows give {rows.size} {what} rows (val_fraction={val_fraction:g}, "
                f"test_fraction={test_fraction:g}); at least {least} are needed - "
                "give more rows or change the fractions")
    return train, val, test


def _column_stats(a: np.ndarray, rows: np.ndarray, label: str) -> tuple[np.ndarray, np.ndarray]:
    mean = a[rows].mean(axis=0)
    sd = a[rows].std(axis=0)
    for j in np.flatnonzero(sd == 0):
        raise InputError(
            f"{label}: column {j} is constant on the training rows ({a[rows[0], j]!r}); a "
            "constant has no differential entropy - drop the column")
    return mean, sd


def _kernels(value) -> int | None:
    """``n_kernels``: a positive integer, or None for 'auto'."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return None
    try:
        m = int(value)
    except (TypeError, ValueError):
        m = 0
    if isinstance(value, bool) or m < 1 or (not isinstance(value, str) and m != value):
        raise ParameterError(f"parameter n_kernels={value!r}: expected a positive integer or "
                             "'auto'")
    return m


def _run(ctx: Context, measure: str, arrays: dict[str, np.ndarray], p: dict[str, Any]) -> Raw:
    p = {**p, "n_kernels": _kernels(p["n_kernels"])}
    if p["model"] and (p["save_model"] and os.path.abspath(p["save_model"])
                       == os.path.abspath(p["model"])):
        raise ParameterError("model and save_model name the same file")
    write = ctx.write_files
    if p["save_model"] and write:
        if p["model"]:
            raise ParameterError("save_model writes a newly fitted model; it cannot be "
                                 "combined with model (which evaluates a saved one)")
        check_writable(p["save_model"], "save_model")
    if p["per_sample"] and write:
        check_writable(p["per_sample"], "per_sample")

    device = resolve_torch_device(ctx.device)
    ctx.device_used = device
    n = len(arrays["x"])
    with torch_threads(p["threads"]):
        if p["model"]:
            bundle = load_model(p["model"])
            _check_model(bundle, p["model"], ctx, measure, arrays)
            arrays = _recode_labels(bundle, p["model"], ctx, arrays)
            for m in bundle.components.values():
                m.to(device)
            t = bundle.standardised(arrays, device)
            test = np.arange(n)
            terms = bundle.terms(t)
            ctx.details.update(model=p["model"], n_test=n, fitted_with=bundle.to_dict()
                               ["infocli_version"])
            if measure == "mutual_information":
                ctx.details["mi_form"] = bundle.mi_form
        else:
            bundle, test = _fit(ctx, measure, arrays, p, device)
            terms = bundle.terms(bundle.standardised({k: a[test] for k, a in arrays.items()},
                                                     device))
    if not np.all(np.isfinite(terms)):
        from ..errors import EstimationError

        raise EstimationError(
            f"KNIFE gave non-finite log-densities on {int(np.sum(~np.isfinite(terms)))} test "
            f"rows; lower the learning rate (lr={p['lr']:g}) or use covariance=diag")
    if write and p["save_model"]:
        _save(bundle, p["save_model"])
    if write and p["per_sample"]:
        out = np.full(n, np.nan)
        out[test] = -terms if measure != "mutual_information" else terms

        def save(tmp: str) -> None:
            with open(tmp, "wb") as f:  # a file object: np.save adds no suffix
                np.save(f, out)

        path = p["per_sample"] if p["per_sample"].endswith(".npy") else p["per_sample"] + ".npy"
        write_atomic(path, "per_sample", save)
    return mean_and_stderr(terms, STDERR_METHOD)


def _check_model(bundle: _Bundle, path: str, ctx: Context, measure: str, arrays) -> None:
    if bundle.measure != measure:
        raise InputError(f"model {path} estimates {bundle.measure.replace('_', ' ')}, "
                         f"not {measure.replace('_', ' ')}")
    for var, a in arrays.items():
        info = bundle.variables.get(var)
        if info is None:
            raise InputError(f"model {path} has no variable {var!r}")
        discrete = bool(ctx.discrete.get(var))
        if discrete != info["discrete"]:
            kind = "class labels" if info["discrete"] else "continuous values"
            raise InputError(f"model {path} was fitted with {kind} for {var} "
                             f"({info['name']}), which {ctx.name(var)} is not")
        dims = 1 if a.ndim == 1 else a.shape[1]
        if not discrete and dims != info["dims"]:
            raise InputError(
                f"model {path} was fitted on {info['dims']} columns of {var} ({info['name']}) "
                f"but {ctx.name(var)} has {dims}")


def _recode_labels(bundle: _Bundle, path: str, ctx: Context, arrays) -> dict:
    """Map this data's label codes to the model's class codes (by label text)."""
    out = dict(arrays)
    for var, a in arrays.items():
        info = bundle.variables[var]
        if not info["discrete"]:
            continue
        model_codes = {label: i for i, label in enumerate(info["classes"])}
        labels = ctx.classes.get(var) or list(range(int(a.max()) + 1))
        mapping = np.empty(len(labels), dtype=np.int64)
        for code, label in enumerate(labels):
            if str(label) not in model_codes:
                raise InputError(f"{ctx.name(var)}: class {label!r} was not seen when model "
                                 f"{path} was fitted (its classes: "
                                 f"{', '.join(info['classes'][:10])})")
            mapping[code] = model_codes[str(label)]
        out[var] = mapping[a]
    return out


def _fit_by_em(inputs: tuple, val_inputs: tuple | None, classes: bool, n_kernels: int | None,
               covariance: str | None, p: dict[str, Any], generator, split: int | None = None):
    """A KNIFE (or one per class) whose capacity is chosen by validation likelihood.

    Each candidate (covariance type, number of kernels, shrinkage) is fitted by
    EM on the training rows and scored by its log-likelihood on the validation
    rows (see :func:`infocli.torch.select_mixture`); the winner becomes the
    starting point of the Adam fit. Returns (module, record of the choice).
    """
    from .. import torch as knn

    if val_inputs is None or len(val_inputs[0]) == 0:
        raise ParameterError(
            "init=em chooses the kernels, covariance and shrinkage by validation "
            "likelihood, but val_fraction=0 leaves no validation rows; give val_fraction > 0 "
            "or use init=data with a fixed n_kernels")
    if classes:
        x, y = inputs[0].cpu(), inputs[1].cpu()
        xv, yv = val_inputs[0].cpu(), val_inputs[1].cpu()
        n_classes = int(max(int(y.max()), int(yv.max()) if len(yv) else 0)) + 1
        train = [x[y == c] for c in range(n_classes)]
        val = [xv[yv == c] for c in range(n_classes)]
        keep = [c for c in range(n_classes) if len(train[c])]
        mixes, tried = knn.select_mixture([train[c] for c in keep], [val[c] for c in keep],
                                          n_kernels=n_kernels, covariance=covariance,
                                          max_kernels=p["max_kernels"], generator=generator)
        by_class = dict(zip(keep, mixes))
        first = mixes[0]
        module = knn.ClassConditionalKNIFE(x.shape[1], n_classes, len(first["means"]),
                                           covariance=first["covariance"],
                                           weights=p["weights"])
        for c, mix in by_class.items():
            module.kernels[c] = knn.KNIFE.from_mixture(mix, weights=p["weights"])
    else:
        mixes, tried = knn.select_mixture([inputs[0].cpu()], [val_inputs[0].cpu()],
                                          n_kernels=n_kernels, covariance=covariance,
                                          max_kernels=p["max_kernels"], generator=generator,
                                          split=split)
        first = mixes[0]
        module = knn.KNIFE.from_mixture(first, weights=p["weights"])
    best = max(tried, key=lambda r: r["validation_log_lik"])
    record = {"covariance": first["covariance"], "n_kernels": int(len(first["means"])),
              "shrinkage": best["shrinkage"],
              "candidates": [{k: (round(v, 6) if isinstance(v, float) else v)
                              for k, v in r.items()} for r in tried]}
    return module, record


def _fit(ctx: Context, measure: str, arrays: dict[str, np.ndarray], p: dict[str, Any],
         device: str):
    import torch

    from .. import torch as knn

    cond_var = {"conditional_entropy": "z", "mutual_information": "y"}.get(measure)
    labels = arrays[cond_var] if cond_var and ctx.discrete.get(cond_var) else None
    n = len(arrays["x"])
    train, val, test = split_rows(n, ctx.rng, p["val_fraction"], p["test_fraction"], labels,
                                  describe=lambda c: ctx.class_name(cond_var, c))
    ctx.details.update(n_train=int(train.size), n_validation=int(val.size),
                       n_test=int(test.size))

    variables: dict[str, dict[str, Any]] = {}
    for var, a in arrays.items():
        if ctx.discrete.get(var):
            names = ctx.classes.get(var) or list(range(int(a.max()) + 1))
            counts = np.bincount(a[train].astype(np.int64), minlength=len(names))
            variables[var] = {"discrete": True, "dims": 1, "name": ctx.name(var),
                              "classes": [str(c) for c in names],
                              "prior": [float(c) for c in counts / counts.sum()]}
        else:
            mean, sd = _column_stats(a, train, ctx.name(var))
            variables[var] = {"discrete": False, "dims": int(a.shape[1]), "name": ctx.name(var),
                              "mean": mean, "sd": sd}
    bundle = _Bundle(measure, p["mi_form"], variables)

    generator = torch.Generator().manual_seed(int(ctx.rng.integers(2**62)))
    t_train = bundle.standardised({k: a[train] for k, a in arrays.items()}, device)
    t_val = bundle.standardised({k: a[val] for k, a in arrays.items()}, device)
    n_kernels = p["n_kernels"]
    covariance = None if p["covariance"] == "auto" else p["covariance"]
    common = dict(weights=p["weights"], init_std=p["init_std"], generator=generator)
    fits, capacity = {}, {}
    for key in bundle.component_keys():
        inputs = bundle.component_inputs(key, t_train)
        val_inputs = bundle.component_inputs(key, t_val) if val.size else None
        label = {"x": "H(x)", "y": "H(y)", "xy": "H(x,y)", "x|z": "H(x|z)",
                 "x|y": "H(x|y)"}[key]
        classes = key not in ("x", "y", "xy") and ctx.discrete.get(cond_var)
        if key in ("x", "y", "xy") or classes:
            if p["init"] == "em":
                # the joint MI form scores candidates by both conditionals (x|y, y|x)
                split = variables["x"]["dims"] if bundle.mi_form == "joint" else None
                module, capacity[label] = _fit_by_em(inputs, val_inputs, classes, n_kernels,
                                                     covariance, p, generator, split)
            else:
                m = n_kernels or 128  # the paper's M when no capacity is chosen
                init = inputs[0].cpu() if p["init"] == "data" else None
                if classes:
                    module = knn.ClassConditionalKNIFE(
                        inputs[0].shape[1], len(variables[cond_var]["classes"]), m,
                        covariance=covariance or "full", init_samples=init,
                        init_labels=inputs[1].cpu(), **common)
                else:
                    module = knn.KNIFE(inputs[0].shape[1], m, covariance=covariance or "full",
                                       init_samples=init, **common)
        else:
            init = inputs[0].cpu() if p["init"] in ("data", "em") else None
            module = knn.ConditionalKNIFE(
                inputs[0].shape[1], inputs[1].shape[1], p["cond_kernels"], hidden=p["hidden"],
                covariance=covariance or "full", init_samples=init, **common)
        module.to(device)
        scale = bundle.log_scale("x") + (bundle.log_scale("y") if key == "xy" else 0.0)
        if key == "y":
            scale = bundle.log_scale("y")

        def on_epoch(epoch, total, train_loss, val_loss, label=label, scale=scale):
            text = f"fit {label} | train {train_loss + scale:.4f}"
            if not math.isnan(val_loss):
                text += f"  val {val_loss + scale:.4f}"
            ctx.report(text + " nats", epoch, total)

        if p["max_epochs"] > 0:
            knn.fit_density(module, inputs, val_inputs, lr=p["lr"], batch_size=p["batch_size"],
                            max_epochs=p["max_epochs"], patience=p["patience"],
                            generator=generator, on_epoch=on_epoch)
            best = module.best_val_loss_
            fits[label] = {"epochs": module.epochs_run_, "best_epoch": module.best_epoch_,
                           "best_validation_loss": None if best is None else best + scale}
            if (module.epochs_run_ == p["max_epochs"]
                    and module.best_epoch_ == p["max_epochs"]):
                ctx.warn(f"KNIFE {label}: the validation loss was still falling after "
                         f"max_epochs={p['max_epochs']}; more epochs may lower the estimate")
        else:
            module.eval()
            fits[label] = {"epochs": 0, "best_epoch": 0, "best_validation_loss": None}
        bundle.components[key] = module
    if bundle.mi_form == "joint":
        joint = bundle.components["xy"]
        dx = variables["x"]["dims"]
        bundle.components["x"] = joint.marginal(range(dx)).to(device).eval()
        bundle.components["y"] = joint.marginal(range(dx, joint.dim)).to(device).eval()
    if capacity:
        ctx.details["capacity"] = capacity
    ctx.details["fits"] = fits
    return bundle, test
