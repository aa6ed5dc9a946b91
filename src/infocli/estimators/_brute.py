"""Exact neighbour search by blocked matrix products, Euclidean within blocks of columns.

The rows' columns are split into blocks (x, y, z); the distance between two rows
on a set of blocks is the largest of their Euclidean distances on each block,
d_S(i, j) = max_{b in S} ||a_bi - a_bj||_2 (one block: the Euclidean distance).
This is the norm KSG needs in high dimension: any norms on the marginals, joined
by the max (Kraskov et al. 2004, sec. II).

For a block of query rows against all rows, squared distances are screened as
||a_i||^2 + ||a_j||^2 - 2 a_i.a_j with one matrix product per block of columns
(float32 unless asked otherwise), then every decision that the screening cannot
make with certainty is made on exactly computed distances:

* exact distance: ``sqrt(sum((a_i - a_j)**2))`` in float64 from the rows as given,
  always by :func:`_exact` on the host (the same pair gives the same bits
  whichever block or device found it);
* rounding bound: each screened square is within delta_i of the exact one,
  delta_i = 2 (d + 8) u (||c_i|| + max_j ||c_j||)^2 with c the centred rows and
  u the unit roundoff of the screening precision. This covers the dot product
  (|fl(a.b) - a.b| <= gamma_d |a| |b| for any summation order, Higham 2002,
  eq. 3.5), the rounding of the rows to the screening precision, the sums of
  norms, and the rounding of the exact routine itself, with a margin of 2;
* k-th neighbour: with tau_i the k-th smallest screened joint square, the true k
  nearest all have screened squares <= tau_i + 2 delta_i; those candidates get
  exact distances and the k smallest are kept (ties by row index);
* radius counts: screened squares below r_i^2 (1 - 8u64) - delta_i are inside,
  above r_i^2 (1 + 8u64) + delta_i outside (8u64 covers r_i = fl(sqrt(.)) and
  its square), and the band between is decided by the exact distance (< r_i,
  or <= r_i);
* a row block whose band holds more than ``_RESCREEN_SHARE`` of its pairs
  (clustered data, exact ties) is screened again in float64 before any exact
  work; what is left in the band then is decided exactly, in chunks.

Self-matches are excluded (the diagonal is +inf before selection and counting);
exact duplicates of a row are neighbours at distance 0 like any other row.

The arithmetic runs in NumPy (OpenBLAS) on the CPU - faster here than torch's
CPU BLAS in float32 - or in torch on a torch device (CUDA); the exact checks
always run in NumPy on the host copy.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ._jit import njit

_U64 = 2.0**-53
_RESCREEN_SHARE = 0.01  # band share of a row block above which float64 screening is redone


def _exact(a: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Exact squared Euclidean distances of the pairs (rows[t], cols[t]) of ``a``,
    float64, summed left to right over the columns for every pair (as SciPy's
    ``cdist`` does), so the same pair gives the same bits wherever it is found."""
    out = np.empty(rows.size)
    if rows.size:
        _pair_sq(a, rows.astype(np.int64, copy=False), cols.astype(np.int64, copy=False), out)
    return out


@njit(nogil=True, cache=True)  # serial: row blocks already run side by side in threads
def _pair_sq(a, rows, cols, out):
    for t in range(rows.size):
        i = rows[t]
        j = cols[t]
        s = 0.0
        for c in range(a.shape[1]):
            v = a[i, c] - a[j, c]
            s += v * v
        out[t] = s


def _round(v: np.ndarray, dtype, direction: float) -> np.ndarray:
    """float64 values in the screening dtype, rounded towards ``direction`` (+-inf)."""
    r = v.astype(dtype)
    off = (r < v) if direction > 0 else (r > v)
    return np.where(off, np.nextafter(r, dtype(direction)), r)


class _NumpyOps:
    """CPU arithmetic: NumPy with its BLAS."""

    device = "cpu"

    def put(self, a: np.ndarray):
        return a

    def exact_float32(self) -> bool:
        return True

    def host(self, a) -> np.ndarray:
        return np.asarray(a)

    def gram(self, q, a):
        return q @ a.T

    def maximum(self, arrays):
        out = np.maximum(arrays[0], arrays[1])
        for a in arrays[2:]:
            np.maximum(out, a, out=out)
        return out

    def kth(self, j, k: int) -> np.ndarray:
        return np.partition(j, k - 1, axis=1)[:, k - 1].astype(np.float64)

    def nonzero(self, mask) -> tuple[np.ndarray, np.ndarray]:
        return np.nonzero(mask)

    def count(self, mask) -> np.ndarray:
        return np.count_nonzero(mask, axis=1)

    def column(self, v: np.ndarray, like):
        return v.astype(like.dtype, copy=False)[:, None]

    def set_diagonal(self, a, start: int) -> None:
        r = np.arange(a.shape[0])
        a[r, start + r] = np.inf


class _TorchOps:
    """The same arithmetic in torch on ``device`` (CUDA, or the CPU for tests)."""

    def __init__(self, device: str):
        import torch

        self.torch = torch
        self.device = device

    def put(self, a: np.ndarray):
        return self.torch.as_tensor(a, device=self.device)

    def exact_float32(self) -> bool:
        """False when torch may multiply float32 matrices in TF32 or bfloat16
        (``torch.set_float32_matmul_precision``, ``allow_tf32``): the rounding
        bound assumes float32 arithmetic, so screening then runs in float64."""
        t = self.torch
        return (t.get_float32_matmul_precision() == "highest"
                and not getattr(t.backends.cuda.matmul, "allow_tf32", False))

    def host(self, a) -> np.ndarray:
        return a.cpu().numpy()

    def gram(self, q, a):
        return q @ a.T

    def maximum(self, arrays):
        out = self.torch.maximum(arrays[0], arrays[1])
        for a in arrays[2:]:
            self.torch.maximum(out, a, out=out)
        return out

    def kth(self, j, k: int) -> np.ndarray:
        return self.torch.kthvalue(j, k, dim=1).values.cpu().numpy().astype(np.float64)

    def nonzero(self, mask) -> tuple[np.ndarray, np.ndarray]:
        idx = self.torch.nonzero(mask).cpu().numpy()
        return idx[:, 0], idx[:, 1]

    def count(self, mask) -> np.ndarray:
        return mask.sum(dim=1).cpu().numpy()

    def column(self, v: np.ndarray, like):
        return self.torch.as_tensor(v, device=like.device).to(like.dtype)[:, None]

    def set_diagonal(self, a, start: int) -> None:
        r = self.torch.arange(a.shape[0], device=a.device)
        a[r, start + r] = float("inf")


def _ops(device: str, library: str):
    if library == "torch" or device != "cpu":
        return _TorchOps(device)
    return _NumpyOps()


_CHUNK_ROWS = 4096  # rows per step when centring and rounding a block
_BUILD_LOCK = threading.Lock()


@dataclass
class _Block:
    """One block of columns: the exact rows and, per screening precision, centred
    copies and their squared norms on the device (built in row chunks: no float64
    centred copy of the whole block is kept)."""

    a: np.ndarray  # (n, d) float64, as given
    mean: np.ndarray = field(init=False)
    cnorm: np.ndarray = field(init=False)  # ||a_i - mean||, float64
    screened: dict = field(default_factory=dict)
    offset: float | None = None

    def __post_init__(self):
        self.mean = self.a.mean(axis=0)
        self.cnorm = np.empty(self.a.shape[0])
        for s in range(0, self.a.shape[0], _CHUNK_ROWS):
            c = self.a[s:s + _CHUNK_ROWS] - self.mean
            self.cnorm[s:s + _CHUNK_ROWS] = np.sqrt(np.einsum("ij,ij->i", c, c))

    def on(self, ops, dtype):
        """(rows, squared norms) in ``dtype`` on the device; the norms are those of
        the rounded rows, so that the screened square of a row with itself is ~0."""
        key = np.dtype(dtype).name
        with _BUILD_LOCK:  # row blocks screened again in float64 may ask at once
            if key not in self.screened:
                self.screened[key] = self._build(ops, dtype)
        return self.screened[key]

    def _build(self, ops, dtype):
        n = self.a.shape[0]
        c = np.empty(self.a.shape, dtype=dtype)
        sq = np.empty(n, dtype=dtype)
        for s in range(0, n, _CHUNK_ROWS):
            part = self.a[s:s + _CHUNK_ROWS] - self.mean
            c[s:s + _CHUNK_ROWS] = part
            part[:] = c[s:s + _CHUNK_ROWS]  # the rounded rows, in float64
            sq[s:s + _CHUNK_ROWS] = np.einsum("ij,ij->i", part, part)
        return ops.put(c), ops.put(sq)

    def bound(self, rows: slice, dtype) -> np.ndarray:
        """delta_i of the module docstring for the query rows, float64, plus the
        rounding of the centring itself (t: a bound on ||fl(a - mean) - (a - mean)||,
        which matters only for data far from the origin)."""
        u = float(np.finfo(dtype).eps) / 2
        d = self.a.shape[1]
        if self.offset is None:
            self.offset = 2 * _U64 * np.sqrt(d) * (np.abs(self.a).max() + np.abs(self.mean).max())
        span = self.cnorm[rows] + self.cnorm.max()
        t = self.offset
        return 2.0 * (d + 8) * u * span**2 + 4 * span * t + 4 * t * t


@dataclass
class Found:
    """What :func:`search` found: exact distances to the k nearest other rows
    (ascending, ``None`` without k) and one count per requested subset."""

    dist: np.ndarray | None
    counts: list[np.ndarray]
    rescreened: int = 0  # row blocks screened again in float64


def search(blocks: Sequence[np.ndarray], *, k: int | None = None,
           subsets: Sequence[Sequence[int]] = (), radii: np.ndarray | None = None,
           strict: bool = True, marginal: bool = False, device: str = "cpu",
           library: str = "numpy", screen=np.float32, block_bytes: int, workers: int = 1,
           progress: Callable[[int, int], None] | None = None) -> Found:
    """Exact k-nearest-neighbour distances and radius counts, one pass over row blocks.

    Parameters
    ----------
    blocks : sequence of ndarray (n_samples, d_b)
        Column blocks of the same rows; distances on a set of blocks are the
        max over the blocks of the blocks' Euclidean distances.
    k : the neighbours to find on all blocks jointly (None: counts only)
    subsets : sets of block indices to count within a radius on
    radii : (n_samples,) the radii of the counts when ``k`` is None; with ``k``
        the radius is the k-th joint distance, or with ``marginal=True`` the
        largest distance on the subset among the k joint neighbours (KSG
        algorithm 2)
    strict : count distances < r (else <= r)
    screen : float32 or float64, the precision of the screening products
    block_bytes : memory budget of the screened squares of the row blocks in flight
    workers : row blocks screened side by side on the CPU (threads)

    Returns
    -------
    Found
    """
    ops = _ops(device, library)
    if not ops.exact_float32():
        screen = np.float64
    bl = [_Block(np.ascontiguousarray(b, dtype=np.float64)) for b in blocks]
    n = bl[0].a.shape[0]
    workers = max(1, workers if ops.device == "cpu" else 1)
    arrays = len(bl) + 2 + (1 if any(len(s) > 1 for s in subsets) else 0)
    step = int(max(1, min(n, block_bytes // (8 * n * arrays * workers))))
    dist = np.empty((n, k)) if k else None
    counts = [np.empty(n, dtype=np.int64) for _ in subsets]
    for b in bl:  # built once, before any worker needs them
        b.on(ops, screen)

    def one(q0):
        rows = slice(q0, min(q0 + step, n))
        done = _row_block(bl, ops, rows, k, subsets, radii, strict, marginal, screen,
                          limit=_RESCREEN_SHARE * (rows.stop - q0) * n)
        if done is None:  # band too wide in float32: screen this block in float64
            return rows, True, _row_block(bl, ops, rows, k, subsets, radii, strict, marginal,
                                          np.float64, limit=None)
        return rows, False, done

    starts = range(0, n, step)
    rescreened = 0
    if workers > 1 and len(starts) > 1:
        # NumPy's elementwise work is single-threaded: row blocks side by side keep
        # every core busy (the caller limits BLAS to one thread each)
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(workers, thread_name_prefix="infocli-blas")
        results = pool.map(one, starts)
    else:
        pool, results = None, map(one, starts)
    try:
        for rows, again, (d_k, c) in results:
            rescreened += again
            if k:
                dist[rows] = d_k
            for out, got in zip(counts, c):
                out[rows] = got
            if progress is not None:
                progress(rows.stop, n)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return Found(dist, counts, rescreened)


def _row_block(bl: list[_Block], ops, rows: slice, k, subsets, radii, strict, marginal,
               dtype, limit):
    """k nearest and counts of the query ``rows``; None when the bands hold more
    than ``limit`` pairs (the caller screens again more precisely)."""
    q0, q1 = rows.start, rows.stop
    nq = q1 - q0
    sq, delta = [], []
    for b in bl:
        c, norms = b.on(ops, dtype)
        g = ops.gram(c[q0:q1], c)
        g *= -2
        g += norms[None, :]
        g += norms[q0:q1, None]
        ops.set_diagonal(g, q0)  # self-matches never count
        sq.append(g)
        delta.append(b.bound(rows, dtype))
    pending = 0
    d_k = None
    pair_sq: list[np.ndarray] = []
    if k:
        joint = sq[0] if len(sq) == 1 else ops.maximum(sq)
        dj = np.max(delta, axis=0)
        tau = ops.kth(joint, k)
        cand = joint <= ops.column(_round(tau + 2 * dj, dtype, np.inf), joint)
        del joint
        r_idx, c_idx = ops.nonzero(cand)
        del cand
        if limit is not None and r_idx.size - k * nq > limit:
            return None
        rg = r_idx + q0
        pair_sq = [_exact(b.a, rg, c_idx) for b in bl]
        e = np.max(pair_sq, axis=0) if len(bl) > 1 else pair_sq[0]
        order = np.lexsort((c_idx, e, r_idx))  # by row, then distance, then index
        start = np.searchsorted(r_idx[order], np.arange(nq))
        pick = order[start[:, None] + np.arange(k)]  # (nq, k) positions into the pairs
        d_k = np.sqrt(e[pick])
    out = []
    for s in subsets:
        m = sq[s[0]] if len(s) == 1 else ops.maximum([sq[b] for b in s])
        dm = np.max([delta[b] for b in s], axis=0)
        if radii is not None:
            r = np.asarray(radii[q0:q1], dtype=np.float64)
        elif marginal:
            es = np.max([pair_sq[b] for b in s], axis=0)
            r = np.sqrt(es[pick]).max(axis=1)
        else:
            r = d_k[:, k - 1]
        r2 = r * r
        lo = _round(r2 * (1 - 8 * _U64) - dm, dtype, -np.inf)
        hi = _round(r2 * (1 + 8 * _U64) + dm, dtype, np.inf)
        lo_t, hi_t = ops.column(lo, m), ops.column(hi, m)
        inside = ops.count(m < lo_t)
        band = (m >= lo_t) & (m <= hi_t)
        del m
        br, bc = ops.nonzero(band)
        del band
        pending += br.size
        if limit is not None and pending > limit:
            return None
        if br.size:
            rg = br + q0
            es = np.max([_exact(bl[b].a, rg, bc) for b in s], axis=0)
            d = np.sqrt(es)
            ok = (d < r[br]) if strict else (d <= r[br])
            inside = inside + np.bincount(br[ok], minlength=nq)
        out.append(inside.astype(np.int64))
    return d_k, out
