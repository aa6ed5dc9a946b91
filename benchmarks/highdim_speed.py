"""Wall time of the default estimate (auto, check fast) on wide variables, next to a
floor measured in the same run.

    python benchmarks/highdim_speed.py                      # the issue's two targets
    python benchmarks/highdim_speed.py --cases 5000x1024 --repeat 2
    python benchmarks/highdim_speed.py --base ../other-checkout   # the same cases, older code

Each case draws the highdim family's noisy linear law (4 latent pairs, noise 0.1,
n rows, D + D columns; exact MI 1.587 nats) and times
``infocli.mutual_information(x, y)`` with every default (estimator auto, the
reliability check at its default level) in a fresh process, so imports and
compilation count as a user would see them. The floor is one ``X @ X.T`` of the
same shape in that process (the BLAS work any exact all-pairs method must do at
least once per side): the ratio to it is what to compare across machines and loads.
``--base DIR`` runs the same cases with the ``src`` of another checkout (e.g. the
last release) in the same run, for a before/after ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    n, d, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    g = np.random.default_rng(12345)
    r, rho, s = 4, np.array([0.9, 0.8, 0.6, 0.4]), 0.1
    a = np.linalg.qr(g.standard_normal((d, r)))[0]
    b = np.linalg.qr(g.standard_normal((d, r)))[0]
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((n, r))
    v = rho * u + np.sqrt(1 - rho ** 2) * rng.standard_normal((n, r))
    x = u @ a.T + s * rng.standard_normal((n, d))
    y = v @ b.T + s * rng.standard_normal((n, d))
    truth = float(-0.5 * np.log(1 - (rho / (1 + s * s)) ** 2).sum())
    t0 = time.perf_counter()
    _ = x @ x.T
    floor = time.perf_counter() - t0
    t0 = time.perf_counter()
    import infocli
    est = infocli.mutual_information(x, y)
    wall = time.perf_counter() - t0
    print(json.dumps({"n": n, "d": d, "truth": truth, "value": est.value,
                      "interval": est.interval, "reliable": est.reliable,
                      "chosen": est.details.get("auto", {}).get("chosen"),
                      "wall": wall, "floor": floor}))
""")


def run(src: str, n: int, d: int, seed: int, timeout: float) -> dict:
    env = {**os.environ, "PYTHONPATH": src}
    try:
        out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(d), str(seed)],
                             capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"n": n, "d": d, "error": f"over {timeout:.0f} s"}
    if out.returncode:
        return {"n": n, "d": d, "error": out.stderr.strip().splitlines()[-1][:120]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", default="5000x1024,20000x256",
                   help="NxD, comma-separated (D columns per side)")
    p.add_argument("--repeat", type=int, default=1, help="runs per case (best is kept)")
    p.add_argument("--base", help="another checkout whose src/ runs the same cases")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    args = p.parse_args()
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    sources = [("this", here)] + ([("base", os.path.join(args.base, "src"))] if args.base
                                   else [])
    print(f"{'code':5} {'n':>6} {'D+D':>10} {'truth':>6} {'value':>7} {'interval':>18} "
          f"{'reliable':>8} {'wall s':>8} {'floor s':>8} {'x floor':>8}  chosen")
    for case in args.cases.split(","):
        n, d = (int(v) for v in case.lower().split("x"))
        for label, src in sources:
            runs = [run(src, n, d, 0, args.timeout) for _ in range(args.repeat)]
            ok = [r for r in runs if "error" not in r]
            if not ok:
                print(f"{label:5} {n:>6} {f'{d}+{d}':>10}  failed: {runs[0]['error']}")
                continue
            r = min(ok, key=lambda r: r["wall"])
            iv = r["interval"] or (None, None)
            shown = "[" + ", ".join("-" if v is None else f"{v:.3f}" for v in iv) + "]"
            print(f"{label:5} {n:>6} {f'{d}+{d}':>10} {r['truth']:6.3f} {r['value']:7.3f} "
                  f"{shown:>18} {str(r['reliable']):>8} {r['wall']:8.1f} {r['floor']:8.2f} "
                  f"{r['wall'] / r['floor']:8.0f}  {r['chosen']}")


if __name__ == "__main__":
    main()
