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

# -- neural variational bounds (issue 5) ----------------------------------------------
_NEURAL = "infocli.estimators.neural"
_NEURAL_PARAMS = (
    Param("critic", str, "separable",
          "critic architecture: 'separable' g(x).h(y), or 'concat' MLP([x, y]) on all "
          "B x B pairs", choices=("separable", "concat")),
    Param("hidden", str, "256", "hidden layer sizes of the critic MLP(s), comma-separated"),
    Param("embed_dim", int, 32, "output features of g and h (separable critic)", low=1),
    Param("batch_size", int, 64, "rows per batch B (the bounds use all B x B pairs)", low=2),
    Param("lr", float, 5e-4, "Adam learning rate", low=0, low_exclusive=True),
    Param("max_steps", int, 4000, "maximum training steps", low=1),
    Param("eval_every", int, 100, "steps between validation checks", low=1),
    Param("patience", int, 10, "validation checks without improvement before stopping",
          low=1),
    Param("val_fraction", float, 0.1, "fraction of rows for validation (early stopping)",
          low=0, high=1, low_exclusive=True),
    Param("test_fraction", float, 0.2, "fraction of rows held out to report the bound on",
          low=0, high=1, low_exclusive=True),
    Param("regularize", str, "none",
          "'remine': add reg_lambda * (log E_Q[e^T] - reg_target)^2 to the loss (the "
          "reported value stays the unregularised bound)", choices=("none", "remine")),
    Param("reg_lambda", float, 1.0, "weight lambda of the ReMINE penalty", low=0),
    Param("reg_target", float, 0.0, "target C of the ReMINE penalty"),
    _STANDARDIZE,
)
_REMINE = "; ReMINE: Choi & Lee, UAI 2022"
for _name, _summary, _ref, _extra in (
    ("mine", "MINE: Donsker-Varadhan bound of a trained critic, on held-out rows",
     "Belghazi et al., ICML 2018", ()),
    ("nwj", "NWJ (f-divergence) bound of a trained critic, on held-out rows",
     "Nguyen, Wainwright & Jordan, IEEE TIT 2010", ()),
    ("infonce", "InfoNCE contrastive bound of a trained critic (never above log batch_size)",
     "van den Oord et al. 2018; Poole et al., ICML 2019", ()),
    ("smile", "SMILE: DV bound with clipped marginal scores, on held-out rows",
     "Song & Ermon, ICLR 2020",
     (Param("clip", float, 10.0, "clip tau of the marginal scores", low=0,
            low_exclusive=True),)),
    ("js", "critic trained with the Jensen-Shannon objective, MI reported by NWJ(T + 1)",
     "Poole et al., ICML 2019 (sec. 2.4)", ()),
):
    register(EstimatorSpec(
        name=_name,
        summary=_summary + "; -p regularize=remine for ReMINE",
        implementations={"mutual_information": f"{_NEURAL}:{_name}_mi"},
        params=_NEURAL_PARAMS + _extra,
        reference=_ref + _REMINE,
        discrete=("mutual_information",),
        devices=("cpu", "cuda"),
    ))
