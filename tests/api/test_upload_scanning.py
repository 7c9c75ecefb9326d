"""Upload scanning against a real clamd (Debian's clamav-daemon), started here with a test-only
signature database that holds the EICAR test file's signature (no signature download)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from vibecode_api.children import free_port

from .conftest import as_user

ALICE = as_user("alice", "vibecode-premium")
CLAMD = shutil.which("clamd") or ("/usr/sbin/clamd" if Path("/usr/sbin/clamd").exists() else None)
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
EICAR_HDB = "44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature\n"
"""md5:size:name of the EICAR test file, in ClamAV's hash-signature format."""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CLAMD is None, reason="clamd is not installed (apt-get install clamav-daemon)"
    ),
]


def _ping(address: str | tuple[str, int]) -> bool:
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        s.connect(address)
        s.sendall(b"zPING\0")
        return s.recv(16).startswith(b"PONG")
    return False


@pytest.fixture(scope="module")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("clamd")
    (root / "db").mkdir()
    (root / "db" / "test.hdb").write_text(EICAR_HDB)
    port = free_port()  # clamd cannot take a listening socket from us
    sock = root / "clamd.sock"
    (root / "clamd.conf").write_text(
        f"Foreground yes\nDatabaseDirectory {root / 'db'}\nLocalSocket {sock}\n"
        f"TCPSocket {port}\nTCPAddr 127.0.0.1\nLogFile {root / 'clamd.log'}\n"
        f"PidFile {root / 'clamd.pid'}\nStreamMaxLength 64M\n"
    )
    proc = subprocess.Popen(
        [str(CLAMD), "-c", str(root / "clamd.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not _ping(str(sock)):
            assert proc.poll() is None, (root / "clamd.log").read_text(errors="replace")
            assert time.monotonic() < deadline, "clamd did not answer PING"
            time.sleep(0.1)  # clamd loads its database on its own schedule
        yield {"unix": f"unix://{sock}", "tcp": f"tcp://127.0.0.1:{port}"}
    finally:
        proc.terminate()
        proc.wait(30)


def _files(client: Any, name: str = "scanned") -> str:
    ws = client.post("/api/workspaces", json={"name": name}, headers=ALICE).json()["id"]
    return f"/api/workspaces/{ws}/files"


@pytest.mark.parametrize("transport", ["unix", "tcp"])
def test_an_infected_upload_is_refused_audited_and_not_stored(
    make_client: Any, clamd: dict[str, str], transport: str
) -> None:
    client = make_client(clamd_url=clamd[transport])
    files = _files(client)
    clean = client.post(files, files={"file": ("ok.md", b"a clean file")}, headers=ALICE)
    assert clean.status_code == 201
    r = client.post(files, files={"file": ("eicar.txt", EICAR)}, headers=ALICE)
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == "malware_detected"
    assert body["signature"].startswith("Eicar-Test-Signature")
    assert "nothing was stored" in body["detail"]
    assert [f["path"] for f in client.get(files, headers=ALICE).json()] == ["ok.md"]
    audit = client.get("/api/audit", headers=ALICE).json()
    refused = [e for e in audit if e["outcome"] == "refused_malware"]
    assert refused[0]["action"] == "file.upsert"
    assert refused[0]["target"] == "eicar.txt"
    assert refused[0]["detail"]["signature"] == body["signature"]
    assert client.get("/api/health").json()["checks"]["config"]["uploadScanning"] == "on"


def test_an_unreachable_scanner_fails_closed_unless_told_to_fail_open(
    make_client: Any, tmp_path: Path
) -> None:
    gone = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    closed = make_client(clamd_url=gone)
    files = _files(closed)
    r = closed.post(files, files={"file": ("a.md", b"text")}, headers=ALICE)
    assert r.status_code == 503
    assert r.json()["error"] == "scanner_unavailable"
    assert r.headers["retry-after"]
    assert closed.get(files, headers=ALICE).json() == []

    open_ = make_client(clamd_url=gone, clamd_fail_open=True)
    files = _files(open_, "unscanned")
    assert open_.post(files, files={"file": ("a.md", b"text")}, headers=ALICE).status_code == 201
    health = open_.get("/api/health").json()
    assert health["status"] == "degraded"
    assert health["checks"]["config"] == {**health["checks"]["config"], "status": "warn"}
    assert health["checks"]["config"]["uploadScanning"] == "fail-open"
