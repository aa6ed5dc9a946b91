"""Validation at the library boundary: shapes, dtypes, finiteness, labels.

Messages name the variable (and column) and say what was expected and what
arrived, e.g. ``"x has 1000 rows but y has 999"``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .errors import Hint, InputError, quote


def _to_numpy(a: Any) -> tuple[np.ndarray, list[str] | None]:
    """numpy view of arrays, torch tensors, pandas objects and lists; column names if any."""
    columns = None
    module = type(a).__module__
    if module.startswith("torch"):
        a = a.detach().cpu().numpy()
    elif hasattr(a, "columns") and hasattr(a, "to_numpy"):  # pandas DataFrame
        columns = [str(c) for c in a.columns]
        a = a.to_numpy()
    elif hasattr(a, "to_numpy") and hasattr(a, "name"):  # pandas Series
        columns = [str(a.name)] if a.name is not None else None
        a = a.to_numpy()
    return _decimals_to_float(np.asarray(a)), columns


def _decimals_to_float(arr: np.ndarray) -> np.ndarray:
    """An object array of ``decimal.Decimal`` (a pandas column read from SQL or
    parquet) as float64, the documented conversion, not class labels. Missing
    values (None) become NaN."""
    if arr.dtype.kind != "O" or arr.size == 0:
        return arr
    from decimal import Decimal

    if not all(isinstance(v, Decimal) or v is None for v in arr.flat):
        return arr
    if all(v is None for v in arr.flat):
        return arr
    return np.array([np.nan if v is None else float(v) for v in arr.flat],
                    dtype=np.float64).reshape(arr.shape)


def _shape_2d(a: np.ndarray, name: str) -> np.ndarray:
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    elif a.ndim != 2:
        raise InputError(f"{name}: expected a 1-D or 2-D array (rows x columns), got shape {a.shape}")
    if a.shape[0] == 0:
        raise InputError(f"{name} has no rows")
    if a.shape[1] == 0:
        raise InputError(f"{name} has no columns")
    return a


def _col(columns: Sequence[str] | None, j: int) -> str:
    return f"column {columns[j]!r}" if columns is not None and j < len(columns) else f"column {j}"


def column_names(a: Any) -> list[str] | None:
    """Column names of a pandas DataFrame or named Series; None otherwise (cheap)."""
    if hasattr(a, "columns") and hasattr(a, "to_numpy"):
        return [str(c) for c in a.columns]
    if hasattr(a, "to_numpy") and getattr(a, "name", None) is not None:
        return [str(a.name)]
    return None


def as_continuous(a: Any, name: str, columns: Sequence[str] | None = None,
                  var: str = "x", labels_ok: bool = False) -> np.ndarray:
    """A finite float64 array of shape (n_samples, n_dims).

    ``var`` (``"x"``, ``"y"`` or ``"z"``) and ``labels_ok`` (whether this
    variable could be passed as class labels instead) select the hint attached
    to a non-numeric column or to NaN/inf values.
    """
    arr, found = _to_numpy(a)
    columns = columns if columns is not None else found
    arr = _shape_2d(arr, name)
    _refuse_complex(arr, name, columns)
    try:
        # strings are never silently parsed as numbers
        if arr.dtype.kind in "US" or (
            arr.dtype.kind == "O" and any(isinstance(v, (str, bytes)) or v is None for v in arr.flat)
        ):
            raise ValueError
        arr = np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError):
        _raise_non_numeric(arr, name, columns, var, labels_ok)
    bad = ~np.isfinite(arr)
    if bad.any():
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(bad.sum()) - n_nan
        rows, cols = np.nonzero(bad)
        parts = [f"{n_nan} NaN" if n_nan else "", f"{n_inf} infinite" if n_inf else ""]
        what = " and ".join(p for p in parts if p)
        raise InputError(
            f"{name}: {what} value(s) (first in {_col(columns, int(cols[0]))}, row {int(rows[0])}, "
            "0-based); expected finite numbers", hint=Hint("dropna", var)
        )
    _refuse_huge(arr, name, columns)
    return arr


def _is_number_value(v: Any) -> bool:
    """True for a value that is a number, or text that reads as one."""
    if v is None or isinstance(v, (bytes, dict, list, tuple, set, np.ndarray)):
        return False
    try:
        float(v)
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def _raise_non_numeric(arr: np.ndarray, name: str, columns, var: str, labels_ok: bool) -> None:
    # The first value that is not a number at all; a text column whose values all
    # read as numbers (numbers stored as text) is named by its first row.
    first_text = None
    for j in range(arr.shape[1]):
        for i, v in enumerate(arr[:, j]):
            if isinstance(v, str) and _is_number_value(v):
                first_text = first_text or (i, j, v)
                continue
            if not _is_number_value(v):
                break
        else:
            continue
        return _non_numeric_error(name, columns, j, i, v, var, labels_ok)
    if first_text is not None:
        i, j, v = first_text
        return _non_numeric_error(name, columns, j, i, v, var, labels_ok, as_text=True)
    raise InputError(f"{name}: expected numbers, got dtype {arr.dtype}")


def _non_numeric_error(name, columns, j, i, v, var, labels_ok, as_text=False) -> None:
    column = columns[j] if columns is not None and j < len(columns) else str(j)
    what = (f"holds numbers stored as text (row {i} holds {quote(v)})" if as_text
            else f"is not numeric (row {i} holds {quote(v)})")
    kind = type(v).__name__
    if isinstance(v, (dict, list, tuple, set, np.ndarray, bytes)):
        what += f", a {kind}: flatten a nested column, or decode bytes to text, first"
    raise InputError(
        f"{name}: {_col(columns, j)} {what}; expected numbers for a continuous variable",
        hint=Hint("labels" if labels_ok else "not_labels", var, column),
    )


#: Largest magnitude the estimators take: squares, sums and covariances of larger
#: values overflow float64 (about 1.8e308) and turn into inf or NaN.
MAX_MAGNITUDE = 1e150


def _refuse_huge(arr: np.ndarray, name: str, columns) -> None:
    if arr.size == 0:
        return
    big = np.abs(arr) > MAX_MAGNITUDE
    if big.any():
        i, j = (int(v[0]) for v in np.nonzero(big))
        raise InputError(
            f"{name}: {_col(columns, j)} holds {arr[i, j]:.3g} (row {i}, 0-based); values "
            f"beyond +-{MAX_MAGNITUDE:.0e} overflow float64 in the estimators' sums of squares; "
            "rescale the column (mutual information is unchanged by rescaling)")


def _refuse_complex(arr: np.ndarray, name: str, columns) -> None:
    """Complex numbers: an error naming the column; silently dropping the imaginary
    part would estimate something else."""
    if arr.dtype.kind == "c":
        j = next((j for j in range(arr.shape[1]) if np.any(arr[:, j].imag != 0)), 0)
        raise InputError(f"{name}: {_col(columns, j)} holds complex numbers (dtype {arr.dtype}); "
                         "expected real numbers: give the real and imaginary parts as two "
                         "columns (or the modulus)")
    if arr.dtype.kind == "O":
        for (i, j), v in np.ndenumerate(arr):
            if isinstance(v, (complex, np.complexfloating)):
                raise InputError(f"{name}: {_col(columns, j)} holds a complex number (row {i}: "
                                 f"{quote(v)}); expected real numbers: give the real and "
                                 "imaginary parts as two columns")


def as_labels(a: Any, name: str, columns: Sequence[str] | None = None) -> tuple[np.ndarray, list]:
    """Integer class codes 0..C-1 (rows of a 2-D array are joint labels) and the classes."""
    arr, found = _to_numpy(a)
    columns = columns if columns is not None else found
    arr = _shape_2d(arr, name)
    _refuse_complex(arr, name, columns)
    if arr.dtype.kind == "O":
        for (i, j), v in np.ndenumerate(arr):
            if isinstance(v, (dict, list, tuple, set, np.ndarray, bytes)):
                raise InputError(
                    f"{name}: {_col(columns, j)} holds {type(v).__name__} values (row {i}: "
                    f"{quote(v)}); expected class labels (text or integers) in every row: "
                    "flatten a nested column, or decode bytes to text, first")
    for j in range(arr.shape[1]):
        col = arr[:, j]
        if col.dtype.kind == "f":
            missing = ~np.isfinite(col)
        elif col.dtype.kind == "O":
            missing = np.array([v is None or (isinstance(v, float) and v != v) for v in col])
        else:
            continue
        if missing.any():
            raise InputError(
                f"{name}: {int(missing.sum())} missing or non-finite label(s) in "
                f"{_col(columns, j)} (first at row {int(np.argmax(missing))}, 0-based); "
                "expected a class label in every row"
            )
    if arr.shape[1] == 1:
        col = arr[:, 0]
        if col.dtype.kind == "O":
            col = col.astype(str)
        classes, codes = np.unique(col, return_inverse=True)
        _check_classes(len(classes), arr.shape[0], name)
        return codes.astype(np.int64).ravel(), [c.item() if hasattr(c, "item") else c for c in classes]
    keys = np.array(["\x1f".join(map(str, row)) for row in arr])
    classes, codes = np.unique(keys, return_inverse=True)
    _check_classes(len(classes), arr.shape[0], name)
    return codes.astype(np.int64).ravel(), [tuple(c.split("\x1f")) for c in classes]


#: Most distinct class labels a variable may have: each class is estimated on its
#: own rows (one neighbour search per class), so 10^5 classes of 2 rows took minutes
#: and measure nothing.
MAX_CLASSES = 10_000


def _check_classes(n_classes: int, n_rows: int, name: str) -> None:
    if n_classes > MAX_CLASSES:
        raise InputError(
            f"{name}: {n_classes:,} distinct class labels in {n_rows:,} rows; at most "
            f"{MAX_CLASSES:,} classes are supported (each class needs rows of its own); "
            "expected labels with repeated values - an id or a continuous column?")


def is_non_numeric(a: Any) -> bool:
    """True for strings, objects, categoricals and booleans: labels, not numbers."""
    arr, _ = _to_numpy(a)
    return arr.dtype.kind in "OUSb"


def all_non_numeric(a: Any) -> bool:
    """True when every column is text, boolean or categorical (a DataFrame is looked at
    column by column: a frame mixing numbers and text is not all labels)."""
    if hasattr(a, "dtypes") and hasattr(a, "columns"):
        return all(str(d) == "category" or getattr(d, "kind", "O") not in "iufc"
                   for d in a.dtypes)
    return is_non_numeric(a)


def check_rows(arrays: dict[str, np.ndarray], names: dict[str, str]) -> int:
    items = list(arrays.items())
    n0 = len(items[0][1])
    for var, a in items[1:]:
        if len(a) != n0:
            raise InputError(
                f"{names.get(items[0][0], items[0][0])} has {n0} rows but "
                f"{names.get(var, var)} has {len(a)}; expected the same rows (samples) in both"
            )
    return n0


def _missing_rows(a: Any) -> np.ndarray | None:
    """Rows of ``a`` holding NaN, inf or None in any column (None when nothing is missing)."""
    arr, _ = _to_numpy(a)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[0] == 0:
        return None  # shape errors are reported by the validators
    if arr.dtype.kind in "fc":
        bad = ~np.isfinite(arr)
    elif arr.dtype.kind == "O":
        bad = np.array([[v is None or (isinstance(v, float) and not np.isfinite(v))
                         for v in row] for row in arr], dtype=bool).reshape(arr.shape)
    else:
        return None
    rows = bad.any(axis=1)
    return rows if rows.any() else None


def drop_missing(arrays: dict[str, Any], names: dict[str, str]) -> tuple[dict[str, Any], dict]:
    """Drop the rows with NaN/inf (or missing labels) in any of ``arrays``, jointly.

    Row ``i`` is dropped from every variable when any variable has a missing
    value in row ``i``, so the rows stay paired. Returns the kept arrays (numpy
    or pandas rows, as given) and a summary ``{"dropped": n, "of": n_rows,
    "by_variable": {var: rows with a missing value}}``. Row counts must match
    (checked here, as :func:`check_rows` would).
    """
    masks = {var: _missing_rows(a) for var, a in arrays.items()}
    n = check_rows(arrays, names)
    drop = np.zeros(n, dtype=bool)
    for m in masks.values():
        if m is not None:
            drop |= m
    summary = {"dropped": int(drop.sum()), "of": int(n),
               "by_variable": {v: int(m.sum()) for v, m in masks.items() if m is not None}}
    if not drop.any():
        return arrays, summary
    if drop.all():
        raise InputError(
            "every row has a NaN or infinite value in "
            + ", ".join(names.get(v, v) for v in summary["by_variable"])
            + "; nothing is left after dropping them"
        )
    keep = np.flatnonzero(~drop)
    out = {}
    for var, a in arrays.items():
        if hasattr(a, "iloc"):
            out[var] = a.iloc[keep]
        else:
            arr, _ = _to_numpy(a)
            out[var] = arr[keep]
    return out, summary


def label_like_columns(a: np.ndarray, *, max_levels: int | None = None) -> list[tuple[int, list]]:
    """Columns of a float array that look like integer class labels.

    Rule: every value of the column is an integer and the column has at most
    ``max(20, sqrt(n))`` distinct values (n rows). Returns ``(column index,
    sorted distinct values)`` for each such column.
    """
    n = a.shape[0]
    limit = max_levels if max_levels is not None else max(20, int(np.sqrt(n)))
    found = []
    for j in range(a.shape[1]):
        col = a[:, j]
        if not np.all(col == np.round(col)):
            continue
        levels = np.unique(col)
        if 2 <= levels.size <= limit:
            found.append((j, [int(v) if abs(v) < 2**53 else float(v) for v in levels]))
    return found


def discrete_mask(spec: Any, a: Any, name: str, keyword: str) -> np.ndarray | None:
    """Which columns of ``a`` are discrete, from a user's ``discrete_x``-style value.

    ``spec`` is True/False (every column / none), a boolean mask with one entry per
    column, or a list of column indices or names (scikit-learn's
    ``discrete_features`` convention). None: not decided here (the caller detects).
    Returns a boolean array (n_columns,), or None for None.
    """
    if spec is None:
        return None
    arr, found = _to_numpy(a)
    d = 1 if arr.ndim == 1 else int(arr.shape[1]) if arr.ndim == 2 else 0
    if isinstance(spec, (bool, np.bool_)):
        return np.full(d, bool(spec))
    if isinstance(spec, str):
        spec = [spec]
    items = list(np.asarray(spec).ravel()) if not isinstance(spec, (list, tuple)) else list(spec)
    if items and all(isinstance(v, (bool, np.bool_)) for v in items):
        if len(items) != d:
            raise InputError(f"{keyword}: a boolean mask of {len(items)} entries for {name} "
                             f"with {d} column(s); expected one entry per column")
        return np.array(items, dtype=bool)
    mask = np.zeros(d, dtype=bool)
    for v in items:
        if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
            if not -d <= int(v) < d:
                raise InputError(f"{keyword}: column index {int(v)} out of range for {name} "
                                 f"with {d} column(s)")
            mask[int(v) % d] = True
        elif isinstance(v, str) and found is not None and v in found:
            mask[found.index(v)] = True
        else:
            valid = f"names {', '.join(found)}" if found else f"indices 0..{d - 1}"
            raise InputError(f"{keyword}: no column {quote(v)} in {name}; expected {valid}")
    return mask


def detect_discrete(arr: np.ndarray) -> list[tuple[int, list]]:
    """Columns of a float array detected as discrete: integer-valued with few levels
    (the rule of :func:`label_like_columns`)."""
    return label_like_columns(arr)


def as_mixed(a: Any, mask: np.ndarray, name: str, var: str = "x") -> np.ndarray:
    """float64 (n, d) of a variable with discrete columns (``mask``) and continuous ones:
    each discrete column as its label codes 0..C-1 (text, booleans and categoricals
    included), each continuous column validated as by :func:`as_continuous`."""
    arr, found = _to_numpy(a)
    arr = _shape_2d(arr, name)
    out = np.empty(arr.shape, dtype=np.float64)
    for j in range(arr.shape[1]):
        col = arr[:, j:j + 1]
        label = f"{name}: {_col(found, j)}" if found is not None else f"{name}[{j}]"
        if mask[j]:
            out[:, j] = as_labels(col, label)[0]
        else:
            out[:, j] = as_continuous(col, label, var=var)[:, 0]
    return out


def constant_columns(a: Any) -> list[tuple[int, str, Any]]:
    """(index, label, value) of every column of ``a`` that holds one value in every row.

    Labels are the DataFrame's column names, else ``column j``; a column of text or
    objects counts too."""
    arr, cols = _to_numpy(a)
    arr = arr.reshape(len(arr), -1) if arr.ndim else arr.reshape(1, 1)
    out = []
    for j in range(arr.shape[1]):
        col = arr[:, j]
        try:
            same = len(col) > 0 and bool((col == col[0]).all())
        except (TypeError, ValueError):
            same = False
        if same:
            out.append((j, cols[j] if cols is not None else f"column {j}", col[0]))
    return out


def describe_constants(found: list[tuple[int, str, Any]], limit: int = 20) -> str:
    """``'a' (= 1), 'b' (= 0)``: the columns of :func:`constant_columns`, by name."""
    def value(v):
        try:
            return f"{float(v):g}"
        except (TypeError, ValueError):
            return repr(v)

    shown = ", ".join(f"{label if label.startswith('column ') else repr(label)} (= {value(v)})"
                      for _, label, v in found[:limit])
    return shown + (", ..." if len(found) > limit else "")


def keep_columns(a: Any, keep: list[int]) -> Any:
    """``a`` with only the columns ``keep`` (a DataFrame stays one, with its names)."""
    if hasattr(a, "iloc") and hasattr(a, "columns"):
        return a.iloc[:, keep]
    if type(a).__module__.startswith("torch"):
        return a.reshape(len(a), -1)[:, keep]
    arr = np.asarray(a)
    return arr.reshape(len(arr), -1)[:, keep]


def drop_constant(arrays: dict[str, Any], names: dict[str, str]) -> tuple[dict[str, Any], dict]:
    """Leave out the constant columns of every variable; (arrays, {var: [labels]}).

    A variable whose columns are all constant is refused (it would be empty)."""
    from .errors import InputError

    out, dropped = dict(arrays), {}
    for var, a in arrays.items():
        if a is None:
            continue
        found = constant_columns(a)
        if not found:
            continue
        n_cols = int(np.asarray(_to_numpy(a)[0]).reshape(len(a), -1).shape[1])
        if len(found) == n_cols:
            raise InputError(f"{names[var]}: every column is constant: {describe_constants(found)}"
                             "; nothing is left to estimate after dropping constant columns")
        gone = {j for j, _, _ in found}
        out[var] = keep_columns(a, [j for j in range(n_cols) if j not in gone])
        dropped[var] = found
    return out, dropped
