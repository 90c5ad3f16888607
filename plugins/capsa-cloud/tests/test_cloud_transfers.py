"""Transfers on S3: streamed multipart members, bounded concurrency, progress, errors, slices."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from typing import Any

import pytest
from capsa_cloud.backend import CloudStorageError, S3Backend
from capsa_cloud.servers import LoopbackS3

import capsa
from capsa.errors import ArtifactExistsError, ObjectNotFoundError

# The catalog listener must reach the server through the store's own backend
# (never a fresh one without credentials, which would probe cloud metadata).
pytestmark = pytest.mark.filterwarnings("error::capsa.catalog.errors.CatalogWarning")


def _uploads(server: LoopbackS3) -> list[str]:
    """Multipart uploads in progress on moto (read with boto3, which moto brings)."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    listed = client.list_multipart_uploads(Bucket=server.bucket)
    return [u["Key"] for u in listed.get("Uploads", [])]


def test_a_large_member_streams_as_multipart_before_commit(s3_server: LoopbackS3) -> None:
    backend = S3Backend.from_url(s3_server.url(), {**s3_server.options, "chunk_size": 5 << 20})
    writer = backend.open_writer("big/weights.bin")
    for i in range(4):
        writer.write(bytes([i]) * (5 << 20))
    # Parts left the process while writing: the upload exists, the object does not.
    assert [k for k in _uploads(s3_server) if k.endswith("big/weights.bin")]
    assert not backend.exists("big/weights.bin")
    writer.commit()
    assert backend.head("big/weights.bin").size == 20 << 20
    assert backend.get_range("big/weights.bin", (15 << 20) - 1, (15 << 20) + 1) == b"\x02\x03"
    assert not [k for k in _uploads(s3_server) if k.endswith("big/weights.bin")]


def test_an_aborted_large_member_leaves_no_parts_and_no_object(s3_server: LoopbackS3) -> None:
    backend = S3Backend.from_url(s3_server.url(), {**s3_server.options, "chunk_size": 5 << 20})
    writer = backend.open_writer("big/aborted.bin")
    for _ in range(3):
        writer.write(b"x" * (5 << 20))
    writer.abort()
    assert not [k for k in _uploads(s3_server) if k.endswith("big/aborted.bin")]
    assert not backend.exists("big/aborted.bin")
    with pytest.raises(ValueError, match=r"already committed or aborted"):
        writer.write(b"late")


def test_a_failed_production_save_of_a_large_member_leaves_nothing(
    s3_server: LoopbackS3,
) -> None:
    url = s3_server.url()
    store = capsa.open_store(url, options={**s3_server.options, "chunk_size": 5 << 20})

    class Exploding:
        """Written through the pickle format: the member breaks after 12 MiB."""

    store.save("model", "bundle", {"weights.bin": b"w" * (12 << 20)})
    with pytest.raises(ArtifactExistsError):
        store.save("model", "bundle", {"weights.bin": b"v" * (12 << 20)})
    assert store.load("model", verify=True)["weights.bin"][:1] == b"w"
    assert not [k for k in _uploads(s3_server) if "/model/" in k]


STREAM_SCRIPT = """
import json, sys
from capsa_cloud.backend import S3Backend

def peak_kib():
    # VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's (pytest's) peak.
    with open("/proc/self/status") as f:
        return int(next(l for l in f if l.startswith("VmHWM:")).split()[1])

url, options, total_mib = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
backend = S3Backend.from_url(url, options)
piece = b"\\x5a" * (1 << 20)
before = peak_kib()
writer = backend.open_writer("stream/huge.bin")
for _ in range(total_mib):
    writer.write(piece)
writer.commit()
after = peak_kib()
print(json.dumps({"size": backend.head("stream/huge.bin").size, "grew_kib": after - before}))
"""


def test_streaming_a_member_holds_bounded_memory(seaweedfs: LoopbackS3) -> None:
    total_mib = 160
    options = {**seaweedfs.options, "chunk_size": 5 << 20, "max_concurrency": 2}
    out = subprocess.run(
        [sys.executable, "-c", STREAM_SCRIPT, seaweedfs.url(), json.dumps(options), str(total_mib)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    facts = json.loads(out.strip().splitlines()[-1])
    assert facts["size"] == total_mib << 20
    # Parts of 5 MiB, two in flight plus the one filling: far below the 160 MiB written.
    assert facts["grew_kib"] < 60 * 1024, facts


def test_many_small_members_on_a_real_server(seaweedfs: LoopbackS3) -> None:
    store = capsa.open_store(seaweedfs.url(), options={**seaweedfs.options, "concurrency": 8})
    assert store.backend.io_concurrency == 8
    files = {f"m{i:04d}.txt": f"member {i}" for i in range(300)}
    store.save("bundle", "bundle", files)
    loaded = store.load("bundle", verify=True)
    assert {name: loaded[name] for name in files} == files
    assert store.verify().ok
    with store.transaction("tree", "bundle") as tx:
        tx.write(
            "files", {f"f/{i}.bin": bytes([i % 256]) * 10 for i in range(200)}, format="folder"
        )
    fetched = store.load("tree")["files"].fetch()
    assert fetched["f/7.bin"] == b"\x07" * 10 and len(fetched) == 200


def test_concurrency_option_is_validated(s3_server: LoopbackS3) -> None:
    for bad in (0, -1, "8", 2.5, True):
        with pytest.raises(capsa.errors.ConfigError, match=r"'concurrency'"):
            S3Backend.from_url(s3_server.url(), {**s3_server.options, "concurrency": bad})
    for bad_flag in ("yes", 1):
        with pytest.raises(capsa.errors.ConfigError, match=r"'progress'"):
            S3Backend.from_url(s3_server.url(), {**s3_server.options, "progress": bad_flag})


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _tty_stderr(monkeypatch: pytest.MonkeyPatch) -> _Tty:
    """Make stderr a terminal (inside the test: pytest's capture resets it after fixtures)."""
    fake = _Tty()
    monkeypatch.setattr(sys, "stderr", fake)
    return fake


def test_long_transfers_show_progress_on_a_terminal(
    s3_server: LoopbackS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    tty_stderr = _tty_stderr(monkeypatch)
    options = {**s3_server.options, "progress_threshold": 6 << 20, "chunk_size": 5 << 20}
    store = capsa.open_store(s3_server.url(), options=options)
    store.save("small", "blob", b"s" * 1000)
    assert tty_stderr.getvalue() == ""  # below the threshold: no bar
    store.save("large", "blob", b"L" * (8 << 20))
    assert "upload" in tty_stderr.getvalue()
    assert store.load("large")["blob"][:1] == b"L"
    assert "download" in tty_stderr.getvalue()


def test_progress_is_off_with_the_option(
    s3_server: LoopbackS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    tty_stderr = _tty_stderr(monkeypatch)
    options = {**s3_server.options, "progress_threshold": 1 << 20, "progress": False}
    store = capsa.open_store(s3_server.url(), options=options)
    store.save("large", "blob", b"L" * (3 << 20))
    assert store.load("large")["blob"][-1:] == b"L"
    assert tty_stderr.getvalue() == ""


def test_no_progress_off_a_terminal(
    s3_server: LoopbackS3, capsys: pytest.CaptureFixture[str]
) -> None:
    options = {**s3_server.options, "progress_threshold": 1 << 20}
    store = capsa.open_store(s3_server.url(), options=options)
    store.save("large", "blob", b"L" * (3 << 20))
    store.load("large")["blob"]
    assert capsys.readouterr().err == ""


def test_wrong_credentials_are_a_clear_error(seaweedfs: LoopbackS3) -> None:
    options = {**seaweedfs.options, "secret_access_key": "not-the-secret", "max_retries": 0}
    backend = S3Backend.from_url(seaweedfs.url(), options)
    with pytest.raises(CloudStorageError, match=r"put 'k' in s3://.*") as info:
        backend.put("k", b"v")
    assert isinstance(info.value, OSError)
    with pytest.raises((CloudStorageError, ObjectNotFoundError)):
        backend.get("k")


def test_parquet_one_percent_of_columns_downloads_about_one_percent(
    s3_server: LoopbackS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    np = pytest.importorskip("numpy")
    pa = pytest.importorskip("pyarrow")
    pytest.importorskip("capsa_parquet")
    n_cols, rows = 100, 20_000
    rng = np.random.default_rng(0)
    table = pa.table({f"c{i:03d}": rng.random(rows) for i in range(n_cols)})
    store = capsa.open_store(s3_server.url(), options=s3_server.options)
    store.save("wide", "table", table, options={"table": {"compression": "none"}})
    total = store.manifest("wide").size

    fetched = {"bytes": 0}
    lock = threading.Lock()
    get, get_range = S3Backend.get, S3Backend.get_range

    def counted_get(self: S3Backend, key: str) -> bytes:
        data = get(self, key)
        with lock:
            fetched["bytes"] += len(data)
        return data

    def counted_range(self: S3Backend, key: str, start: int, end: int) -> bytes:
        data = get_range(self, key, start, end)
        with lock:
            fetched["bytes"] += len(data)
        return data

    monkeypatch.setattr(S3Backend, "get", counted_get)
    monkeypatch.setattr(S3Backend, "get_range", counted_range)
    lazy: Any = store.load("wide")["table"]
    column = lazy.read(columns=["c042"])
    np.testing.assert_array_equal(column["c042"].to_numpy(), table["c042"].to_numpy())
    # One column of 100 (plus the footer and a little read-ahead).
    assert fetched["bytes"] <= 0.02 * total + (96 << 10), fetched["bytes"] / total


def test_an_unreachable_server_is_a_transient_error() -> None:
    from capsa_cloud.backend import CloudTransientError
    from capsa_cloud.servers import free_ports

    (port,) = free_ports(1)  # nothing listens there
    options = {
        "endpoint": f"http://127.0.0.1:{port}",
        "allow_http": True,
        "region": "us-east-1",
        "access_key_id": "x",
        "secret_access_key": "y",
        "max_retries": 1,
        "retry_timeout": 2,
        "init_backoff": 0.01,
    }
    backend = S3Backend.from_url("s3://nowhere/p", options)
    with pytest.raises(
        CloudTransientError, match=r"put 'k' in s3://nowhere/p failed after 1"
    ) as info:
        backend.put("k", b"v")
    assert isinstance(info.value, capsa.TransientError)
    with pytest.raises(capsa.TransientError, match=r"head 'k'"):
        backend.head("k")
