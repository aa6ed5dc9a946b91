"""Files to arrays: .npy (memory-mapped), .npz (``file.npz:key``), .parquet,
.csv/.tsv (header detected) and ``-`` for stdin (CSV text or .npy bytes).

Every failure is an :class:`~infocli.errors.InputError` naming the file and
what was expected. Nothing here estimates anything.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from .errors import InputError

TABULAR = (".csv", ".tsv", ".txt")
SUFFIXES = (".npy", ".npz", ".parquet", ".pq") + TABULAR


@dataclass(frozen=True)
class Table:
    """A loaded input: a 2-D numpy array (``columns`` None) or a DataFrame."""

    source: str
    data: Any  # np.ndarray (2-D) or pandas.DataFrame
    columns: list[str] | None

    @property
    def n_columns(self) -> int:
        return self.data.shape[1]

    def column_label(self, j: int) -> str:
        return self.columns[j] if self.columns is not None else str(j)


def read_table(spec: str, stdin: BinaryIO | None = None) -> Table:
    """Load one input given as PATH, PATH.npz:KEY or ``-`` (stdin)."""
    if spec == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        return _read_bytes("<stdin>", stream.read())
    path, key = _split_key(spec)
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory, expected a data file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: permission denied")
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in SUFFIXES:
        raise InputError(
            f"{path}: unknown extension {suffix or '(none)'!r}; expected one of "
            + ", ".join(SUFFIXES) + " (or '-' for stdin)"
        )
    if os.path.getsize(path) == 0:
        raise InputError(f"{path}: file is empty")
    if key is not None and suffix != ".npz":
        raise InputError(f"{spec}: ':{key}' selects an array inside an .npz file only")
    if suffix == ".npy":
        return _array_table(spec, _load_npy(path))
    if suffix == ".npz":
        return _array_table(spec, _load_npz(path, key))
    if suffix in (".parquet", ".pq"):
        return _frame_table(path, _load_parquet(path))
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return _frame_table(path, _parse_text(path, raw, "\t" if suffix == ".tsv" else None))


def _split_key(spec: str) -> tuple[str, str | None]:
    m = re.match(r"^(.*\.npz):([^/\\]+)$", spec, flags=re.IGNORECASE)
    if m and not os.path.exists(spec):
        return m.group(1), m.group(2)
    return spec, None


def _load_npy(path: str) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        if "Python objects" in str(exc) or "allow_pickle" in str(exc):
            # never unpickle a data file: that can run arbitrary code
            raise InputError(
                f"{path}: holds Python objects (a pickled object array), which infocli does "
                "not load; save labels as strings (np.array(labels, dtype=str)) or numbers"
            ) from None
        raise InputError(f"{path}: not a valid .npy file ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - any loader failure is bad input
        raise InputError(f"{path}: not a valid .npy file ({exc})") from None


def _load_npz(path: str, key: str | None) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.keys())
            if key is None:
                if len(keys) != 1:
                    raise InputError(
                        f"{path}: holds {len(keys)} arrays ({', '.join(keys)}); choose one "
                        f"as {path}:KEY"
                    )
                key = keys[0]
            if key not in keys:
                raise InputError(f"{path}: no array {key!r}; it holds {', '.join(keys)}")
            return z[key]
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{path}: not a valid .npz file ({exc})") from None


def _load_parquet(path: str):
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path).to_pandas()
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{path}: not a valid parquet file ({exc})") from None


def _array_table(source: str, arr: np.ndarray) -> Table:
    if arr.ndim == 0:
        raise InputError(f"{source}: holds a single number, expected an array of samples")
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise InputError(f"{source}: expected a 1-D or 2-D array, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise InputError(f"{source}: has no rows")
    if arr.dtype.names is not None:
        raise InputError(f"{source}: structured arrays are not supported; save a plain 2-D array")
    return Table(source, arr, None)


def _frame_table(source: str, df) -> Table:
    if df.shape[0] == 0:
        raise InputError(f"{source}: has no data rows")
    if df.shape[1] == 0:
        raise InputError(f"{source}: has no columns")
    return Table(source, df, [str(c) for c in df.columns])


def _read_bytes(source: str, raw: bytes) -> Table:
    if not raw:
        raise InputError(f"{source}: no data on standard input")
    if raw.startswith(b"\x93NUMPY"):
        try:
            arr = np.load(io.BytesIO(raw), allow_pickle=False)
        except Exception as exc:  # noqa: BLE001
            raise InputError(f"{source}: not a valid .npy stream ({exc})") from None
        return _array_table(source, arr)
    return _frame_table(source, _parse_text(source, raw, None))


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _parse_text(source: str, raw: bytes, sep: str | None):
    """CSV/TSV text; the separator is sniffed (comma, tab, semicolon, space)
    and a header is detected: the first row is a header when all its fields are
    non-numeric, or when a field is non-numeric above a numeric one."""
    import pandas as pd

    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{source}: not UTF-8 text; expected CSV/TSV") from None
    lines = [ln for ln in text.splitlines() if ln.strip()][:2]
    if not lines:
        raise InputError(f"{source}: no data rows")
    if sep is None:
        first = lines[0]
        sep = max([",", "\t", ";"], key=first.count)
        if first.count(sep) == 0:
            sep = r"\s+" if len(first.split()) > 1 else ","
    rows = [next(csv.reader([ln], delimiter=sep, skipinitialspace=True)) if len(sep) == 1
            else ln.split() for ln in lines]
    first = [f.strip() for f in rows[0]]
    header = not all(_is_number(f) for f in first) and (
        all(not _is_number(f) for f in first)
        or (len(rows) > 1 and any(not _is_number(a) and _is_number(b.strip())
                                  for a, b in zip(first, rows[1])))
    )
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, header=0 if header else None,
                         skipinitialspace=True, engine="python" if len(sep) > 1 else "c")
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{source}: cannot parse as CSV ({str(exc).splitlines()[0]})") from None
    if not header:
        df.columns = [str(j) for j in range(df.shape[1])]
    return df


def select_columns(table: Table, spec: str | None, *, exclude: list[int] | None = None,
                   option: str = "--x-cols") -> tuple[Any, list[int]]:
    """Columns of ``table`` named by ``spec`` (names, indices, ranges ``0:3``,
    comma-separated; negative indices count from the end). ``None`` selects
    every column not in ``exclude``. Returns (data, column indices)."""
    n = table.n_columns
    if spec is None:
        idx = [j for j in range(n) if j not in set(exclude or [])]
        if not idx:
            raise InputError(f"{table.source}: no columns left for {option.lstrip('-')}")
    else:
        idx = []
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            idx.extend(_resolve_part(table, part, option))
        if not idx:
            raise InputError(f"{option} {spec!r}: selects no columns of {table.source}")
    if isinstance(table.data, np.ndarray):
        return table.data[:, idx], idx
    return table.data.iloc[:, idx], idx


def _resolve_part(table: Table, part: str, option: str) -> list[int]:
    n = table.n_columns
    if table.columns is not None and part in table.columns:
        return [table.columns.index(part)]
    m = re.fullmatch(r"(-?\d*):(-?\d*)", part)
    if m:
        start = int(m.group(1)) if m.group(1) else 0
        stop = int(m.group(2)) if m.group(2) else n
        rng = list(range(n))[slice(start, stop)]
        if not rng:
            raise InputError(f"{option} {part!r}: empty range for {table.source} with {n} columns")
        return rng
    if re.fullmatch(r"-?\d+", part):
        j = int(part)
        if not -n <= j < n:
            raise InputError(f"{option} {part!r}: {table.source} has {n} columns (0..{n - 1})")
        return [j % n]
    valid = f"columns: {', '.join(table.columns)}" if table.columns else f"indices 0..{n - 1}"
    raise InputError(f"{option} {part!r}: no such column in {table.source}; valid {valid}")


def check_writable(path: str, option: str) -> None:
    """Refuse an output file name that cannot be written, before any work is done:
    a directory, a missing or unwritable parent directory (InputError naming option)."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise InputError(f"{option} {path}: is a directory, expected a file name")
    if not os.path.isdir(folder):
        raise InputError(f"{option} {path}: directory {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise InputError(f"{option} {path}: directory {folder} is not writable")


def write_atomic(path: str, option: str, write) -> None:
    """Call ``write(tmp)`` on a temporary name beside ``path``, then rename it to
    ``path``; on failure remove the temporary file and raise InputError naming
    ``option``. ``write`` must create exactly the file it is given."""
    import contextlib

    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise InputError(f"{option} {path}: cannot write ({exc.strerror or exc})") from None
