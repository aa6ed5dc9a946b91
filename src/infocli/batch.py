"""Batch runs: a manifest of jobs -> Dask futures -> one JSON Lines record per job.

A *job* is one estimate in the vocabulary of the single commands (``measure``
entropy / mi / cmi, the files ``x``, ``y``, ``given``, column selections,
``estimator``, ``params``, ``seed``, ``unit``, discrete flags). A manifest is
a CSV, JSON Lines or YAML file of jobs; :func:`read_manifest` validates every
row before anything runs and names the line of each bad row.

:func:`run_iter` executes jobs on a ``distributed`` cluster (a
``LocalCluster`` of single-threaded worker processes by default, an existing
scheduler, or in-process), appends each finished record to a JSON Lines file
(one ``os.write`` per record, so a killed run leaves at most one partial last
line, which ``resume=True`` cuts away) and yields the records. Workers read the
files themselves, each file once per worker (an LRU cache), so paths must be
visible to every worker. A job that fails becomes an error record
``{"id": ..., "job": ..., "error": {"code": 2, "message": ...}}`` (code 2 bad
input or parameters, 3 run-time failure - including a worker that died, e.g.
over its memory limit -, 1 an unexpected exception) and the others continue.

Nothing here prints; ``distributed`` is imported only when a cluster is used.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import math
import os
import re
import sys
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Iterable, Iterator

from .errors import InfocliError, InputError, ParameterError, clip, quote

__all__ = ["Job", "read_manifest", "parse_jobs", "run", "run_iter", "open_engine",
           "read_results", "flat_table", "exit_code", "OutputLock", "OutputError"]

#: The measure names a manifest may use, mapped to the canonical short name.
MEASURES = {"entropy": "entropy", "h": "entropy", "conditional_entropy": "entropy",
            "mi": "mi", "mutual_information": "mi",
            "cmi": "cmi", "conditional_mutual_information": "cmi"}
_FIELDS = ("id", "measure", "x", "y", "given", "x_cols", "y_cols", "given_cols", "estimator",
           "params", "seed", "unit", "device", "permutations", "discrete_y", "discrete_given",
           "input_header", "drop_constant")
_TRUE = {"true", "1", "yes", "on", "y"}
_FALSE = {"false", "0", "no", "off", "n", ""}

#: Exit code of a batch in which some jobs failed (their error records are in the output).
EXIT_SOME_FAILED = 4

# Environment of every worker process: one thread per library, so that N worker
# processes use N cores, not N x cores threads (read by OpenMP, MKL, OpenBLAS, numba
# and torch when they load, and by infocli's kd-tree queries).
THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "NUMBA_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1",
              "INFOCLI_NUM_THREADS": "1"}


# --------------------------------------------------------------------------- jobs

@dataclass(frozen=True)
class Job:
    """One estimate to run. Paths are as written in the manifest; relative ones are
    resolved against ``base`` (the manifest's folder) when the job runs."""

    id: str
    measure: str  # entropy, mi or cmi
    x: str
    estimator: str
    y: str | None = None
    given: str | None = None
    x_cols: str | None = None
    y_cols: str | None = None
    given_cols: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    unit: str = "nats"
    device: str = "auto"
    permutations: int = 0
    discrete_y: bool = False
    discrete_given: bool = False
    #: CSV/TSV inputs: the first row names the columns (True), is data (False), or is
    #: detected (None), as --input-header/--no-input-header
    input_header: bool | None = None
    drop_constant: bool = False
    base: str | None = None
    line: int | None = None  # manifest line, for messages

    def inputs(self) -> dict[str, Any]:
        """The job as it appears in its records (the manifest fields, defaults filled)."""
        out = {}
        for f in fields(self):
            if f.name in ("id", "base", "line"):
                continue
            value = getattr(self, f.name)
            if value is None or (f.name in ("discrete_y", "discrete_given", "permutations",
                                            "drop_constant")
                                 and not value) or (f.name == "device" and value == "auto"):
                continue
            out[f.name] = value
        return out

    def path(self, spec: str) -> str:
        if spec == "-":
            raise InputError(f"job {self.id}: '-' (stdin) cannot be read by a batch job")
        if self.base is None or os.path.isabs(spec):
            return spec
        return os.path.join(self.base, spec)


def stable_id(inputs: dict[str, Any]) -> str:
    """12 hex digits of the SHA-256 of the normalised job (sorted JSON): the same
    job gets the same id in every run, on every machine."""
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ParameterError(f"{name} {quote(value)}: expected true or false")


def _as_int(value: Any, name: str, default: int) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if isinstance(value, bool):
        raise ParameterError(f"{name} {quote(value)}: expected a non-negative integer")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} {quote(value)}: expected a non-negative integer") from None
    if not number.is_integer() or number < 0:
        raise ParameterError(f"{name} {quote(value)}: expected a non-negative integer")
    return int(number)


def _as_cols(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        text = str(value).strip()
        return text or None
    raise ParameterError(f"{name} {quote(value)}: expected column names, indices or ranges")


def _as_path(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ParameterError(f"{name} {quote(value)}: expected a file name")
    if "\x00" in value:
        raise ParameterError(f"{name} {quote(value)}: a file name cannot contain a NUL byte")
    return value.strip() or None


def _raw_params(value: Any) -> list[tuple[str, Any]]:
    """``params`` as (key, value) pairs: a mapping, a list of ``key=value``
    strings, or one string of them separated by ``;``, ``,`` or spaces."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [(str(k), v) for k, v in value.items()]
    if isinstance(value, str):
        items = [t for t in re.split(r"[;,\s]+", value.strip()) if t]
    elif isinstance(value, (list, tuple)):
        items = [str(t) for t in value]
    else:
        raise ParameterError(f"params {quote(value)}: expected key=value pairs or a mapping")
    out = []
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"params {quote(item)}: expected key=value")
        out.append((key.strip(), text.strip()))
    return out


def make_job(raw: dict[str, Any], *, base: str | None = None, line: int | None = None) -> Job:
    """Validate one manifest row (a mapping of the manifest fields) into a :class:`Job`.

    Raises ParameterError / InputError naming the bad field; files are not opened
    (a missing file is the job's error record, since workers may see other files).
    """
    from . import registry

    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise ParameterError(f"unknown field {quote(unknown[0])}; valid fields: {', '.join(_FIELDS)}")
    get = {k: (None if isinstance(v, str) and not v.strip() else v) for k, v in raw.items()}
    measure_text = str(get.get("measure") or "").strip().lower()
    if not measure_text:
        raise ParameterError("measure is missing; expected entropy, mi or cmi")
    if measure_text not in MEASURES:
        raise ParameterError(f"measure {quote(get['measure'])}: expected entropy, mi or cmi")
    measure = MEASURES[measure_text]
    x = _as_path(get.get("x"), "x")
    if x is None:
        raise ParameterError("x is missing: the file of X")
    y, given = _as_path(get.get("y"), "y"), _as_path(get.get("given"), "given")
    x_cols, y_cols = _as_cols(get.get("x_cols"), "x_cols"), _as_cols(get.get("y_cols"), "y_cols")
    given_cols = _as_cols(get.get("given_cols"), "given_cols")
    discrete_y = _as_bool(get.get("discrete_y"), "discrete_y")
    discrete_given = _as_bool(get.get("discrete_given"), "discrete_given")
    permutations = _as_int(get.get("permutations"), "permutations", 0)
    input_header = (None if get.get("input_header") is None
                    else _as_bool(get.get("input_header"), "input_header"))
    drop_constant = _as_bool(get.get("drop_constant"), "drop_constant")
    from .api import check_permutations

    check_permutations(permutations)
    has_y, has_z = y is not None or y_cols is not None, given is not None or given_cols is not None
    if measure == "entropy":
        if has_y or discrete_y:
            raise ParameterError("entropy takes no y, y_cols or discrete_y (use measure mi)")
    elif not has_y:
        raise ParameterError(f"{measure} needs Y: y (a file) or y_cols (columns of x's file)")
    if measure == "cmi" and not has_z:
        raise ParameterError("cmi needs Z: given (a file) or given_cols (columns of x's file)")
    if measure == "mi" and (has_z or discrete_given):
        raise ParameterError("mi takes no given, given_cols or discrete_given (use measure cmi)")
    if permutations and measure != "mi":
        raise ParameterError("permutations apply to measure mi only")
    api_measure = {"entropy": "conditional_entropy" if has_z else "entropy",
                   "mi": "mutual_information", "cmi": "conditional_mutual_information"}[measure]
    estimator = str(get.get("estimator") or registry.default_for(api_measure)).strip()
    spec = registry.get(estimator)
    if api_measure not in spec.implementations:
        raise ParameterError(
            f"estimator {quote(estimator)} does not estimate {api_measure.replace('_', ' ')}; "
            f"estimators that do: {', '.join(registry.names_for(api_measure))}")
    params = {}
    for key, value in _raw_params(get.get("params")):
        key = key.replace("-", "_")
        p = spec.param(key)
        parsed = p.parse(value) if isinstance(value, str) else p.validate(value)
        if key in params and params[key] != parsed:
            raise ParameterError(f"params: {key} given twice ({key}={quote(params[key])} and "
                                 f"{key}={quote(parsed)}); give it once")
        params[key] = parsed
    seed = _as_int(get.get("seed"), "seed", 0)
    unit = str(get.get("unit") or "nats").strip()
    if unit not in ("nats", "bits"):
        raise ParameterError(f"unit {quote(unit)}: expected nats or bits")
    device = str(get.get("device") or "auto").strip()
    job = Job(id="", measure=measure, x=x, estimator=estimator, y=y, given=given, x_cols=x_cols,
              y_cols=y_cols, given_cols=given_cols, params=params, seed=seed, unit=unit,
              device=device, permutations=permutations, discrete_y=discrete_y,
              discrete_given=discrete_given, input_header=input_header,
              drop_constant=drop_constant, base=base, line=line)
    given_id = get.get("id")
    if given_id is not None and not isinstance(given_id, (str, int)):
        raise ParameterError(f"id {quote(given_id)}: expected a string")
    job_id = str(given_id).strip() if given_id is not None else stable_id(job.inputs())
    return Job(**{**job.__dict__, "id": job_id})


def parse_jobs(rows: Iterable[tuple[int | None, dict[str, Any]]], *, source: str = "jobs",
               base: str | None = None, max_errors: int = 5) -> list[Job]:
    """Validate (line, row) pairs into jobs; every bad row is reported at once, as
    ``source line N: message``, in one InputError. Ids must be unique."""
    jobs: list[Job] = []
    errors: list[str] = []
    seen: dict[str, int | None] = {}
    for line, row in rows:
        where = f"line {line}" if line is not None else f"job {len(jobs) + len(errors) + 1}"
        if isinstance(row, _BadRow):
            errors.append(f"{where}: {row.message}")
            continue
        if not isinstance(row, dict):
            errors.append(f"{where}: expected a mapping of job fields, got {type(row).__name__}")
            continue
        try:
            job = make_job(row, base=base, line=line)
        except InfocliError as exc:
            errors.append(f"{where}: {exc}")
            continue
        if job.id in seen:
            first = seen[job.id]
            errors.append(f"{where}: duplicate id {job.id!r} (also line {first})"
                          if first is not None else f"{where}: duplicate id {job.id!r}")
            continue
        seen[job.id] = line
        jobs.append(job)
    if errors:
        more = f"; and {len(errors) - max_errors} more bad rows" if len(errors) > max_errors else ""
        raise InputError(f"{source}: " + "; ".join(errors[:max_errors]) + more)
    if not jobs:
        raise InputError(f"{source}: no jobs")
    return jobs


def read_manifest(path: str) -> list[Job]:
    """Jobs of a manifest file: ``.csv``/``.tsv`` (a header row of field names),
    ``.jsonl``/``.ndjson`` (one object per line) or ``.yaml``/``.yml`` (a list of
    mappings, or ``{defaults: {...}, jobs: [...]}``). JSON Lines and YAML
    manifests may also give ``defaults`` (JSONL: a line ``{"defaults": {...}}``)
    applied to every job. Relative data paths are taken relative to the
    manifest's folder."""
    from .io import _os_reason

    try:
        os.stat(path)
    except OSError as exc:
        raise InputError(f"{path}: {_os_reason(exc)}") from None
    if os.path.isdir(path):
        raise InputError(f"{path}: is a directory, expected a manifest file")
    suffix = os.path.splitext(path)[1].lower()
    try:
        with open(path, encoding="utf-8-sig") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    base = os.path.dirname(os.path.abspath(path))
    if suffix in (".csv", ".tsv"):
        rows = _csv_rows(path, text, "\t" if suffix == ".tsv" else ",")
    elif suffix in (".jsonl", ".ndjson"):
        rows = _jsonl_rows(path, text)
    elif suffix in (".yaml", ".yml"):
        rows = _yaml_rows(path, text)
    else:
        raise InputError(f"{path}: unknown manifest extension {suffix or '(none)'!r}; expected "
                         ".csv, .tsv, .jsonl or .yaml")
    return parse_jobs(rows, source=path, base=base)


def _csv_rows(path: str, text: str, sep: str) -> list[tuple[int, dict]]:
    reader = csv.reader(io.StringIO(text), delimiter=sep, skipinitialspace=True)
    header: list[str] | None = None
    rows = []
    for record in reader:
        if not record or all(not c.strip() for c in record) or record[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = [c.strip() for c in record]
            continue
        line = reader.line_num
        if len(record) > len(header):
            raise InputError(f"{path} line {line}: {len(record)} fields but the header has "
                             f"{len(header)}")
        rows.append((line, {k: v for k, v in zip(header, record) if v.strip()}))
    if header is None:
        raise InputError(f"{path}: empty manifest; expected a header row of job fields")
    return rows


@dataclass(frozen=True)
class _BadRow:
    """A manifest row that could not be read; reported with the other bad rows."""

    message: str


_TOO_DEEP = object()


def _depth_over(obj: Any, limit: int) -> bool:
    """True when ``obj`` (parsed JSON) nests lists/dicts deeper than ``limit``."""
    stack = [(obj, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict)
                                                  else item))
    return False


def _with_defaults(defaults: Any, where: str, rows):
    if not isinstance(defaults, dict):
        raise InputError(f"{where}: defaults must be a mapping of job fields")
    return [(line, {**defaults, **row} if isinstance(row, dict) else row) for line, row in rows]


def _jsonl_rows(path: str, text: str) -> list[tuple[int, Any]]:
    rows: list[tuple[int, Any]] = []
    defaults: dict = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            rows.append((number, _BadRow(f"not valid JSON ({exc.msg} at column {exc.colno})")))
            continue
        except RecursionError:
            obj = _TOO_DEEP
        if obj is _TOO_DEEP or _depth_over(obj, MAX_DEPTH):
            rows.append((number, _BadRow(f"nested more than {MAX_DEPTH} levels deep; expected "
                                         "one mapping of job fields")))
            continue
        if isinstance(obj, dict) and set(obj) == {"defaults"}:
            defaults = obj["defaults"]
            continue
        rows.append((number, obj))
    return _with_defaults(defaults, path, rows) if defaults else rows


#: Limits of a manifest's structure: nesting depth, and the number of values
#: after YAML aliases are expanded (a "billion laughs" file of a few hundred bytes
#: expands to billions).
MAX_DEPTH = 50
MAX_NODES = 1_000_000


def _check_yaml_size(path: str, root) -> None:
    """Refuse a YAML document nested deeper than :data:`MAX_DEPTH` or expanding
    (aliases followed) to more than :data:`MAX_NODES` values, before it is built.
    Iterative, with each node's expanded size memoised: linear in the file."""
    import yaml

    sizes: dict[int, int] = {}
    stack: list[tuple[Any, int, bool]] = [(root, 1, False)]
    on_path: set[int] = set()
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            children = _yaml_children(node)
            total = 1 + sum(sizes[id(c)] for c in children)
            if total > MAX_NODES:
                line = node.start_mark.line + 1
                raise InputError(f"{path} line {line}: expands to more than {MAX_NODES:,} "
                                 "values through YAML aliases (&/*); expected a manifest of "
                                 "jobs (aliases that multiply are refused)")
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if depth > MAX_DEPTH:
            raise InputError(f"{path} line {node.start_mark.line + 1}: nested more than "
                             f"{MAX_DEPTH} levels deep; expected a list of job mappings")
        if key in on_path:  # a recursive alias: PyYAML builds a cycle
            raise InputError(f"{path} line {node.start_mark.line + 1}: a YAML alias refers to "
                             "itself; expected a list of job mappings")
        on_path.add(key)
        stack.append((node, depth, True))
        if isinstance(node, (yaml.SequenceNode, yaml.MappingNode)):
            for child in _yaml_children(node):
                if id(child) not in sizes:
                    stack.append((child, depth + 1, False))


def _yaml_children(node) -> list:
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _yaml_rows(path: str, text: str) -> list[tuple[int, Any]]:
    try:
        import yaml
    except ImportError:  # pragma: no cover - distributed depends on PyYAML
        raise InputError("YAML manifests need PyYAML: pip install 'infocli[batch]'") from None
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is not None:
                _check_yaml_size(path, node)
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = clip(str(getattr(exc, "problem", None) or exc), 200)
        raise InputError(f"{path}{where}: not valid YAML ({problem})") from None
    except RecursionError:
        raise InputError(f"{path}: nested too deeply to be a manifest (more than "
                         f"{MAX_DEPTH} levels expected at most)") from None
    defaults: Any = {}
    if isinstance(data, dict):
        if "jobs" not in data or set(data) - {"jobs", "defaults"}:
            raise InputError(f"{path}: expected a list of jobs, or a mapping with 'jobs' "
                             "(and optionally 'defaults')")
        defaults = data.get("defaults") or {}
        seq = next(v for k, v in node.value if k.value == "jobs")
        data = data["jobs"]
    else:
        seq = node
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a list of jobs")
    rows = [(item.start_mark.line + 1, row) for item, row in zip(seq.value, data)]
    return _with_defaults(defaults, path, rows) if defaults else rows


# --------------------------------------------------------------------------- worker side

_CACHE: OrderedDict[tuple, Any] = OrderedDict()
_CACHE_BYTES = [0]


def _cache_limit() -> int:
    return int(float(os.environ.get("INFOCLI_BATCH_CACHE_MB", "1024")) * 2**20)


def _nbytes(table) -> int:
    data = table.data
    if hasattr(data, "memory_usage"):
        return int(data.memory_usage(index=False, deep=False).sum())
    import numpy as np

    return 0 if isinstance(data, np.memmap) else int(data.nbytes)  # a memmap is not resident


def load_table(spec: str, header: bool | None = None):
    """:func:`infocli.io.read_table` with a per-process LRU cache (bounded by
    ``INFOCLI_BATCH_CACHE_MB``, default 1024): each file is read once per worker,
    again only when its size or modification time changes."""
    from .io import _split_key, read_table

    path, _ = _split_key(spec)
    try:
        st = os.stat(path)
        key = (os.path.abspath(spec), st.st_mtime_ns, st.st_size, header)
    except OSError:
        return read_table(spec, header=header)  # raises the InputError that names the problem
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key][0]
    table = read_table(spec, header=header)
    size = _nbytes(table)
    _CACHE[key] = (table, size)
    _CACHE_BYTES[0] += size
    while len(_CACHE) > 1 and (_CACHE_BYTES[0] > _cache_limit() or len(_CACHE) > 64):
        _, (_, dropped) = _CACHE.popitem(last=False)
        _CACHE_BYTES[0] -= dropped
    return table


def _variable(job: Job, spec: str, cols: str | None, option: str, exclude=None):
    from .io import select_columns

    table = load_table(job.path(spec), job.input_header)
    data, idx = select_columns(table, cols, exclude=exclude, option=option)
    label = spec
    if cols is not None or exclude:
        label += "[" + ",".join(table.column_label(j) for j in idx) + "]"
    return data, idx, label


def _estimate(job: Job):
    """The single command's computation for one job (the same column logic)."""
    from . import api

    names: dict[str, str] = {}
    common = dict(estimator=job.estimator, unit=job.unit, seed=job.seed, device=job.device,
                  params=dict(job.params), **({"drop_constant": True} if job.drop_constant else {}))
    if job.measure == "entropy":
        z, exclude = None, None
        if job.given is not None or job.given_cols is not None:
            z, z_idx, names["z"] = _variable(job, job.given or job.x, job.given_cols, "given_cols")
            exclude = z_idx if job.given is None and job.x_cols is None else None
        x, _, names["x"] = _variable(job, job.x, job.x_cols, "x_cols", exclude=exclude)
        return api.entropy(x, given=z, discrete_given=True if job.discrete_given else None,
                           names=names, **common)
    y, y_idx, names["y"] = _variable(job, job.y or job.x, job.y_cols, "y_cols")
    if job.measure == "mi":
        exclude = y_idx if job.y is None and job.x_cols is None else None
        x, _, names["x"] = _variable(job, job.x, job.x_cols, "x_cols", exclude=exclude)
        return api.mutual_information(x, y, discrete_y=True if job.discrete_y else None,
                                      permutations=job.permutations, names=names, **common)
    z, z_idx, names["z"] = _variable(job, job.given or job.x, job.given_cols, "given_cols")
    exclude = [*(y_idx if job.y is None else []), *(z_idx if job.given is None else [])]
    x, _, names["x"] = _variable(job, job.x, job.x_cols, "x_cols",
                                 exclude=exclude if job.x_cols is None else None)
    return api.conditional_mutual_information(
        x, y, z, discrete_given=True if job.discrete_given else None, names=names, **common)


#: Variables that must never change in a process that may already run numba code:
#: numba re-reads NUMBA_NUM_THREADS at every compilation and raises once its thread
#: pool runs with another value. They go only into the worker processes' own
#: environment (LocalCluster's ``env``), never into the nanny's (the client process).
_WORKER_ONLY = ("NUMBA_NUM_THREADS",)


def _parent_safe(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in _WORKER_ONLY}


def pin_threads() -> None:
    """One thread per library in this process (a batch worker): the environment
    for libraries not yet loaded, and the pools of torch and numba if loaded."""
    numba = sys.modules.get("numba")
    os.environ.update(_parent_safe(THREAD_ENV) if numba is not None else THREAD_ENV)
    if numba is not None:
        numba.set_num_threads(1)
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)


def error_record(job: Job, code: int, message: str) -> dict[str, Any]:
    message = " ".join(line.strip() for line in str(message).splitlines() if line.strip())
    return {"id": job.id, "job": job.inputs(), "error": {"code": int(code), "message": message}}


def run_job(job: Job, pin: bool = True) -> dict[str, Any]:
    """Run one job; always returns a record (the Estimate's JSON fields plus ``id``
    and ``job``), an error record when the job fails."""
    if pin:
        pin_threads()
    try:
        est = _estimate(job)
    except InfocliError as exc:
        return error_record(job, exc.exit_code, exc)
    except MemoryError:
        return error_record(job, 3, "out of memory while running this job")
    except Exception as exc:  # noqa: BLE001 - one job's bug must not stop the batch
        return error_record(job, 1, f"unexpected {type(exc).__name__}: {exc} (a bug: please "
                            "report it with the job)")
    return {"id": job.id, **json.loads(est.to_json(indent=None)), "job": job.inputs()}


def _worker_plugin():
    from distributed.diagnostics.plugin import WorkerPlugin

    class PinThreads(WorkerPlugin):
        """Sets one thread per library on every worker (also on clusters infocli did
        not start, where the environment could not be set before the workers)."""

        name = "infocli-pin-threads"

        def setup(self, worker):
            pin_threads()

    return PinThreads()


#: glibc's malloc tunables on the workers of a cluster infocli starts. Dask's nanny
#: starts workers with MALLOC_TRIM_THRESHOLD_=65536, so that freed memory goes back
#: to the system at once; estimators allocate and free arrays of n rows at every
#: call, and at that threshold every such array is a fresh mmap and page faults:
#: one KSG estimate (n = 10,000) took 12-25 % longer in a worker than in a plain
#: process (benchmarks/batch.py). Freed memory up to TRIM bytes is kept for reuse,
#: arrays below MMAP bytes come from the heap; larger ones still go straight back
#: to the system, so the memory limit keeps working.
MALLOC_TRIM_THRESHOLD = 256 * 2**20
MALLOC_MMAP_THRESHOLD = 32 * 2**20


def tune_allocator() -> bool:
    """Apply :data:`MALLOC_TRIM_THRESHOLD` and :data:`MALLOC_MMAP_THRESHOLD` to
    this process (glibc only; False where they cannot be set)."""
    import ctypes
    import ctypes.util

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    return bool(mallopt(m_trim_threshold, MALLOC_TRIM_THRESHOLD)
                and mallopt(m_mmap_threshold, MALLOC_MMAP_THRESHOLD))


def _allocator_plugin():
    from distributed.diagnostics.plugin import WorkerPlugin

    class TuneAllocator(WorkerPlugin):
        """:func:`tune_allocator` on every worker of a cluster infocli started (also
        on a worker the nanny restarts after a crash)."""

        name = "infocli-tune-allocator"

        def setup(self, worker):
            tune_allocator()

    return TuneAllocator()


# --------------------------------------------------------------------------- engine

def _need_distributed():
    try:
        import distributed
    except ImportError:
        raise ParameterError(
            "running on workers needs dask.distributed: pip install 'infocli[batch]' "
            "(or run in-process with --workers 0)") from None
    return distributed


# --------------------------------------------------------------------------- small work
#: The small-work rule: a batch or matrix whose work is at most this many cells runs in
#: this process when no engine was asked for (no --workers, --scheduler or client). A
#: local cluster takes 5-10 s to start on a laptop; kNN and Gaussian estimates cost
#: ~5-30 us per cell (rows x columns, check included), so below ~500,000 cells the
#: whole work takes less than the cluster's start. ``--workers N`` still forces one.
SMALL_WORK_CELLS = 500_000
#: cost of an estimate with each reliability check level, relative to check "off"
CHECK_COST = {"off": 1, "fast": 5, "full": 12}
#: estimators whose cost grows like rows x columns; any other (neural critics, KNIFE,
#: DSE...) makes the work large: those take seconds per estimate
LIGHT_ESTIMATORS = frozenset({"kl", "ksg", "gaussian", "auto"})


def work_cells(rows: int, columns: int, *, estimator: str, check: str | None = "fast",
               permutations: int = 0) -> float:
    """Cells of one estimate for the small-work rule (inf for heavy estimators)."""
    if estimator not in LIGHT_ESTIMATORS:
        return math.inf
    return float(rows) * columns * CHECK_COST.get(check or "fast", 5) * (1 + permutations)


def _file_cells(path: str) -> float:
    """Rows x columns of a data file, from its header (.npy) or its size (8 bytes per
    cell in binary files, 4 in text files: an overestimate for most tables)."""
    import numpy as np

    try:
        if path.endswith(".npy"):
            with open(path, "rb") as f:
                major, _ = np.lib.format.read_magic(f)
                read = (np.lib.format.read_array_header_1_0 if major == 1
                        else np.lib.format.read_array_header_2_0)
                shape = read(f)[0]
            return float(np.prod(shape)) if shape else 1.0
        size = os.path.getsize(path)
    except (OSError, ValueError):
        return 0.0  # the job will fail with a clear message; it costs nothing
    text = path.endswith((".csv", ".tsv", ".txt", ".gz"))
    return size / (4.0 if text else 8.0)


def jobs_work(jobs: Iterable[Job]) -> float:
    """Cells of a batch for the small-work rule: each job's input files as a whole
    (column selections ignored: an overestimate), times its check's cost."""
    total = 0.0
    for job in jobs:
        if job.estimator not in LIGHT_ESTIMATORS:
            return math.inf
        check = job.params.get("check", "fast") if isinstance(job.params, dict) else "fast"
        files = {job.x, job.y, job.given} - {None, "-"}
        cells = sum(_file_cells(job.path(f)) for f in files)
        total += cells * CHECK_COST.get(check, 5) * (1 + job.permutations)
    return total


def small_work(cells: float) -> bool:
    """Whether work of ``cells`` runs in this process by the small-work rule."""
    return cells <= SMALL_WORK_CELLS


@dataclass
class Engine:
    """Where jobs run: ``client`` (a ``distributed.Client``) or in-process (None);
    ``reason`` says why in-process was chosen when nobody asked for it."""

    client: Any = None
    n_workers: int = 0
    dashboard: str | None = None
    address: str | None = None
    memory_limit: str | None = None
    allowed_failures: int | None = None
    reason: str | None = None

    def describe(self) -> str:
        if self.client is None:
            return f"in-process ({self.reason or 'no workers'})"
        text = f"{self.n_workers} worker{'s' if self.n_workers != 1 else ''} at {self.address}"
        if self.memory_limit:
            text += f", memory limit {self.memory_limit} per worker"
        return text


def _engine_of(c: Any) -> Engine:
    """What the client's cluster is: workers, the common memory limit, retries."""
    import dask.utils

    info = c.scheduler_info()
    limits = {w.get("memory_limit") for w in info["workers"].values()}
    limit = (dask.utils.format_bytes(next(iter(limits)))
             if len(limits) == 1 and not {None, 0} & limits else None)
    try:
        failures = int(c.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures))
    except Exception:  # noqa: BLE001 - an older or restricted scheduler: say less
        failures = None
    return Engine(client=c, n_workers=len(info["workers"]), dashboard=c.dashboard_link,
                  address=c.scheduler.address, memory_limit=limit, allowed_failures=failures)


def _dashboard_available() -> bool:
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def open_engine(workers: int | None = None, scheduler: str | None = None, *,
                memory_limit: str | None = "auto", allowed_failures: int = 1,
                client: Any = None, tls: dict[str, str | None] | None = None,
                heartbeat: float | None = None, work: float | None = None) -> Iterator[Engine]:
    """The execution engine of a batch.

    ``client`` given: use it. ``workers=0`` or ``scheduler="sync"``: in-process.
    ``scheduler`` an address (``tcp://host:8786``) or a scheduler file (JSON
    written by ``dask scheduler --scheduler-file``): connect to that cluster.
    Otherwise start a ``LocalCluster`` of ``workers`` processes (default: the
    cores of this machine), one thread each, libraries pinned to one thread,
    ``memory_limit`` per worker (Dask's nanny restarts a worker that exceeds
    95% of it) and ``allowed_failures`` retries of a task whose worker died.
    Every server of a local cluster (scheduler, workers, nannies, dashboard)
    listens on 127.0.0.1 only.

    ``tls`` (``{"ca_file", "cert", "key"}``, file names) secures the connection
    to a ``tls://`` scheduler with Dask's ``Security`` (mutual TLS); without it
    a ``tls://`` address uses the ``distributed.comm.tls`` settings of the Dask
    configuration. ``heartbeat`` (seconds, local cluster only): a worker silent
    for longer is removed by the scheduler and its tasks rerun elsewhere
    (default :data:`WORKER_TTL`).

    ``work`` (cells, :func:`jobs_work`): with no ``workers``, ``scheduler`` or
    ``client`` given, work within :data:`SMALL_WORK_CELLS` runs in-process (the
    small-work rule); the engine's ``reason`` says so.
    """
    if client is not None:
        yield _engine_of(client)
        return
    if workers is not None and (isinstance(workers, bool) or workers < 0):
        raise ParameterError(f"workers {workers!r}: expected 0 (in-process) or more")
    remote = scheduler is not None and scheduler != "sync"
    if remote and workers is not None:
        raise ParameterError(f"--workers {workers} and --scheduler {quote(scheduler)}: "
                             "--workers starts a local cluster (0: in this process), "
                             "--scheduler uses an existing one; give one of them")
    if tls and any(tls.values()) and not remote:
        raise ParameterError("--tls-ca-file/--tls-cert/--tls-key secure the connection to "
                             "a --scheduler; a local cluster listens on 127.0.0.1 only")
    if workers == 0 or scheduler == "sync":
        yield Engine()
        return
    if workers is None and scheduler is None and work is not None and small_work(work):
        yield Engine(reason=f"small work: ~{work:,.0f} cells <= {SMALL_WORK_CELLS:,}; "
                            "--workers N starts a cluster")
        return
    distributed = _need_distributed()
    import dask
    import dask.utils

    if scheduler is not None:
        kwargs = _scheduler_kwargs(scheduler)
        kwargs.update(_security(tls, kwargs.get("address") or _file_address(scheduler)))
        try:
            c = distributed.Client(timeout="20s", **kwargs)
        except (OSError, TimeoutError, ValueError, KeyError, TypeError,
                AssertionError) as exc:
            text = " ".join(str(exc).split()) or type(exc).__name__
            raise ParameterError(f"--scheduler {quote(scheduler)}: cannot connect "
                                 f"({clip(text, 200)})") from None
        try:
            c.register_plugin(_worker_plugin())
            yield _engine_of(c)
        finally:
            c.close()
        return
    n = workers or os.cpu_count() or 1
    if memory_limit not in (None, "auto"):
        try:
            dask.utils.parse_bytes(memory_limit)
        except (ValueError, TypeError):
            raise ParameterError(f"--memory-limit {memory_limit!r}: expected a size such as "
                                 "4GB or 700MiB, or auto") from None
    ttl = WORKER_TTL if heartbeat is None else float(heartbeat)
    if not ttl > 0:
        raise ParameterError(f"heartbeat {heartbeat!r}: expected a number of seconds > 0")
    with dask.config.set({"distributed.scheduler.allowed-failures": int(allowed_failures),
                          "distributed.scheduler.worker-ttl": f"{ttl}s",
                          "distributed.nanny.pre-spawn-environ": {
                              **dask.config.get("distributed.nanny.pre-spawn-environ", {}),
                              **_parent_safe(THREAD_ENV)},
                          "distributed.admin.log-level": "error"}):
        import logging

        for name in ("distributed", "distributed.nanny", "distributed.worker",
                     "distributed.scheduler", "distributed.core"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        cluster = distributed.LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, memory_limit=memory_limit,
            # loopback only, like the scheduler and workers: the HTTP server shows worker
            # addresses, memory, logs and call stacks without authentication; a free port
            # so that it never collides with another cluster
            dashboard_address="127.0.0.1:0",
            host="127.0.0.1", env=dict(THREAD_ENV), silence_logs=logging.CRITICAL)
        try:
            c = distributed.Client(cluster)
            try:
                c.register_plugin(_worker_plugin())
                c.register_plugin(_allocator_plugin())
                engine = _engine_of(c)
                if not _dashboard_available():
                    engine.dashboard = None
                yield engine
            finally:
                c.close(timeout=5)
        finally:
            with contextlib.suppress(Exception):
                cluster.close(timeout=10)


#: Seconds of silence after which the scheduler of a local cluster removes a worker
#: (a stopped or hung process) and reruns its tasks on the others; Dask's default
#: is 5 minutes. Workers heartbeat about once a second.
WORKER_TTL = 30.0


def _scheduler_kwargs(scheduler: str) -> dict[str, Any]:
    """``distributed.Client`` arguments for ``--scheduler``: an address, or a
    scheduler file checked here (a file Dask cannot read raises deep inside)."""
    if os.path.isfile(scheduler):
        try:
            with open(scheduler, encoding="utf-8") as f:
                info = json.load(f)
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise ParameterError(f"--scheduler {quote(scheduler)}: not a Dask scheduler file "
                                 f"(expected the JSON that 'dask scheduler --scheduler-file' "
                                 f"writes; {reason})") from None
        if not isinstance(info, dict) or not isinstance(info.get("address"), str):
            raise ParameterError(f"--scheduler {quote(scheduler)}: not a Dask scheduler file "
                                 "(no \"address\"; expected the JSON that 'dask scheduler "
                                 "--scheduler-file' writes)")
        return {"scheduler_file": scheduler}
    if not re.fullmatch(r"(tcp|tls|inproc|ucx|ws|wss)://[^\s]+|[^\s/:]+:\d+", scheduler):
        raise ParameterError(f"--scheduler {quote(scheduler)}: expected tcp://HOST:PORT, "
                             "tls://HOST:PORT, a scheduler file or sync")
    return {"address": scheduler}


def _file_address(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return str(json.load(f)["address"])


def _security(tls: dict[str, str | None] | None, address: str) -> dict[str, Any]:
    """``security=`` for the client: mutual TLS from ``tls`` file names, or nothing
    (Dask then reads its ``distributed.comm.tls`` configuration)."""
    given = {k: v for k, v in (tls or {}).items() if v}
    if not given:
        return {}
    if not address.startswith("tls://"):
        raise ParameterError(f"--tls-* options need a tls:// scheduler address, not "
                             f"{quote(address)} (a tcp:// connection is not encrypted)")
    for key, option in (("ca_file", "--tls-ca-file"), ("cert", "--tls-cert"),
                        ("key", "--tls-key")):
        value = given.get(key)
        if value is not None and not os.path.isfile(value):
            raise InputError(f"{option} {quote(value)}: no such file")
    if "cert" not in given:
        raise ParameterError("--tls-cert is needed with TLS options (the client's certificate; "
                             "--tls-key when the key is a separate file)")
    from distributed.security import Security

    return {"security": Security(tls_ca_file=given.get("ca_file"),
                                 tls_client_cert=given["cert"],
                                 tls_client_key=given.get("key"), require_encryption=True)}


# --------------------------------------------------------------------------- output

def read_results(path: str) -> tuple[list[dict], int]:
    """Records of a JSON Lines results file and the byte length of its complete
    part: a last line without its newline, or that does not parse, is an
    interrupted write and is not counted. A bad line elsewhere is an InputError."""
    with open(path, "rb") as f:
        raw = f.read()
    records: list[dict] = []
    good = 0
    pos = 0
    number = 0
    while pos < len(raw):
        end = raw.find(b"\n", pos)
        number += 1
        chunk = raw[pos:] if end < 0 else raw[pos:end]
        last = end < 0 or raw[end + 1:].strip() == b""
        try:
            rec = json.loads(chunk) if chunk.strip() else None
        except json.JSONDecodeError:
            rec = False
        if rec is False or end < 0 or (rec is not None and not (isinstance(rec, dict)
                                                                and "id" in rec)):
            if last:
                break  # interrupted last write: cut away on resume
            raise InputError(f"{path} line {number}: not a result record; cannot resume this "
                             "file (choose a new output file)")
        if rec is not None:
            records.append(rec)
        pos = end + 1
        good = pos
    return records, good


class OutputLock:
    """One writer per results file: an advisory lock (``flock``) on ``PATH.lock``
    beside it, holding the writer's pid and host. A second writer gets an
    InputError (exit 2) naming the holder. The lock file is removed on release.
    A device or FIFO output is not locked (it cannot be resumed either)."""

    #: Locks this process holds, by lock file: taking one again is re-entrant (the
    #: command line takes the lock before starting a cluster, run_iter again).
    _held: dict[str, list] = {}

    def __init__(self, path: str):
        self.path = f"{path}.lock"
        self.fd: int | None = None
        self.output = path
        self._key = os.path.realpath(self.path)
        self._nested = False

    def acquire(self) -> OutputLock:
        import fcntl
        import socket

        held = self._held.get(self._key)
        if held is not None:
            held[1] += 1
            self._nested = True
            return self
        try:
            st = os.stat(self.output)
            if not (st.st_mode & 0o170000 == 0o100000):  # not a regular file
                return self
        except FileNotFoundError:
            pass
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise InputError(f"--output {clip(self.output, 120)}: cannot create the lock "
                                 f"file {clip(self.path, 120)} ({exc.strerror or exc})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.read(fd, 200).decode("utf-8", "replace").split()
                os.close(fd)
                who = (f"pid {holder[0]}" + (f" on {holder[1]}" if len(holder) > 1 else "")
                       if holder else "another process")
                raise InputError(
                    f"--output {clip(self.output, 120)}: another infocli batch ({who}) is "
                    f"writing this file (lock {clip(self.path, 120)}); wait for it to end, "
                    "or choose another output file") from None
            # the holder may have removed the file between our open and flock: retry on
            # the file now at the path, so that two writers never lock different files
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        self.fd = fd
        self._held[self._key] = [fd, 1]
        return self

    def release(self) -> None:
        if self._nested:
            self._held[self._key][1] -= 1
            self._nested = False
            return
        if self.fd is not None:
            self._held.pop(self._key, None)
            with contextlib.suppress(OSError):
                os.remove(self.path)
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _prepare_output(path: str, resume: bool, retry_failed: bool) -> set[str]:
    """Check the results file (call with its :class:`OutputLock` held); the ids
    already complete in it. A partial last line is cut away; duplicate ids (two
    runs wrote the file at once) are an InputError with their count."""
    from .io import check_writable

    check_writable(path, "--output")
    if not os.path.exists(path) or not os.path.isfile(path) or os.path.getsize(path) == 0:
        return set()
    if not resume:
        raise InputError(f"--output {path}: exists; use --resume to continue it (or choose a "
                         "new file name)")
    records, good = read_results(path)
    ids = [str(r["id"]) for r in records]
    if len(set(ids)) < len(ids):
        from collections import Counter

        twice = [i for i, c in Counter(ids).items() if c > 1]
        raise InputError(
            f"--output {path}: {len(twice):,} job id(s) have more than one record "
            f"({len(ids) - len(set(ids)):,} extra records; first {quote(twice[0])}): two runs "
            "wrote this file at once; keep one record per id (e.g. with infocli.batch."
            "read_results) or start a new file")
    if good < os.path.getsize(path):
        with open(path, "r+b") as f:
            f.truncate(good)
    if retry_failed and any("error" in r for r in records):
        from .io import write_atomic

        kept = [r for r in records if "error" not in r]

        def save(tmp: str) -> None:
            with open(tmp, "w") as f:
                for r in kept:
                    f.write(json.dumps(r, default=_json_default) + "\n")

        write_atomic(path, "--output", save)
        records = kept
    return {str(r["id"]) for r in records}


def _json_default(obj: Any) -> Any:
    from .result import _json_default as default

    return default(obj)


class OutputError(InputError):
    """A results file could not be written (disk full, quota, I/O error): exit 2.
    Every record written before stays; ``--resume`` continues."""


class _Sink:
    """Appends one record per ``os.write`` (O_APPEND), flushed to the OS at once.
    A failed write (disk full) is cut back to the last complete record and raised
    as :class:`OutputError`, saying how many records are on disk."""

    _write = staticmethod(os.write)  # tests simulate a full disk through it

    def __init__(self, path: str | None):
        self.path = path
        self.written = 0
        try:
            self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) if path else None
        except OSError as exc:
            raise OutputError(f"--output {path}: cannot open ({exc.strerror or exc})") from None

    def write(self, record: dict) -> None:
        if self.fd is None:
            return
        data = (json.dumps(record, default=_json_default) + "\n").encode()
        try:
            start = os.fstat(self.fd).st_size
        except OSError:
            start = None
        try:
            while data:
                data = data[self._write(self.fd, data):]
        except OSError as exc:
            cut = ""
            if start is not None:
                try:
                    os.ftruncate(self.fd, start)  # no partial last line
                except OSError:
                    cut = " (a partial last line may remain; --resume cuts it away)"
            raise OutputError(
                f"--output {self.path}: cannot write ({exc.strerror or exc}) after "
                f"{self.written:,} record(s) of this run; every finished record before it is in "
                f"the file{cut}; free space and run again with --resume to continue") from None
        self.written += 1

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


# --------------------------------------------------------------------------- run

#: progress(done, failed, running, total): done counts successful jobs of this run.
BatchProgress = Callable[[int, int, int, int], None]


def run_iter(jobs: Iterable[Job], *, client: Any = None, workers: int | None = None,
             scheduler: str | None = None, memory_limit: str | None = "auto",
             output: str | None = None, resume: bool = False, retry_failed: bool = False,
             progress: BatchProgress | None = None,
             engine: Engine | None = None) -> Iterator[dict[str, Any]]:
    """Run ``jobs`` and yield one record per job as each finishes (any order).

    Parameters
    ----------
    jobs : iterable of Job
        From :func:`read_manifest` or :func:`parse_jobs`.
    client : distributed.Client, optional
        Run on this client's cluster (e.g. one a notebook already has).
    workers, scheduler, memory_limit
        Otherwise the engine of :func:`open_engine` (a LocalCluster by default).
    output : str, optional
        JSON Lines file each record is appended to as it arrives, by one writer
        at a time (:class:`OutputLock`; a second one gets an InputError naming
        the first one's pid). A write that fails (a full disk) raises
        :class:`OutputError`; the records before it stay, ``resume`` continues.
    resume : bool
        Skip jobs whose id already has a record in ``output`` (success or error;
        ``retry_failed=True`` first removes the error records, so they run again).
        A partial last line left by a killed run is cut away; a file in which
        an id has two records (two runs wrote it at once) is an InputError.
    progress : callable(done, failed, running, total), optional

    Yields
    ------
    dict
        The ``Estimate`` JSON fields plus ``id`` and ``job`` (the job's inputs),
        or ``{"id", "job", "error": {"code", "message"}}``. Each id is yielded
        (and written) at most once.
    """
    jobs = list(jobs)
    with contextlib.ExitStack() as stack:
        if output:
            stack.enter_context(OutputLock(output))
        done_ids = _prepare_output(output, resume, retry_failed) if output else set()
        todo = [j for j in jobs if j.id not in done_ids]
        sink = _Sink(output)
        stack.callback(sink.close)
        if engine is not None:
            yield from _execute(todo, engine, sink, progress)
        else:
            eng = stack.enter_context(open_engine(workers, scheduler, memory_limit=memory_limit,
                                                  client=client, work=jobs_work(todo)))
            yield from _execute(todo, eng, sink, progress)


def run(jobs: Iterable[Job], **kwargs: Any) -> list[dict[str, Any]]:
    """:func:`run_iter` collected into a list (records in completion order)."""
    return list(run_iter(jobs, **kwargs))


def _execute(todo: list[Job], engine: Engine, sink: _Sink, progress) -> Iterator[dict]:
    total = len(todo)
    counts = [0, 0]  # done, failed
    written: set[str] = set()

    def finish(record: dict, running: int) -> bool:
        if record["id"] in written:
            return False  # a re-run of a job whose first result already arrived
        written.add(record["id"])
        sink.write(record)
        counts["error" in record] += 1
        if progress is not None:
            progress(counts[0], counts[1], running, total)
        return True

    if progress is not None:
        progress(0, 0, 0, total)
    if engine.client is None:
        for job in todo:
            if progress is not None:
                progress(counts[0], counts[1], 1, total)
            record = run_job(job, pin=False)
            if finish(record, 0):
                yield record
        return

    distributed = _need_distributed()
    c = engine.client
    token = uuid.uuid4().hex[:8]
    futures = {}
    for job in todo:
        fut = c.submit(run_job, job, key=f"infocli-job-{job.id}-{token}", pure=False)
        futures[fut.key] = (fut, job)
    try:
        nthreads = max(1, sum(c.nthreads().values()))
    except Exception:  # noqa: BLE001
        nthreads = max(1, engine.n_workers)
    try:
        for fut in distributed.as_completed([f for f, _ in futures.values()]):
            job = futures.pop(fut.key)[1]
            try:
                record = fut.result()
            except distributed.KilledWorker as exc:
                record = error_record(job, 3, killed_message(c, exc, engine, "job"))
            except Exception as exc:  # noqa: BLE001
                record = error_record(job, 1, f"{type(exc).__name__}: {exc}")
            fut.release()
            if finish(record, min(nthreads, len(futures))):
                yield record
    finally:
        if futures:
            with contextlib.suppress(Exception):
                c.cancel([f for f, _ in futures.values()])


def killed_message(client: Any, exc: BaseException, engine: Engine, what: str) -> str:
    """Why a task's workers died: the memory limit when Dask's nanny says it
    restarted that worker for memory, else a crash."""
    tries = (f" {engine.allowed_failures + 1} times" if engine.allowed_failures is not None
             else "")
    limit = f" of {engine.memory_limit}" if engine.memory_limit else ""
    worker = getattr(getattr(exc, "last_worker", None), "address", None)
    try:
        events = client.get_events("worker-restart-memory")
    except Exception:  # noqa: BLE001 - no event log: say what is likely
        events = ()
    if any(isinstance(ev, dict) and ev.get("worker") == worker for _, ev in events):
        return (f"this {what} needs more than the worker memory limit{limit}: Dask restarted "
                f"its worker at 95% of the limit{tries}; give the workers more memory "
                "(--memory-limit, or fewer workers) or the job fewer rows")
    return (f"the worker running this {what} died{tries}: most likely it needs more than the "
            f"worker memory limit{limit} (--memory-limit), or it crashed the process")


def exit_code(records: Iterable[dict]) -> int:
    """0 when every record is a result, :data:`EXIT_SOME_FAILED` (4) when any is an error."""
    return EXIT_SOME_FAILED if any("error" in r for r in records) else 0


# --------------------------------------------------------------------------- tables

def flat_table(records: Iterable[dict]):
    """Records as a flat DataFrame: one row per job; ``job.*``, ``params.*`` and
    ``dims.*`` spread into columns, ``error_code``/``error_message`` for failures."""
    import pandas as pd

    rows = []
    for r in records:
        row: dict[str, Any] = {"id": r.get("id")}
        for key, value in (r.get("job") or {}).items():
            if key == "params":
                continue
            row[f"job.{key}"] = value
        for key in ("measure", "estimator", "value", "unit", "stderr", "p_value", "n_samples",
                    "device", "seconds", "version"):
            if key in r:
                row[key] = r[key]
        for key in ("interval", "reliable"):
            if key in r:
                row[key] = json.dumps(r[key]) if isinstance(r[key], (list, dict)) else r[key]
        for key, value in (r.get("dims") or {}).items():
            row[f"dims.{key}"] = value
        for key, value in (r.get("params") or (r.get("job") or {}).get("params") or {}).items():
            row[f"params.{key}"] = value
        if "warnings" in r:
            row["warnings"] = "; ".join(r["warnings"])
        if "error" in r:
            row["error_code"] = r["error"].get("code")
            row["error_message"] = r["error"].get("message")
        rows.append(row)
    return pd.DataFrame(rows).convert_dtypes()  # nullable ints: n_samples stays 2000, not 2000.0


def write_table(records: list[dict], path: str, fmt: str) -> None:
    """Write :func:`flat_table` as ``csv`` or ``parquet`` to ``path`` (atomically)."""
    from .io import write_atomic

    if fmt not in ("csv", "parquet"):
        raise ParameterError(f"--format {fmt!r}: expected csv or parquet")
    frame = flat_table(records)
    if fmt == "csv":
        write_atomic(path, "--format", lambda tmp: frame.to_csv(tmp, index=False))
    else:
        for col in frame.columns:  # mixed-type columns (params) become text for parquet
            if frame[col].dtype == object:
                frame[col] = frame[col].map(lambda v: None if v is None else str(v))
        write_atomic(path, "--format", lambda tmp: frame.to_parquet(tmp, index=False))
