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
    "neighbour search: kd-tree (CPU, max norm; auto up to 15 joint dims) or exact brute "
    "force (CPU/CUDA; auto above 15 joint dims, where ksg uses Euclidean norms within x, y, "
    "z and their max), or auto",
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
              "'bsy': Berrett-Samworth-Yuan weighted estimator: for d <= 4 the unweighted "
              "estimator with this k, for d > 4 debiased weights over neighbours 1..k "
              "(needs k > d/4)",
              choices=("none", "bsy")),
        Param("whiten_data", bool, False,
              "whiten with the sample covariance first (adds 1/2 log det back); with "
              "weights=bsy and k=5 this is the WKL estimator of Butakov et al. for d > 4 "
              "(the compressed estimator's WKL uses the first neighbour for d <= 4)"),
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

register(EstimatorSpec(
    name="compressed",
    summary="MI between compressed codes (PCA or autoencoder per side) with whitened weighted "
            "KL, KSG or KNIFE on the codes; for high-dimensional X and Y",
    implementations={"mutual_information": "infocli.estimators.compressed:compressed_mi"},
    params=(
        Param("x_compressor", str, "pca", "compressor of X", choices=("pca", "autoencoder", "none")),
        Param("y_compressor", str, "pca", "compressor of Y (labels are never compressed)",
              choices=("pca", "autoencoder", "none")),
        Param("x_dim", int, 2, "code dimension of X", low=1),
        Param("y_dim", int, 2, "code dimension of Y", low=1),
        Param("inner", str, "wkl", "estimator on the codes: whitened weighted KL "
              "(H(Tx)+H(Ty)-H(Tx,Ty)), ksg, or knife", choices=("wkl", "ksg", "knife")),
        Param("k", int, 5, "neighbours of the inner kNN estimator", low=1),
        Param("ae_hidden", int, 128, "autoencoder hidden width", low=1),
        Param("ae_epochs", int, 200, "autoencoder maximum epochs", low=1),
        Param("ae_patience", int, 10, "autoencoder early-stopping patience (epochs)", low=1),
        Param("ae_lr", float, 1e-3, "autoencoder Adam learning rate", low=0, low_exclusive=True),
        Param("ae_batch_size", int, 128, "autoencoder batch size", low=1),
        Param("threads", int, 1, "torch CPU threads while training autoencoders (0: torch's "
              "default); the small batched products gain little from more", low=0),
        Param("val_fraction", float, 0.2, "autoencoder validation fraction", low=0.05, high=0.5),
    ),
    reference="Butakov et al., Information bottleneck analysis of deep neural networks via "
              "lossy compression, ICLR 2024",
    discrete=("mutual_information",),
    devices=("cpu", "cuda"),
))

_DSE = "infocli.estimators.dse"
_SIGMA = Param(
    "sigma", str, "auto",
    "Gaussian kernel bandwidth: a positive number, or 'auto' = median pairwise distance "
    "(over a seeded subsample of 2000 points when n is larger; scale-free, unlike the "
    "reference's fixed 10)",
)
_T = Param("t", float, 1.0, "diffusion time: eigenvalues are raised to the power t",
           low=0.0, low_exclusive=True)
_MAX_N = Param("max_n", int, 10000,
               "largest point set decomposed exactly; above it a seeded subsample of max_n "
               "points is used (or, for dse with approx=true, all points approximately)", low=2)

register(EstimatorSpec(
    name="dse",
    summary="diffusion spectral entropy: entropy of the powered spectrum of the diffusion "
            "operator (native unit bits); exact, or deflated SLQ on all points above max_n",
    implementations={"entropy": f"{_DSE}:dse_entropy"},
    params=(
        _SIGMA, _T, _MAX_N,
        Param("approx", bool, False,
              "for n > max_n, estimate DSE on all points by stochastic Lanczos quadrature "
              "(K in float32 up to 8 GB, matrix-free beyond; stderr over probe vectors) instead "
              "of subsampling"),
        Param("probes", int, 16, "Rademacher probe vectors of the approximate mode", low=2),
        Param("lanczos_steps", int, 20, "Lanczos steps per probe in the approximate mode",
              low=2),
    ),
    reference="Liao, Liu et al., arXiv:2312.04823 (2023); SLQ: Ubaru, Chen & Saad, "
              "SIAM J. Matrix Anal. Appl. 2017",
    devices=("cpu", "cuda"),
))

register(EstimatorSpec(
    name="dsmi",
    summary="diffusion spectral MI: sum_c (n_c/n)(DSE of random size-n_c subsets - DSE of "
            "class c); y labels, binned scalar or k-means-clustered vector (native unit bits)",
    implementations={"mutual_information": f"{_DSE}:dsmi_mi"},
    params=(
        _SIGMA, _T, _MAX_N,
        Param("repeats", int, 5, "random subsets per class for the baseline DSE", low=1),
        Param("n_clusters", int, 10,
              "continuous y: equal-width bins (scalar y) or k-means clusters (vector y)",
              low=2),
    ),
    reference="Liao, Liu et al., arXiv:2312.04823 (2023)",
    discrete=("mutual_information",),
    devices=("cpu", "cuda"),
))

register(EstimatorSpec(
    name="noisy",
    summary="information through a Gaussian noise channel T+eps, X uniform over the rows: "
            "H(T+eps) (= H(eps) + I(X;T+eps)) and I(T+eps;Y) with labels; exact mixture "
            "densities, Monte Carlo over the noise (the information plane of noisy layers)",
    implementations={"entropy": "infocli.estimators.noisy:noisy_entropy",
                     "mutual_information": "infocli.estimators.noisy:noisy_mi"},
    params=(
        Param("sigma", str, "auto",
              "noise SD, in the data's units, or 'auto' = noise x the RMS column SD (blind "
              "to the overall scale, unlike a fixed sigma)"),
        Param("noise", float, 1.0, "with sigma=auto: the noise SD as a multiple of the RMS "
              "column SD", low=0.0, low_exclusive=True),
        Param("draws", int, 1, "noise draws per query row", low=1),
        Param("queries", int, 0, "Monte Carlo query rows: a seeded subset of the rows, each "
              "against all rows (0 = every row)", low=0),
    ),
    reference="Saxe et al., On the information bottleneck theory of deep learning, ICLR "
              "2018; Goldfeld et al., Estimating information flow in deep neural networks, "
              "ICML 2019",
    discrete=("mutual_information",),
    devices=("cpu", "cuda"),
))

_KNIFE = "infocli.estimators.knife"

register(EstimatorSpec(
    name="knife",
    summary="KNIFE: Gaussian-kernel mixture, capacity (kernels, covariance, shrinkage) "
            "chosen by validation likelihood, EM start then torch Adam, estimate on held-out "
            "rows; H(X|Z) per class or with networks of z; I from one joint fit and its "
            "exact marginals",
    implementations={
        "entropy": f"{_KNIFE}:knife_entropy",
        "conditional_entropy": f"{_KNIFE}:knife_conditional_entropy",
        "mutual_information": f"{_KNIFE}:knife_mi",
    },
    params=(
        Param("n_kernels", str, "auto",
              "kernels M of each mixture (per class for labels): a positive integer, or auto "
              "= 1, 2, 4, ... doubled while the validation likelihood improves, capped so that "
              "each kernel owns on average >= 2 max(d, 10) training rows and by max_kernels "
              "(with init=data|random, auto means 128)"),
        Param("max_kernels", int, 128, "largest M that n_kernels=auto tries", low=1),
        Param("covariance", str, "auto",
              "kernel covariances: full (precision factors (I+L)D, triangular L), diag (D "
              "only), or auto = both tried by EM and the better on validation rows kept; "
              "full covariances are shrunk toward their diagonal with weight "
              "kappa / (n_k + kappa), kappa = s d, s in {0.5, 2, 8} chosen by validation",
              choices=("auto", "full", "diag")),
        Param("weights", str, "learnable", "mixture weights: learnable softmax or uniform 1/M",
              choices=("learnable", "uniform")),
        Param("lr", float, 0.01, "Adam learning rate", low=0.0, low_exclusive=True),
        Param("batch_size", int, 512, "rows per gradient step", low=1),
        Param("max_epochs", int, 100, "most passes of Adam over the training rows after the "
              "start (0: keep the EM fit as it is)", low=0),
        Param("patience", int, 3, "stop after this many epochs without a lower validation "
              "cross-entropy (the best epoch is kept)", low=1),
        Param("val_fraction", float, 0.1, "share of rows for early stopping", low=0.0, high=0.9),
        Param("test_fraction", float, 0.2, "share of held-out rows the estimate is computed on",
              low=0.0, low_exclusive=True, high=0.9),
        Param("init", str, "em", "starting densities: em = every capacity candidate fitted "
              "by EM on the training rows and the best on the validation rows kept (then "
              "Adam, with the start as epoch 0); data = means at random training rows, unit "
              "bandwidth (the paper's start); random = init_std noise",
              choices=("em", "data", "random")),
        Param("init_std", float, 0.01, "scale of the random initial log-diagonals and "
              "triangular entries", low=0.0),
        Param("cond_kernels", int, 16, "kernels of the networks for a continuous "
              "conditioning variable", low=1),
        Param("hidden", int, 64, "hidden units of those networks", low=1),
        Param("mi_form", str, "auto", "MI as mean log f(x,y) / f(x) f(y) with one joint fit "
              "and its exact marginals (joint, continuous y), H(X) - H(X|Y) with separate "
              "fits (difference), H(X) + H(Y) - H(X,Y) with three fits (three_entropies), "
              "or, for labels, H(X|Y) against the class-pooled mixture f(x) = sum p(c) f(x|c) "
              "(pooled); auto: pooled for labels, joint otherwise",
              choices=("auto", "joint", "difference", "three_entropies", "pooled")),
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

# -- neural variational bounds (issue 5) ----------------------------------------------
_NEURAL = "infocli.estimators.neural"
_NEURAL_PARAMS = (
    Param("critic", str, "separable",
          "critic architecture: 'separable' g(x).h(y), or 'concat' MLP([x, y]) on all "
          "B x B pairs", choices=("separable", "concat")),
    Param("hidden", str, "256", "hidden layer sizes of the critic MLP(s), comma-separated"),
    Param("embed_dim", int, 32, "output features of g and h (separable critic)", low=1),
    Param("batch_size", int, 64, "rows per batch B (the bounds use all B x B pairs)", low=2),
    Param("eval_batch_size", int, 0, "rows per validation/test batch; 0: automatic "
          "(batch_size; infonce: up to 2048, lifting its log B ceiling)", low=0),
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
          "'remine': add reg_lambda * (log E_Q[e^T] - reg_target)^2 to the loss, on the "
          "whole critic (Choi & Lee); 'remine_offset': its gradient moves the critic's "
          "output offset only (nwj: the whole critic); the reported value stays the "
          "unregularised bound", choices=("none", "remine", "remine_offset")),
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

# -- auto (issue 15) -------------------------------------------------------------------
_AUTO = "infocli.estimators.auto"

register(EstimatorSpec(
    name="auto",
    summary="copula transform, then gaussian and ksg for MI/CMI combined by one rule (the more "
            "precise when they agree, else the one the data support; wide variables through "
            "validated principal components and learned codes) or, for entropy, the marginal "
            "decomposition with min(gaussian, kl); details.auto says what ran and why",
    implementations={
        "entropy": f"{_AUTO}:auto_entropy",
        "conditional_entropy": f"{_AUTO}:auto_conditional_entropy",
        "mutual_information": f"{_AUTO}:auto_mi",
        "conditional_mutual_information": f"{_AUTO}:auto_cmi",
    },
    params=(
        Param("k", int, 1, "neighbours of the kNN candidates (ksg, kl); 1 = the least "
              "biased (their bias grows with k, their variance falls)", low=1),
        _TIES,
    ),
    reference="Ince et al., Hum. Brain Mapp. 2017 (GCMI); Kraskov et al. 2004; "
              "Kozachenko & Leonenko 1987; docs/auto.md",
    discrete=("conditional_entropy", "mutual_information", "conditional_mutual_information"),
    discrete_x=("entropy", "mutual_information"),
    mixed=("mutual_information",),
    devices=("cpu", "cuda"),
))

# -- discrete and mixed data (issue 26) ------------------------------------------------
_DISCRETE = "infocli.estimators.discrete"

register(EstimatorSpec(
    name="discrete",
    summary="entropy and MI of discrete variables (integer or text labels) by the plug-in "
            "with a bias correction (Miller-Madow, or Chao-Shen for undersampled alphabets) "
            "or NSB's Bayesian estimate; delta-method (NSB: posterior) interval",
    implementations={
        "entropy": f"{_DISCRETE}:discrete_entropy",
        "mutual_information": f"{_DISCRETE}:discrete_mi",
    },
    params=(
        Param("method", str, "miller_madow",
              "plugin, miller_madow (adds (K-1)/2n), chao_shen (coverage-adjusted "
              "Horvitz-Thompson, for many classes seen once) or nsb (Bayesian posterior "
              "mean of Nemenman-Shafee-Bialek, for undersampled alphabets; interval from "
              "the posterior sd)",
              choices=("plugin", "miller_madow", "chao_shen", "nsb")),
        Param("alphabet_size", int, 0,
              "method=nsb, entropy: the number of possible classes K, seen or not (0: the "
              "classes seen)", low=0),
    ),
    reference="Miller 1955; Chao & Shen, Environ. Ecol. Stat. 2003; Nemenman, Shafee & "
              "Bialek, NIPS 2002 (NSB); Basharin 1959 (variance)",
    discrete=("mutual_information",),
    discrete_x=("entropy", "mutual_information"),
))

register(EstimatorSpec(
    name="mixed_ksg",
    summary="Gao et al.'s mixed KSG: MI of variables with discrete and continuous columns "
            "(zero distances counted, not jittered); bounded by H of a discrete side",
    implementations={"mutual_information": f"{_DISCRETE}:mixed_ksg_mi"},
    params=(_K, _TIES),
    reference="Gao, Kannan, Oh & Viswanath, NeurIPS 2017 (Algorithm 1)",
    discrete=("mutual_information",),
    discrete_x=("mutual_information",),
    mixed=("mutual_information",),
))
