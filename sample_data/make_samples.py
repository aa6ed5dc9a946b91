"""Regenerate the sample files (seeded) and print their true values.

    python sample_data/make_samples.py
"""

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

HERE = Path(__file__).parent
N = 5000


def main() -> None:
    rng = np.random.default_rng(2024)
    # 1. correlated Gaussian pair, rho = 0.8: I = -1/2 ln(1 - 0.64)
    x = rng.standard_normal(N)
    y = 0.8 * x + 0.6 * rng.standard_normal(N)
    np.save(HERE / "gaussian_x.npy", x)
    np.save(HERE / "gaussian_y.npy", y)
    print(f"gaussian_x/y.npy   I(X;Y) = {-0.5 * np.log(1 - 0.64):.4f} nats")

    # 2. two coordinate pairs with rho = 0.6 in one parquet file
    a = rng.standard_normal((N, 2))
    b = 0.6 * a + 0.8 * rng.standard_normal((N, 2))
    pd.DataFrame({"x1": a[:, 0], "x2": a[:, 1], "y1": b[:, 0], "y2": b[:, 1]}).to_parquet(
        HERE / "gaussian_pairs.parquet", index=False)
    print(f"gaussian_pairs.parquet  I(x1,x2; y1,y2) = {-np.log(1 - 0.36):.4f} nats, "
          f"H(x1,x2) = {np.log(2 * np.pi * np.e):.4f} nats")

    # 3. three Gaussian clusters (unit covariance) with a string label column
    means = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0]])
    labels = rng.integers(0, 3, N)
    f = means[labels] + rng.standard_normal((N, 2))
    pd.DataFrame({"f1": f[:, 0].round(6), "f2": f[:, 1].round(6),
                  "label": np.array(["a", "b", "c"])[labels]}).to_csv(HERE / "clusters.csv",
                                                                     index=False)
    # I(F; label) = h(F) - h(F|label); h(F) of the mixture by Monte Carlo (1e6 draws)
    mc = np.random.default_rng(7)
    lab = mc.integers(0, 3, 1_000_000)
    s = means[lab] + mc.standard_normal((1_000_000, 2))
    dens = np.mean([stats.multivariate_normal(m).pdf(s) for m in means], axis=0)
    h_f = -np.mean(np.log(dens))
    h_cond = np.log(2 * np.pi * np.e)
    print(f"clusters.csv       I(f1,f2; label) = {h_f - h_cond:.4f} nats (Monte Carlo, "
          f"+-0.002), H(f1,f2|label) = {h_cond:.4f} nats")

    # 4. uniform on [0, 2]^3: h = 3 ln 2
    np.save(HERE / "uniform.npy", rng.uniform(0, 2, (N, 3)))
    print(f"uniform.npy        H(X) = {3 * np.log(2):.4f} nats")

    # 5. Gaussian chain X <- Z -> Y in one npz: I(X;Y|Z) = 0, I(X;Y) = -1/2 ln(1 - 0.8^2)
    z = rng.standard_normal(N)
    np.savez(HERE / "chain.npz", x=z + 0.5 * rng.standard_normal(N),
             y=z + 0.5 * rng.standard_normal(N), z=z)
    print(f"chain.npz          I(X;Y|Z) = 0, I(X;Y) = {-0.5 * np.log(1 - 0.64):.4f} nats")


if __name__ == "__main__":
    main()
