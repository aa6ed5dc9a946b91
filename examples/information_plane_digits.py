"""Information plane of a small noisy MLP trained on scikit-learn's digits.

Trains a 64-32-16-8-10 tanh MLP whose hidden layers are made stochastic with
infocli.ib.noisy (t + sigma * t * eps), records the three hidden layers and the
logits on all 1,797 images at 10 epochs, writes them as epoch_<e>/<layer>.npy, then runs
the information-plane analysis (library call; the same as
`infocli ib OUT/activations --x OUT/x.npy --y OUT/y.npy --plot OUT/plane.png`)
and saves the figure.

    python examples/information_plane_digits.py [OUT_DIR]

(``INFOCLI_EXAMPLE_QUICK=1`` records 2 epochs, as CI does.)
"""

import os
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

from infocli import ib

SIGMA = 1e-3
EPOCHS = (1, 2, 3, 5, 8, 12, 18, 26, 36, 50)
if os.environ.get("INFOCLI_EXAMPLE_QUICK") == "1":  # CI: a smoke run in seconds
    EPOCHS = (1, 3)


class NoisyMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(64, 32), nn.Linear(32, 16), nn.Linear(16, 8)])
        self.head = nn.Linear(8, 10)

    def forward(self, x, record=None):
        for i, layer in enumerate(self.layers):
            x = ib.noisy(torch.tanh(layer(x)), SIGMA)
            if record is not None:
                record[f"layer{i + 1}"] = x.detach().numpy().copy()
        out = self.head(x)
        if record is not None:
            record["logits"] = out.detach().numpy().copy()
        return out


def main(out: Path) -> None:
    torch.manual_seed(0)
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "x.npy", x)
    np.save(out / "y.npy", y)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    model = NoisyMLP()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for epoch in range(1, max(EPOCHS) + 1):
        perm = torch.randperm(len(xt))
        for s in range(0, len(xt), 64):
            idx = perm[s:s + 64]
            loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if epoch in EPOCHS:
            record = {}
            with torch.no_grad():
                acc = (model(xt, record).argmax(1) == yt).float().mean().item()
            folder = out / "activations" / f"epoch_{epoch}"
            folder.mkdir(parents=True, exist_ok=True)
            for name, act in record.items():
                np.save(folder / f"{name}.npy", act)
            print(f"epoch {epoch:3d}  loss {loss.item():.3f}  accuracy {acc:.3f}")
    acts = ib.load_activations(str(out / "activations"))
    plane = ib.information_plane(x, y, acts, x_dim=4, t_dim=4, seed=0)
    for p in plane.points:
        print(f"epoch {p.epoch:3d} {p.layer:7s} I(X;T) = {p.i_xt:6.3f} ± {p.i_xt_stderr:.3f}   "
              f"I(T;Y) = {p.i_ty:6.3f} ± {p.i_ty_stderr:.3f}")
    ib.plot_information_plane(plane, str(out / "plane.png"))
    print(f"figure: {out / 'plane.png'} ({plane.seconds:.1f} s of estimation)")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "ib_digits"))
