#!/usr/bin/env python
"""Track an MLP's layers on scikit-learn's digits, with the true and with shuffled labels.

Trains the same MLP 64-32-16-10 twice, once on the digits' labels and once on
a seeded permutation of them (the network can only memorise), and tracks its
two hidden layers and logits with ``infocli.torch.Tracker`` at its defaults,
every epoch: on a fixed probe set of 300 training images, the information
plane of each layer through Gaussian noise (``mi_x_noisy`` = I(X; T+eps) and
``mi_y_noisy`` = I(T+eps; Y) with the labels the network is trained on, each
with its 95 % interval; I(T+eps; Y) is at most H(Y) = log 10 = 2.30 nats). On
true labels I(T;Y) is high from the first epochs: the images themselves carry
the class. On shuffled labels the logits' I(T;Y) starts near 0 and rises only
as fast as the network memorises the random pairing. The first hidden layer
reads high on shuffled labels too: with X uniform over the probe rows each
label is a function of its row, so a layer that resolves the rows through the
noise (I(X;T) near log 300 = 5.7) carries their labels, whatever they are -
I(T;Y) <= I(X;T) is the plane's own bound, and it is not a held-out measure.

Records go to ``OUT/<run>/records.jsonl`` (one per epoch, layer, measure) and
the plane to ``OUT/<run>/plane.png``; the command line draws the same plane:

    infocli ib OUT/true/records.jsonl --plot plane.png

About 10 seconds on a 2-core CPU (imports and plots included; training and tracking
about 1 s per run, the tracker's share printed);
``INFOCLI_EXAMPLE_QUICK=1`` runs 3 epochs (as CI does).

    python examples/track_digits.py [OUT_DIR]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn

import infocli
from infocli.torch import Tracker

QUICK = os.environ.get("INFOCLI_EXAMPLE_QUICK") == "1"
EPOCHS = 3 if QUICK else 30
torch.set_num_threads(1)  # a small MLP: one thread trains fastest


def train(labels: np.ndarray, x: torch.Tensor, out: Path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(),
                          nn.Linear(16, 10))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    y = torch.as_tensor(labels)
    g = torch.Generator().manual_seed(0)
    tracker = Tracker(model, ["1", "3", "4"], x, labels, every=1,
                      path=out / "records.jsonl", seed=0)
    start = time.perf_counter()
    with tracker:
        for epoch in range(EPOCHS):
            for idx in torch.randperm(len(x), generator=g).split(64):
                loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            tracker.step(epoch)
    with torch.no_grad():
        fit = float((model(x).argmax(1) == y).float().mean())
    wall = time.perf_counter() - start
    return tracker, fit, wall


def main(out: Path) -> None:
    from infocli.ib import plane_from_records, plot_information_plane

    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = digits.target
    shuffled = np.random.default_rng(1).permutation(y)
    for run, labels in (("true", y), ("shuffled", shuffled)):
        (out / run).mkdir(parents=True, exist_ok=True)
        (out / run / "records.jsonl").unlink(missing_ok=True)
        tracker, fit, wall = train(labels, x, out / run)
        print(f"{run} labels: training accuracy {fit:.3f}; {wall:.1f} s, of which tracking "
              f"{tracker.seconds:.2f} s ({100 * tracker.seconds / (wall - tracker.seconds):.0f} "
              "% of the training time)")
        last = max(tracker.measured_epochs)
        for layer in tracker.layer_names:
            rec = {r["measure"]: r for r in tracker.records
                   if r["epoch"] == last and r["layer"] == layer}
            mx, my = rec["mi_x_noisy"], rec["mi_y_noisy"]
            print(f"  epoch {last:2d} layer {layer}: I(T;Y) = {my['value']:.3f} nats "
                  f"[{my['lo']:.3f}, {my['hi']:.3f}]; I(X;T) = {mx['value']:.3f} nats "
                  f"[{mx['lo']:.3f}, {mx['hi']:.3f}]")
        try:
            plot_information_plane(plane_from_records(str(out / run / "records.jsonl")),
                                   str(out / run / "plane.png"))
        except infocli.InputError as exc:  # matplotlib missing: the records are still there
            print(f"  (no plot: {exc})")
    print(f"records: {out}/<run>/records.jsonl; information plane: {out}/<run>/plane.png, or "
          f"infocli ib {out}/true/records.jsonl --plot plane.png")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "track_digits"))
