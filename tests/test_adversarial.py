"""Adversarial inputs, shared machines and full disks (issue 29).

Each test reproduces one probe that failed before its fix and asserts the fixed
behaviour: a clean one-line error with the documented exit code, or a correct
result; nothing replaced, nothing exposed, nothing lost or duplicated. All
fast and seeded.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import infocli
import infocli.cli
from infocli import InputError, ParameterError
from infocli import io as iio

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "200"})


def invoke(runner: CliRunner, *args, **kwargs):
    return runner.invoke(infocli.cli.app, [str(a) for a in args], **kwargs)


def one_line_error(result, code: int) -> str:
    """The stderr of a failed command: exactly one 'infocli: error:' line, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.output, result.stderr)
    err = result.stderr.strip()
    assert err.startswith("infocli: error: "), err
    assert "\n" not in err and "Traceback" not in err, err
    return err


def run_cli(*args, cwd, env=None, timeout=120) -> subprocess.CompletedProcess:
    full = {**os.environ, "PYTHONPATH": str(REPO / "src"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "infocli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, env=full)


@pytest.fixture
def xy(tmp_path):
    rng = np.random.default_rng(29)
    x = rng.standard_normal((200, 2))
    x[:, 1] += x[:, 0]
    np.save(tmp_path / "x.npy", x)
    return tmp_path / "x.npy"


# --------------------------------------------------------------------------- output files

def test_output_over_the_input_is_refused(runner, xy, tmp_path):
    before = xy.read_bytes()
    os.symlink(xy, tmp_path / "alias.npy")
    for out in (xy, tmp_path / "alias.npy", tmp_path / "." / "x.npy"):
        r = invoke(runner, "mi", xy, "--x-cols", "0", "--y-cols", "1", "-o", out)
        assert "is the input" in one_line_error(r, 2)
    assert xy.read_bytes() == before
    r = invoke(runner, "entropy", xy, "-e", "gaussian", "-o", xy)
    assert "is the input" in one_line_error(r, 2)
    assert xy.read_bytes() == before


def test_output_keeps_mode_and_symlink(runner, xy, tmp_path):
    target = tmp_path / "result.json"
    target.write_text("old\n")
    os.chmod(target, 0o600)
    link = tmp_path / "link.json"
    os.symlink(target, link)
    r = invoke(runner, "entropy", xy, "-e", "gaussian", "-o", link, "--format", "value")
    assert r.exit_code == 0, r.output
    assert os.path.islink(link), "the symlink was replaced by a regular file"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert json.loads(target.read_text())["estimator"] == "gaussian"


def _char_device(tmp_path: Path, name: str, minor: int) -> Path:
    """A character device of the kernel's memory driver (1, minor: 3 null, 7 full) to
    write to. As root, a private node in ``tmp_path``: a regression of write_atomic
    must never replace the machine's own /dev/null or /dev/full (as root it can).
    Otherwise the real one, which an unprivileged process cannot replace."""
    if os.geteuid() != 0:
        return Path("/dev") / name
    node = tmp_path / name
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
        with open(node, "wb"):
            pass
    except OSError as exc:  # no mknod here, or a nodev mount
        pytest.skip(f"cannot make a device node in {tmp_path}: {exc}")
    return node


def test_output_writes_through_devices_and_fifos(runner, xy, tmp_path):
    null = _char_device(tmp_path, "null", 3)
    r = invoke(runner, "entropy", xy, "-e", "gaussian", "-o", null, "--format", "value")
    assert r.exit_code == 0
    assert stat.S_ISCHR(os.stat(null).st_mode)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo).read()), daemon=True)
    reader.start()
    r = invoke(runner, "entropy", xy, "-e", "gaussian", "-o", fifo, "--format", "value")
    reader.join(10)
    assert r.exit_code == 0
    assert stat.S_ISFIFO(os.stat(fifo).st_mode), "the FIFO was replaced"
    assert json.loads(got[0])["estimator"] == "gaussian"


def test_output_to_a_full_device_is_a_clean_error(runner, xy, tmp_path):
    full = _char_device(tmp_path, "full", 7)
    if not os.path.exists(full):
        pytest.skip("needs /dev/full")
    r = invoke(runner, "entropy", xy, "-e", "gaussian", "-o", full)
    assert "No space left" in one_line_error(r, 2)
    assert stat.S_ISCHR(os.stat(full).st_mode)


def test_symlink_loop_is_named(runner, tmp_path):
    os.symlink(tmp_path / "b.npy", tmp_path / "a.npy")
    os.symlink(tmp_path / "a.npy", tmp_path / "b.npy")
    r = invoke(runner, "entropy", tmp_path / "a.npy")
    assert "symlink loop" in one_line_error(r, 2)
    r = invoke(runner, "batch", tmp_path / "a.npy")
    assert "symlink loop" in one_line_error(r, 2)


def test_ib_activations_not_text(runner, xy):
    r = invoke(runner, "ib", xy, "--x", xy, "--y", xy)
    assert "not UTF-8" in one_line_error(r, 2)


# --------------------------------------------------------------------------- network

def _process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _listening(pids: list[int]) -> list[tuple[str, str]]:
    """(family, local address in /proc/net hex) of every listening TCP socket of ``pids``."""
    inodes = set()
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    found = []
    for family in ("tcp", "tcp6"):
        try:
            with open(f"/proc/net/{family}") as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "0A" and parts[9] in inodes:  # 0A: LISTEN
                found.append((family, parts[1].split(":")[0]))
    return found


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="needs Linux /proc")
def test_local_cluster_listens_on_loopback_only(dask_engine):
    sockets = _listening(_process_tree(os.getpid()))
    assert len(sockets) >= 3, sockets  # scheduler, dashboard, workers
    loopback = {("tcp", "0100007F"), ("tcp6", "00000000000000000000000001000000")}
    exposed = [s for s in sockets if s not in loopback]
    assert not exposed, f"listening beyond 127.0.0.1: {exposed}"


def test_scheduler_options_are_checked(runner, tmp_path):
    manifest = tmp_path / "jobs.csv"
    manifest.write_text("measure,x\nentropy,x.npy\n")
    garbage = tmp_path / "sched.json"
    garbage.write_text("{not json")
    cases = [
        (["--scheduler", garbage], "not a Dask scheduler file"),
        (["--workers", "0", "--scheduler", "tcp://127.0.0.1:1"], "give one of them"),
        (["--scheduler", "tcp://127.0.0.1:1", "--tls-cert", "c.pem"], "tls:// scheduler"),
        (["--tls-cert", "c.pem"], "secure the connection to a --scheduler"),
        (["--scheduler", "tls://127.0.0.1:1", "--tls-cert", tmp_path / "none.pem"],
         "no such file"),
    ]
    for args, message in cases:
        r = invoke(runner, "batch", manifest, *args)
        assert message in one_line_error(r, 2), args
    garbage.write_text('{"type": "Scheduler"}')
    r = invoke(runner, "batch", manifest, "--scheduler", garbage)
    assert "no \"address\"" in one_line_error(r, 2)


def test_tls_options_make_a_security_object(tmp_path):
    from infocli import batch

    cert = tmp_path / "client.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    kw = batch._security({"cert": str(cert), "ca_file": str(cert), "key": None},
                         "tls://10.0.0.1:8786")
    sec = kw["security"]
    assert sec.require_encryption and sec.tls_client_cert == str(cert)
    assert batch._security(None, "tls://10.0.0.1:8786") == {}  # Dask's config then


# --------------------------------------------------------------------------- types

def test_complex_npy_is_refused_naming_the_column(runner, tmp_path):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((100, 2)).astype(complex)
    a[:, 1] += 1j
    np.save(tmp_path / "c.npy", a)
    r = invoke(runner, "entropy", tmp_path / "c.npy")
    err = one_line_error(r, 2)
    assert "column 1 holds complex numbers" in err
    with pytest.raises(InputError, match="complex"):
        infocli.mutual_information(a[:, 0], np.arange(100) % 3, discrete_y=True)


@pytest.fixture
def typed_parquet(tmp_path):
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(2)
    n = 300
    a = rng.standard_normal(n)
    pq.write_table(pa.table({
        "a": a,
        "s": pa.array([{"u": i % 3, "v": 2} for i in range(n)]),
        "b": pa.array([bytes([i % 3]) for i in range(n)]),
        "l": pa.array([[i % 3, 2] for i in range(n)]),
        "m": pa.array([[("k", i % 3)] for i in range(n)], type=pa.map_(pa.string(), pa.int64())),
        "d": pa.array([decimal.Decimal(f"{v:.4f}") for v in a + 0.1 * rng.standard_normal(n)],
                      type=pa.decimal128(12, 4)),
    }), tmp_path / "t.parquet")
    return tmp_path / "t.parquet"


@pytest.mark.parametrize("col, kind", [("s", "dict"), ("b", "bytes"), ("l", "ndarray"),
                                       ("m", "list")])
def test_nested_and_binary_parquet_columns_are_refused(runner, typed_parquet, col, kind):
    for args in (["mi", typed_parquet, "--x-cols", "a", "--y-cols", col],
                 ["entropy", typed_parquet, "--x-cols", col]):
        err = one_line_error(invoke(runner, *args), 2)
        assert f"column '{col}'" in err and kind in err, err


def test_decimal_parquet_column_becomes_float(runner, typed_parquet):
    r = invoke(runner, "mi", typed_parquet, "--x-cols", "a", "--y-cols", "d", "-e",
               "gaussian", "--format", "json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["value"] > 1.5  # d = a + small noise: I = 2.3 nats


def test_overlapping_matrix_groups_are_refused(runner, tmp_path):
    rng = np.random.default_rng(3)
    np.savetxt(tmp_path / "t.csv", rng.standard_normal((100, 3)), delimiter=",",
               header="a,b,c", comments="")
    r = invoke(runner, "matrix", tmp_path / "t.csv", "--groups", "g1=a,b;g2=b", "--workers", 0)
    assert "share column 'b'" in one_line_error(r, 2)
    r = invoke(runner, "matrix", tmp_path / "t.csv", "--groups", "g1=a,a;g2=b", "--workers", 0)
    assert "listed twice" in one_line_error(r, 2)


def test_mixed_csv_column_names_the_bad_row(runner, tmp_path):
    rng = np.random.default_rng(4)
    lines = ["a,b"] + [f"{u:.6f},{v:.6f}" for u, v in rng.standard_normal((200, 2))]
    lines[101] = lines[101].split(",")[0] + ",oops"  # data row 100
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n")
    err = one_line_error(invoke(runner, "entropy", tmp_path / "m.csv"), 2)
    assert "column 'b' is not numeric (row 100 holds 'oops')" in err


# --------------------------------------------------------------------------- messages

def test_csv_named_npy_and_huge_header_are_not_called_pickles(runner, tmp_path):
    (tmp_path / "fake.npy").write_text("a,b\n1,2\n3,4\n")
    err = one_line_error(invoke(runner, "entropy", tmp_path / "fake.npy"), 2)
    assert "not a .npy file" in err and "pickle" not in err and "name it .csv" in err
    header = {"descr": "<f8", "fortran_order": False, "shape": (2,), "pad": "x" * 200_000}
    text = repr(header).encode("latin1")
    with open(tmp_path / "big.npy", "wb") as f:
        f.write(b"\x93NUMPY\x02\x00" + (len(text) + 1).to_bytes(4, "little") + text + b"\n")
        f.write(np.zeros(2).tobytes())
    err = one_line_error(invoke(runner, "entropy", tmp_path / "big.npy"), 2)
    assert "header is larger" in err and "pickle" not in err


def test_many_keys_npz_message_is_short(runner, tmp_path):
    np.savez(tmp_path / "many.npz", **{f"k{i}": np.zeros(1) for i in range(2000)})
    err = one_line_error(invoke(runner, "entropy", tmp_path / "many.npz"), 2)
    assert "2,000 arrays" in err and len(err) < 300


def test_nul_byte_in_a_manifest_path_is_a_bad_row(runner, tmp_path):
    (tmp_path / "jobs.jsonl").write_text(json.dumps({"measure": "entropy", "x": "a\x00.npy"})
                                         + "\n")
    err = one_line_error(invoke(runner, "batch", tmp_path / "jobs.jsonl", "--workers", 0), 2)
    assert "NUL byte" in err and "line 1" in err
    with pytest.raises(InputError, match="NUL byte"):
        iio.read_table("a\x00.npy")


def test_jsonl_manifest_reports_every_bad_line(runner, tmp_path):
    rows = ['{"measure": "entropy", "x": "a.npy"}', "{not json", '{"measure": "nope", "x": 1}',
            "[" * 100 + "]" * 100]
    (tmp_path / "jobs.jsonl").write_text("\n".join(rows) + "\n")
    err = one_line_error(invoke(runner, "batch", tmp_path / "jobs.jsonl", "--workers", 0), 2)
    assert "line 2: not valid JSON" in err and "line 3" in err and "line 4: nested" in err


def test_conflicting_engine_options(runner, tmp_path):
    (tmp_path / "jobs.csv").write_text("measure,x\nentropy,x.npy\n")
    r = invoke(runner, "batch", tmp_path / "jobs.csv", "--workers", 0, "--scheduler",
               "tcp://127.0.0.1:9")
    assert "give one of them" in one_line_error(r, 2)


# --------------------------------------------------------------------------- budgets

def _peak_rss_mb(proc_args, cwd, env) -> tuple[subprocess.CompletedProcess, float]:
    """Run the CLI in a child and return its peak resident memory (MB)."""
    # VmHWM (the high-water mark of this process image), not ru_maxrss: a forked
    # child inherits the parent's (pytest's) maxrss across exec
    script = ("import runpy, sys\n"
              "sys.argv = ['infocli', *sys.argv[1:]]\n"
              "try:\n    runpy.run_module('infocli', run_name='__main__')\n"
              "finally:\n"
              "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')]\n"
              "    sys.stderr.write('\\nPEAK %s\\n' % hwm[0].split()[1])\n")
    full = {**os.environ, "PYTHONPATH": str(REPO / "src"), **env}
    proc = subprocess.run([sys.executable, "-c", script, *map(str, proc_args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120, env=full)
    lines = proc.stderr.strip().splitlines()
    peak = int(lines[-1].split()[1]) / 1024
    proc.stderr = "\n".join(lines[:-1]).strip()
    return proc, peak


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_yaml_billion_laughs_is_refused_cheaply(tmp_path):
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    prev = "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
        prev = name
    text += "jobs:\n  - measure: *i\n    x: x.npy\n"
    (tmp_path / "bomb.yaml").write_text(text)
    proc, peak = _peak_rss_mb(["batch", "bomb.yaml", "--workers", "0"], tmp_path, {})
    assert proc.returncode == 2 and proc.stderr.startswith("infocli: error:"), proc.stderr
    assert "YAML aliases" in proc.stderr and "\n" not in proc.stderr
    assert peak <= 200, peak


def test_deep_yaml_and_json_are_refused(runner, tmp_path):
    (tmp_path / "deep.yaml").write_text("[" * 5000 + "]" * 5000 + "\n")
    (tmp_path / "deep.jsonl").write_text("[" * 100_000 + "]" * 100_000 + "\n")
    assert "nested" in one_line_error(invoke(runner, "batch", tmp_path / "deep.yaml"), 2)
    assert "nested" in one_line_error(invoke(runner, "batch", tmp_path / "deep.jsonl"), 2)


def _npz_bomb(path: Path, rows: int) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("x.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": "<f8", "fortran_order": False, "shape": (rows, 1)})
            chunk = bytes(8 * 1_000_000)
            for _ in range(rows // 1_000_000):
                f.write(chunk)


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_npz_bomb_is_refused_before_inflating(tmp_path):
    _npz_bomb(tmp_path / "bomb.npz", 50_000_000)  # 400 kB that inflate to 400 MB
    assert (tmp_path / "bomb.npz").stat().st_size < 1_000_000
    proc, peak = _peak_rss_mb(["entropy", "bomb.npz"], tmp_path,
                              {"INFOCLI_MEMORY_BUDGET": "100MB"})
    assert proc.returncode == 2, proc.stderr
    assert "50,000,000 x 1 float64 (with its float64 copy) needs 800.0 MB" in proc.stderr
    assert "INFOCLI_MEMORY_BUDGET" in proc.stderr and "\n" not in proc.stderr
    assert peak <= 200, peak


def test_declared_npz_shape_beyond_memory_is_refused(tmp_path):
    import zipfile

    with zipfile.ZipFile(tmp_path / "liar.npz", "w") as z:
        with z.open("x.npy", "w") as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": "<f8", "fortran_order": False, "shape": (10**12, 4)})
    with pytest.raises(InputError, match="needs 64.0 TB, more than the memory budget"):
        iio.read_table(str(tmp_path / "liar.npz"))


def test_budget_applies_to_the_float_copy(tmp_path, monkeypatch):
    np.save(tmp_path / "x.npy", np.zeros((10_000, 10), dtype=np.float32))
    table = iio.read_table(str(tmp_path / "x.npy"))
    monkeypatch.setenv("INFOCLI_MEMORY_BUDGET", "100kB")
    with pytest.raises(InputError, match="10,000 rows x 10 columns"):
        iio.select_columns(table, None)
    monkeypatch.setenv("INFOCLI_MEMORY_BUDGET", "lots")
    with pytest.raises(InputError, match="INFOCLI_MEMORY_BUDGET 'lots'"):
        iio.select_columns(table, None)


def test_parquet_metadata_is_checked_first(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"a": np.zeros(100_000)}), tmp_path / "z.parquet")
    monkeypatch.setenv("INFOCLI_MEMORY_BUDGET", "100kB")
    with pytest.raises(InputError, match="100,000 rows x 1 columns needs"):
        iio.read_table(str(tmp_path / "z.parquet"))


def test_permutations_are_capped(runner, xy):
    r = invoke(runner, "mi", xy, "--x-cols", "0", "--y-cols", "1", "--permutations",
               1_000_000_000)
    assert "at most 100,000" in one_line_error(r, 2)
    with pytest.raises(ParameterError, match="at most"):
        infocli.mi_matrix(np.zeros((10, 2)), permutations=10**9, workers=0)


def test_too_many_classes_are_refused_fast(tmp_path):
    n = 40_000
    y = np.repeat(np.arange(n // 2), 2)
    with pytest.raises(InputError, match="20,000 distinct class labels"):
        infocli.mutual_information(np.zeros(n), y, discrete_y=True)


def test_matrix_size_is_checked_first(runner, tmp_path):
    np.save(tmp_path / "wide.npy", np.zeros((5, 500)))
    r = invoke(runner, "matrix", tmp_path / "wide.npy", "--workers", 0)
    assert "500 variables make 124,750 pairs" in one_line_error(r, 2)
    r = invoke(runner, "matrix", tmp_path / "wide.npy", "--workers", 0, "--max-pairs", 10)
    assert "--max-pairs" in one_line_error(r, 2)


def test_bench_command_timeout(tmp_path):
    from infocli import bench

    script = tmp_path / "slow.py"
    script.write_text("import time\ntime.sleep(60)\n")
    records = bench.run(["1v1-normal-0.75"], ns=[200], seeds=1,
                        command=f"{sys.executable} {script} {{csv}}", timeout=1.0)
    assert len(records) == 1 and "still running after 1 s" in records[0].error
    with pytest.raises(ParameterError, match="timeout"):
        bench.plan(["1v1-normal-0.75"], ["ksg"], timeout=0)


# --------------------------------------------------------------------------- one writer

@pytest.fixture
def manifest(tmp_path):
    rng = np.random.default_rng(5)
    np.save(tmp_path / "d.npy", rng.standard_normal((60, 2)))
    rows = ["id,measure,x,estimator,seed"] + [f"j{i},entropy,d.npy,gaussian,{i}"
                                              for i in range(12)]
    (tmp_path / "jobs.csv").write_text("\n".join(rows) + "\n")
    return tmp_path / "jobs.csv"


def test_second_writer_is_refused_naming_the_holder(runner, manifest, tmp_path):
    from infocli import batch

    out = tmp_path / "r.jsonl"
    with batch.OutputLock(str(out)):
        proc = run_cli("batch", manifest, "-o", out, "--workers", 0, cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        err = proc.stderr.strip()
        assert f"another infocli batch (pid {os.getpid()}" in err and "\n" not in err
        assert not out.exists() or out.read_text() == ""
    assert not (tmp_path / "r.jsonl.lock").exists()  # released
    r = invoke(runner, "batch", manifest, "-o", out, "--workers", 0, "-q")
    assert r.exit_code == 0, r.output
    assert len(out.read_text().splitlines()) == 12


def test_two_concurrent_writers_never_duplicate(manifest, tmp_path):
    out = tmp_path / "r.jsonl"
    procs = [subprocess.Popen([sys.executable, "-m", "infocli", "batch", str(manifest), "-o",
                               str(out), "--workers", "0", "-q"], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO / "src")})
             for _ in range(2)]
    results = [(p.wait(120), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in results)
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert codes == [0, 2], results
    assert len(ids) == len(set(ids)) == 12, "an id was written twice, or lost"
    loser = next(err for code, err in results if code == 2).strip()
    # concurrent: the lock; one after the other: the finished file is not appended to
    assert "another infocli batch (pid" in loser or "exists; use --resume" in loser, loser


def test_resume_refuses_a_file_with_duplicate_ids(runner, manifest, tmp_path):
    out = tmp_path / "r.jsonl"
    r = invoke(runner, "batch", manifest, "-o", out, "--workers", 0, "-q")
    assert r.exit_code == 0
    lines = out.read_text().splitlines()
    out.write_text("\n".join(lines + lines[:3]) + "\n")
    err = one_line_error(invoke(runner, "batch", manifest, "-o", out, "--workers", 0,
                                "--resume", "-q"), 2)
    assert "3 job id(s) have more than one record" in err


def test_full_disk_keeps_complete_records_and_resume_finishes(runner, manifest, tmp_path,
                                                              monkeypatch):
    import errno

    from infocli import batch

    out = tmp_path / "r.jsonl"
    calls = [0]
    real = os.write

    def flaky(fd, data):
        calls[0] += 1
        if calls[0] == 6:  # the 6th record: half of it lands, then the disk is full
            real(fd, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, data)

    monkeypatch.setattr(batch._Sink, "_write", staticmethod(flaky))
    r = invoke(runner, "batch", manifest, "-o", out, "--workers", 0, "-q")
    err = one_line_error(r, 2)
    assert "No space left on device" in err and "after 5 record(s)" in err
    assert "--resume to continue" in err
    lines = out.read_text().splitlines()
    assert len(lines) == 5 and all(json.loads(line) for line in lines)  # no partial line
    monkeypatch.setattr(batch._Sink, "_write", staticmethod(real))
    r = invoke(runner, "batch", manifest, "-o", out, "--workers", 0, "--resume", "-q")
    assert r.exit_code == 0, r.output
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert sorted(ids) == sorted(f"j{i}" for i in range(12))


# --------------------------------------------------------------------------- heartbeat

def _stopped_worker_run(data: Path, heartbeat: float) -> tuple[int, int, float]:
    import signal
    import time

    from infocli import batch

    jobs = batch.parse_jobs([(i, {"id": f"j{i}", "measure": "entropy", "x": str(data),
                                  "estimator": "gaussian", "seed": i}) for i in range(8)])
    with batch.open_engine(2, memory_limit="600MiB", heartbeat=heartbeat) as engine:
        victim = next(iter(engine.client.run(os.getpid).values()))
        os.kill(victim, signal.SIGSTOP)
        try:
            start = time.monotonic()
            records = batch.run(jobs, engine=engine)
            return len(records), sum("error" in r for r in records), time.monotonic() - start
        finally:
            try:
                os.kill(victim, signal.SIGCONT)
            except ProcessLookupError:  # the nanny replaced it
                pass


def test_a_stopped_worker_is_replaced_within_the_heartbeat(tmp_path):
    np.save(tmp_path / "d.npy", np.random.default_rng(6).standard_normal((300, 2)))
    n, failed, seconds = _stopped_worker_run(tmp_path / "d.npy", heartbeat=3)
    assert (n, failed) == (8, 0)
    assert seconds < 30, seconds  # Dask's default: 5 minutes


def test_default_heartbeat_is_under_a_minute():
    from infocli import batch

    assert batch.WORKER_TTL <= 60


# --------------------------------------------------------------------------- more messages

def test_huge_values_are_refused_not_reported_as_a_bug(runner, tmp_path):
    np.save(tmp_path / "big.npy", np.random.default_rng(7).uniform(0.5, 1, (200, 2)) * 1e308)
    err = one_line_error(invoke(runner, "entropy", tmp_path / "big.npy", "-e", "gaussian"), 2)
    assert "overflow" in err and "rescale" in err and "bug" not in err


def test_matrix_nan_hint_has_no_api_keyword(runner, tmp_path):
    x = np.random.default_rng(8).standard_normal((100, 3))
    x[5, 1] = np.nan
    np.savetxt(tmp_path / "t.csv", x, delimiter=",", header="a,b,c", comments="")
    r = invoke(runner, "matrix", tmp_path / "t.csv", "--workers", 0)
    assert r.exit_code == 4
    assert "dropna=True" not in r.stderr and "drop or impute" in r.stderr


def test_a_parameter_given_twice_is_refused(runner, xy, tmp_path):
    r = invoke(runner, "mi", xy, "--x-cols", "0", "--y-cols", "1", "-e", "ksg", "-p", "k=3",
               "-p", "k=50")
    assert "k given twice" in one_line_error(r, 2)
    (tmp_path / "j.jsonl").write_text(json.dumps({"measure": "entropy", "x": "x.npy",
                                                  "estimator": "kl",
                                                  "params": ["k=3", "k=50"]}) + "\n")
    r = invoke(runner, "batch", tmp_path / "j.jsonl", "--workers", 0, "--dry-run")
    assert "k given twice" in one_line_error(r, 2)


def test_quoted_values_are_clipped(tmp_path):
    from infocli import batch

    with pytest.raises(ParameterError) as info:
        batch.make_job({"measure": "entropy", "x": "a.npy", "seed": "9" * 100_000 + "x"})
    assert len(str(info.value)) < 300


def test_batch_table_never_replaces_the_manifest(runner, manifest, tmp_path):
    before = manifest.read_text()
    r = invoke(runner, "batch", manifest, "-o", tmp_path / "jobs.jsonl", "--table", "csv",
               "--workers", 0, "-q")
    assert "is the input" in one_line_error(r, 2)
    assert manifest.read_text() == before and not (tmp_path / "jobs.jsonl").exists()


def test_decimal_objects_are_numbers_in_the_api():
    from decimal import Decimal

    import pandas as pd

    rng = np.random.default_rng(9)
    a = rng.standard_normal(300)
    frame = pd.DataFrame({"a": a, "d": [Decimal(f"{v:.4f}") for v in a + 0.1 *
                                        rng.standard_normal(300)]})
    est = infocli.mutual_information(frame[["a"]], frame[["d"]], estimator="gaussian")
    assert est.value > 1.5  # continuous, not 300 one-row classes


def test_batch_runs_on_a_tls_cluster_with_certificate_files(tmp_path):
    pytest.importorskip("cryptography")
    from distributed import LocalCluster
    from distributed.security import Security

    from infocli import batch

    sec = Security.temporary()
    files = {}
    for key, text in (("ca_file", sec.tls_ca_file), ("cert", sec.tls_client_cert),
                      ("key", sec.tls_client_key)):
        files[key] = str(tmp_path / f"{key}.pem")
        Path(files[key]).write_text(text)
    np.save(tmp_path / "d.npy", np.random.default_rng(10).standard_normal((100, 2)))
    jobs = batch.parse_jobs([(1, {"measure": "entropy", "x": str(tmp_path / "d.npy"),
                                  "estimator": "gaussian"})])
    with LocalCluster(n_workers=1, processes=False, protocol="tls://", security=sec,
                      host="127.0.0.1", dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://127.0.0.1")
        with batch.open_engine(scheduler=address, tls=files) as engine:
            records = batch.run(jobs, engine=engine)
        assert len(records) == 1 and "value" in records[0], records


def test_bench_tls_options_need_a_scheduler(runner):
    r = invoke(runner, "bench", "--tasks", "1v1-normal-0.75", "-e", "gaussian", "-n", 200,
               "--seeds", 1, "--workers", 0, "--tls-cert", "c.pem")
    assert "secure the connection to a --scheduler" in one_line_error(r, 2)
