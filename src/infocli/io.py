"""Files to arrays: .npy (memory-mapped), .npz (``file.npz:key``), .parquet,
.csv/.tsv (header detected) and ``-`` for stdin (CSV text or .npy bytes).

Every failure is an :class:`~infocli.errors.InputError` naming the file and
what was expected. Nothing here estimates anything.
"""

from __future__ import annotations

import csv
import errno
import io
import os
import stat
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
    #: what the reader decided that the user should know (e.g. a numeric header row)
    notes: tuple[str, ...] = ()

    @property
    def n_columns(self) -> int:
        return self.data.shape[1]

    def column_label(self, j: int) -> str:
        return self.columns[j] if self.columns is not None else str(j)


def read_table(spec: str, stdin: BinaryIO | None = None, *, header: bool | None = None) -> Table:
    """Load one input given as PATH, PATH.npz:KEY or ``-`` (stdin).

    ``header`` (CSV/TSV text only): True, the first row names the columns; False, it
    is data; None, detected (see :func:`_parse_text`)."""
    if spec == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        return _read_bytes("<stdin>", stream.read(), header)
    if "\x00" in spec:
        raise InputError(f"{_short(repr(spec))}: a file name cannot contain a NUL byte")
    path, key = _split_key(spec)
    try:
        os.stat(path)
    except OSError as exc:
        raise InputError(f"{_short(path)}: {_os_reason(exc)}") from None
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
    return _frame_table(path, *_parse_text(path, raw, "\t" if suffix == ".tsv" else None,
                                           header))


def _split_key(spec: str) -> tuple[str, str | None]:
    m = re.match(r"^(.*\.npz):([^/\\]+)$", spec, flags=re.IGNORECASE)
    if m and not os.path.exists(spec):
        return m.group(1), m.group(2)
    return spec, None


_NPY_MAGIC = b"\x93NUMPY"


def _load_npy(path: str) -> np.ndarray:
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({_os_reason(exc)})") from None
    if not head.startswith(_NPY_MAGIC):
        raise InputError(f"{path}: not a .npy file (no NumPy header; it starts with "
                         f"{_short(head[:16], 40)}); expected an array saved by numpy.save"
                         + ("; a text file? name it .csv" if _looks_like_text(head) else ""))
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        text = str(exc)
        if "max_header_size" in text or "Header info length" in text:
            raise InputError(f"{path}: its .npy header is larger than numpy loads safely "
                             "(10,000 bytes); expected a plain array saved by numpy.save") from None
        if "Python objects" in text or "allow_pickle" in text:
            # never unpickle a data file: that can run arbitrary code
            raise InputError(
                f"{path}: holds Python objects (a pickled object array), which infocli does "
                "not load; save labels as strings (np.array(labels, dtype=str)) or numbers"
            ) from None
        raise InputError(f"{path}: not a valid .npy file ({_short(text, 200)})") from None
    except Exception as exc:  # noqa: BLE001 - any loader failure is bad input
        raise InputError(f"{path}: not a valid .npy file ({_short(exc, 200)})") from None


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c >= 32 or c in (9, 10, 13) for c in head)


def _keys_text(keys: list[str], limit: int = 10) -> str:
    shown = ", ".join(_short(k, 40) for k in keys[:limit])
    return shown + (f", ... ({len(keys) - limit:,} more)" if len(keys) > limit else "")


def _npz_member_size(z, path: str, key: str) -> None:
    """Check the array ``key`` of an open NpzFile against the memory budget from its
    declared shape and dtype (and the zip's uncompressed size), before inflating it:
    a few MB of zeros can declare gigabytes."""
    import zipfile

    zf = getattr(z, "zip", None)
    if not isinstance(zf, zipfile.ZipFile):
        return
    name = key if key in zf.namelist() else f"{key}.npy"
    try:
        info = zf.getinfo(name)
        with zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                      else np.lib.format.read_array_header_2_0)
            shape, _, dtype = reader(f)
    except KeyError:
        return
    except Exception as exc:  # noqa: BLE001 - a bad member: np.load names it below
        raise InputError(f"{path}:{_short(key, 40)}: not a valid array "
                         f"({_short(exc, 200)})") from None
    count = int(np.prod(shape, dtype=object)) if shape else 1
    # the array itself, then its float64 copy for the estimators
    need = max(count * max(dtype.itemsize, 1), info.file_size) + 8 * count
    dims = " x ".join(f"{d:,}" for d in shape) or "a scalar"
    check_budget(need, f"{path}:{_short(key, 40)}", f"{dims} {dtype} (with its float64 copy)")


def _load_npz(path: str, key: str | None) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.keys())
            if key is None:
                if len(keys) != 1:
                    raise InputError(
                        f"{path}: holds {len(keys):,} arrays ({_keys_text(keys)}); choose one "
                        f"as {path}:KEY"
                    )
                key = keys[0]
            if key not in keys:
                raise InputError(f"{path}: no array {_short(key, 40)!r}; it holds "
                                 f"{_keys_text(keys)}")
            _npz_member_size(z, path, key)
            return z[key]
    except InputError:
        raise
    except MemoryError:
        raise InputError(f"{path}: array {key!r} does not fit in memory") from None
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{path}: not a valid .npz file ({_short(exc, 200)})") from None


# --------------------------------------------------------------------------- budget

def _parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)(i?)[bB]?\s*", str(text))
    if not m:
        raise InputError(f"INFOCLI_MEMORY_BUDGET {text!r}: expected a size such as 4GB, "
                         "700MiB or a number of bytes")
    power = " KMGT".index(m.group(2).upper() or " ")
    return int(float(m.group(1)) * (1024 if m.group(3) else 1000) ** power)


def _available_memory() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def memory_budget() -> tuple[int | None, str]:
    """The memory budget in bytes and where it comes from: ``INFOCLI_MEMORY_BUDGET``
    (a size such as ``4GB``, ``700MiB``), else half of the memory available now
    (Linux MemAvailable); None when neither is known."""
    text = os.environ.get("INFOCLI_MEMORY_BUDGET", "").strip()
    if text:
        return _parse_size(text), "INFOCLI_MEMORY_BUDGET"
    avail = _available_memory()
    if avail is None:
        return None, "unknown"
    return avail // 2, "half the available memory"


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def check_budget(nbytes: int, source: str, what: str) -> None:
    """Refuse work that needs more than :func:`memory_budget`, before allocating:
    an InputError with the numbers (``what`` says what was declared)."""
    budget, origin = memory_budget()
    if budget is not None and nbytes > budget:
        raise InputError(f"{source}: {what} needs {_fmt_bytes(nbytes)}, more than the memory "
                         f"budget of {_fmt_bytes(budget)} ({origin}); set "
                         "INFOCLI_MEMORY_BUDGET (e.g. 16GB) to allow more, or use fewer "
                         "rows or columns")


def _load_parquet(path: str):
    """A parquet file as a DataFrame, its size checked against the memory budget
    from the file's metadata first. Decimal columns become float64 (documented);
    nested (struct, list, map) and binary columns load as Python objects, which
    the validators refuse by name when such a column is used."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
        schema = pq.read_schema(path)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{path}: not a valid parquet file ({_short(exc, 200)})") from None
    declared = sum(meta.row_group(g).total_byte_size for g in range(meta.num_row_groups))
    check_budget(max(declared, 8 * meta.num_rows * max(1, len(schema))), path,
                 f"{meta.num_rows:,} rows x {len(schema)} columns")
    try:
        table = pq.read_table(path)
        for i, fld in enumerate(table.schema):
            if pa.types.is_decimal(fld.type):  # exact decimals -> float64, as documented
                try:
                    column = table.column(i).cast(pa.float64())
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    raise InputError(f"{path}: decimal column {_short(fld.name)!r} "
                                     f"({fld.type}) does not convert to float64") from None
                table = table.set_column(i, fld.name, column)
        return table.to_pandas()
    except InputError:
        raise
    except MemoryError:
        raise InputError(f"{path}: does not fit in memory") from None
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{path}: not a valid parquet file ({_short(exc, 200)})") from None


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


def _frame_table(source: str, df, notes: tuple[str, ...] = ()) -> Table:
    if df.shape[0] == 0:
        raise InputError(f"{source}: has no data rows")
    if df.shape[1] == 0:
        raise InputError(f"{source}: has no columns")
    return Table(source, df, [str(c) for c in df.columns], tuple(notes))


def _read_bytes(source: str, raw: bytes, header: bool | None = None) -> Table:
    if not raw:
        raise InputError(f"{source}: no data on standard input")
    if raw.startswith(_NPY_MAGIC):
        try:
            arr = np.load(io.BytesIO(raw), allow_pickle=False)
        except Exception as exc:  # noqa: BLE001
            raise InputError(f"{source}: not a valid .npy stream ({exc})") from None
        return _array_table(source, arr)
    return _frame_table(source, *_parse_text(source, raw, None, header))


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _numeric_header(first: list[str], rows: list[list[str]]) -> bool:
    """A first row 0,1,...,d-1 (or 1..d) of at least two fields, as pandas writes
    integer column names, above a row that is not the same sequence."""
    if len(first) < 2 or not all(re.fullmatch(r"\d+", f) for f in first):
        return False
    values = [int(f) for f in first]
    if values not in (list(range(len(first))), list(range(1, len(first) + 1))):
        return False
    return len(rows) < 2 or [f.strip() for f in rows[1]] != first


def _parse_text(source: str, raw: bytes, sep: str | None, header: bool | None = None):
    """(DataFrame, notes) of CSV/TSV text; the separator is sniffed (comma, tab,
    semicolon, space). ``header`` None detects it: the first row is a header when all
    its fields are non-numeric, or when a field is non-numeric above a numeric one,
    or when it is 0,1,...,d-1 (pandas' integer column names; a note says so)."""
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
    notes: list[str] = []
    if header is None:
        header = not all(_is_number(f) for f in first) and (
            all(not _is_number(f) for f in first)
            or (len(rows) > 1 and any(not _is_number(a) and _is_number(b.strip())
                                      for a, b in zip(first, rows[1])))
        )
        if not header and _numeric_header(first, rows):
            header = True
            shown = ",".join(first[:4]) + (",..." if len(first) > 4 else "")
            notes.append(f"{source}: the first row ({shown}) was read as column names (the "
                         "integer names pandas writes), not as data; if it is data, read it "
                         "with header=False (on the command line: --no-input-header)")
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, header=0 if header else None,
                         skipinitialspace=True, engine="python" if len(sep) > 1 else "c")
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{source}: cannot parse as CSV ({str(exc).splitlines()[0]})") from None
    if not header:
        df.columns = [str(j) for j in range(df.shape[1])]
    return df, tuple(notes)


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
    check_budget(8 * table.data.shape[0] * len(idx), table.source,
                 f"{table.data.shape[0]:,} rows x {len(idx):,} columns as float64")
    if isinstance(table.data, np.ndarray):
        return table.data[:, idx], idx
    return table.data.iloc[:, idx], idx


def _resolve_part(table: Table, part: str, option: str) -> list[int]:
    """Column indices of one part of a column list: a name, an index, an index range
    ``0:3`` (end excluded) or a name range ``p20:p29`` (both ends included). A part
    that reads as an index range is one, even when the columns are named by numbers."""
    n = table.n_columns
    if table.columns is not None and part in table.columns:
        return [table.columns.index(part)]
    named = re.fullmatch(r"(.+?):(.+)", part)
    if (table.columns is not None and named and not re.fullmatch(r"(-?\d*):(-?\d*)", part)
            and named.group(1) in table.columns and named.group(2) in table.columns):
        a, b = table.columns.index(named.group(1)), table.columns.index(named.group(2))
        if a > b:
            raise InputError(f"{option} {part!r}: {named.group(1)} comes after "
                             f"{named.group(2)} in {table.source}")
        return list(range(a, b + 1))
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
    a directory, a symlink loop, a missing or unwritable parent directory
    (InputError naming option)."""
    target = os.path.realpath(path)  # a symlink is written through: check where it points
    folder = os.path.dirname(target)
    try:
        os.stat(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise InputError(f"{option} {_short(path)}: {_os_reason(exc)}") from None
    if os.path.isdir(path):
        raise InputError(f"{option} {path}: is a directory, expected a file name")
    if not os.path.isdir(folder):
        raise InputError(f"{option} {path}: directory {folder} does not exist")
    if not os.access(folder, os.W_OK) and not _is_special(target):
        raise InputError(f"{option} {path}: directory {folder} is not writable")


def check_not_input(path: str | None, option: str, inputs) -> None:
    """Refuse an output ``path`` that is one of the ``inputs`` (file specs, ``-``
    and ``file.npz:key`` allowed): the same file by device and inode, whatever its
    name (a hard link, a symlink, ``./x.npy``). Writing the result over the data
    would lose the data."""
    if not path or path == "-":
        return
    try:
        out = os.stat(path)
    except OSError:
        return  # a new file cannot be an input
    if not stat.S_ISREG(out.st_mode):
        return  # written through, never replaced (see write_atomic)
    for spec in inputs:
        if not spec or spec == "-":
            continue
        try:
            st = os.stat(_split_key(spec)[0])
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (out.st_dev, out.st_ino):
            raise InputError(f"{option} {_short(path)}: is the input {_short(spec)}; writing "
                             "the result there would destroy the data; choose another file name")


def _is_special(path: str) -> bool:
    """True for an existing device node, FIFO or socket (not a regular file or folder)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _os_reason(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "too many levels of symbolic links (a symlink loop)"
    if exc.errno == errno.ENOENT:
        return "no such file"
    if exc.errno == errno.EACCES:
        return "permission denied"
    return exc.strerror or str(exc)


def _short(text: Any, limit: int = 120) -> str:
    """``text`` cut to ``limit`` characters for a message (see errors.quote)."""
    from .errors import clip

    return clip(str(text), limit)


def write_text_atomic(path: str, option: str, text: str) -> None:
    """:func:`write_atomic` of a text."""

    def save(tmp: str) -> None:
        with open(tmp, "w") as f:
            f.write(text)

    write_atomic(path, option, save)


def write_atomic(path: str, option: str, write) -> None:
    """Write ``path`` without ever leaving it half-written, or replacing what is not
    a regular file.

    A regular file (or a new name) is written atomically: ``write(tmp)`` on a
    temporary name beside it, the old file's permission bits copied, then a
    rename over it. A symlink is followed: its target is written, the link stays.
    A device node, FIFO or socket (``/dev/null``, a named pipe) is written into
    directly, never replaced. On failure the temporary file is removed and an
    InputError names ``option``. ``write`` must create (or open for writing)
    exactly the file it is given.
    """
    import contextlib

    try:
        target = os.path.realpath(path)
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise InputError(f"{option} {_short(path)}: cannot write ({_os_reason(exc)})") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise InputError(f"{option} {_short(path)}: is a directory, expected a file name")
    if st is not None and not stat.S_ISREG(st.st_mode):
        try:
            write(target)
        except OSError as exc:
            raise InputError(f"{option} {_short(path)}: cannot write ({_os_reason(exc)})") from None
        return
    tmp = f"{target}.tmp-{os.getpid()}"
    try:
        write(tmp)
        if st is not None:
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
            if (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
                with contextlib.suppress(OSError):  # only root may give files away
                    os.chown(tmp, st.st_uid, st.st_gid)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise InputError(f"{option} {_short(path)}: cannot write ({_os_reason(exc)})") from None
