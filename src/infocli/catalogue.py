"""The built-in estimators, declared (not imported) for the registry."""

from __future__ import annotations

from .registry import EstimatorSpec, Param, register

_KNN = "infocli.estimators.knn"
_GAUSS = "infocli.estimators.gaussian"

_K = Param("k", int, 3, "number of nearest neighbours", low=1)
_STANDARDIZE = Param(
    "standardize", bool, True,
    "scale each column to unit variance first (entropies add the log-scales back)",
)
_TIES = Param(
    "ties", str, "jitter",
    "tied values: 'jitter' dequantises them with seeded noise of the column's "
    "smallest gap (reported in warnings); 'error' refuses tied data",
    choices=("jitter", "error"),
)
_BACKEND = Param(
    "backend", str, "auto",
    "neighbour search: kd-tree (CPU, joint dim <= 15), torch brute force (CPU/CUDA), "
    "or auto",
    choices=("auto", "kdtree", "brute"),
)

register(EstimatorSpec(
    name="kl",
    summary="Kozachenko-Leonenko kNN entropy; H(X|Z) per class (discrete Z) or H(X) - KSG I(X;Z)",
    implementations={
        "entropy": f"{_KNN}:kl_entropy",
        "conditional_entropy": f"{_KNN}:kl_conditional_entropy",
    },
    params=(
        _K,
        Param("metric", str, "euclidean", "norm of the neighbour distances",
              choices=("euclidean", "chebyshev")),
        Param("weights", str, "none",
              "'bsy': Berrett-Samworth-Yuan weighted estimator over neighbours 1..k "
              "(debiased for d > 4; needs k > d/4)", choices=("none", "bsy")),
        _STANDARDIZE, _TIES, _BACKEND,
    ),
    reference="Kozachenko & Leonenko 1987; Berrett, Samworth & Yuan, Ann. Statist. 2019",
    discrete=("conditional_entropy",),
    devices=("cpu", "cuda"),
))

register(EstimatorSpec(
    name="ksg",
    summary="Kraskov-Stoegbauer-Grassberger kNN MI (vector x, vector y); Ross mixed MI "
            "for discrete y; Frenzel-Pompe conditional MI",
    implementations={
        "mutual_information": f"{_KNN}:ksg_mi",
        "conditional_mutual_information": f"{_KNN}:ksg_cmi",
    },
    params=(
        _K,
        Param("algorithm", int, 1, "KSG algorithm 1 (strict counts) or 2 (<= counts, -1/k)",
              choices=(1, 2)),
        _STANDARDIZE, _TIES, _BACKEND,
    ),
    reference="Kraskov et al., Phys. Rev. E 2004; Ross, PLoS ONE 2014; "
              "Frenzel & Pompe, Phys. Rev. Lett. 2007",
    discrete=("mutual_information", "conditional_mutual_information"),
    devices=("cpu", "cuda"),
))

register(EstimatorSpec(
    name="gaussian",
    summary="closed-form Gaussian plug-in from log-determinants of sample covariances",
    implementations={
        "entropy": f"{_GAUSS}:gaussian_entropy",
        "conditional_entropy": f"{_GAUSS}:gaussian_conditional_entropy",
        "mutual_information": f"{_GAUSS}:gaussian_mi",
        "conditional_mutual_information": f"{_GAUSS}:gaussian_cmi",
    },
    params=(
        Param("bias_correction", bool, True,
              "subtract the exact small-sample bias of log det S under normality"),
        Param("jackknife_groups", int, 20, "groups of the delete-a-group jackknife stderr",
              low=2),
    ),
    reference="Cover & Thomas, Elements of Information Theory, ch. 8",
    discrete=("conditional_entropy", "mutual_information", "conditional_mutual_information"),
))

_KNIFE = "infocli.estimators.knife"

register(EstimatorSpec(
    name="knife",
    summary="KNIFE: Gaussian-kernel mixture fitted with torch (train/validation/test split, "
            "estimate on held-out rows); H(X|Z) per class or with networks of z; "
            "I = H(X) - H(X|Y)",
    implementations={
        "entropy": f"{_KNIFE}:knife_entropy",
        "conditional_entropy": f"{_KNIFE}:knife_conditional_entropy",
        "mutual_information": f"{_KNIFE}:knife_mi",
    },
    params=(
        Param("n_kernels", int, 128, "kernels M of each mixture (per class for labels)", low=1),
        Param("covariance", str, "full", "precision factors (I+L)D with triangular L, or D only",
              choices=("full", "diag")),
        Param("weights", str, "learnable", "mixture weights: learnable softmax or uniform 1/M",
              choices=("learnable", "uniform")),
        Param("lr", float, 0.01, "Adam learning rate", low=0.0, low_exclusive=True),
        Param("batch_size", int, 512, "rows per gradient step", low=1),
        Param("max_epochs", int, 100, "most passes over the training rows", low=1),
        Param("patience", int, 3, "stop after this many epochs without a lower validation "
              "cross-entropy (the best epoch is kept)", low=1),
        Param("val_fraction", float, 0.1, "share of rows for early stopping", low=0.0, high=0.9),
        Param("test_fraction", float, 0.2, "share of held-out rows the estimate is computed on",
              low=0.0, low_exclusive=True, high=0.9),
        Param("init", str, "data", "initial means: random training rows, or init_std noise",
              choices=("data", "random")),
        Param("init_std", float, 0.01, "scale of the random initial log-diagonals and "
              "triangular entries", low=0.0),
        Param("cond_kernels", int, 16, "kernels of the networks for a continuous "
              "conditioning variable", low=1),
        Param("hidden", int, 64, "hidden units of those networks", low=1),
        Param("mi_form", str, "difference", "MI as H(X) - H(X|Y), or H(X) + H(Y) - H(X,Y) "
              "(continuous y)", choices=("difference", "three_entropies")),
        Param("threads", int, 1, "torch CPU threads while fitting (0: torch's default); "
              "the small batched products gain little from more", low=0),
        Param("model", str, "", "evaluate this saved model on all rows instead of fitting"),
        Param("save_model", str, "", "write the fitted densities and their metadata here"),
        Param("per_sample", str, "", "write per-row values to this .npy: log f (entropies) "
              "or pointwise MI; NaN on rows not evaluated"),
    ),
    reference="Pichler et al., A Differential Entropy Estimator for Training Neural "
              "Networks, ICML 2022",
    discrete=("conditional_entropy", "mutual_information"),
    devices=("cpu", "cuda"),
))
