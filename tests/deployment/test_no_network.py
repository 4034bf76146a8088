"""No network, proven three ways.

1. The whole suite runs with Internet sockets refused (the autouse fixture in
   tests/conftest.py); the first tests here prove the fixture bites.
2. The product's source imports no network module.
3. `clearance-desk demo`, `--smoke-test`, `backup` and `restore` run under
   `strace -f -e trace=network`, and any AF_INET or AF_INET6 socket fails the test.
"""

from __future__ import annotations

import ast
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from repo_support import require_tools

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "desktop_app"
DEMO_PASSWORD = "clearance-demo"

NETWORK_MODULES = (
    "socket", "_socket", "ssl", "socketserver", "urllib.request", "urllib3", "http.client",
    "http.server", "http.cookiejar", "httpx", "requests", "aiohttp", "ftplib", "smtplib", "poplib", "imaplib",
    "nntplib", "telnetlib", "xmlrpc", "websocket", "websockets", "paramiko", "PySide6.QtNetwork",
    "PySide6.QtWebSockets", "PySide6.QtWebEngineCore", "zmq", "grpc",
)
"""Modules whose purpose is talking to other machines. asyncio is not listed: pyHanko signs through
its event loop, which on Linux uses a Unix socket pair only (the strace test checks the rest)."""

INTERNET_IN_TRACE = re.compile(r"\b(AF|PF)_INET6?\b")


# -- 1. the fixture ---------------------------------------------------------------------------


def test_internet_sockets_are_refused_in_tests() -> None:
    for family in (socket.AF_INET, socket.AF_INET6):
        with pytest.raises(OSError, match="network access blocked"):
            socket.socket(family, socket.SOCK_STREAM)
    with pytest.raises(OSError, match="network access blocked"):
        socket.socket()
    with pytest.raises(OSError, match="network access blocked"):
        socket.create_connection(("192.0.2.1", 443), timeout=0.01)
    with pytest.raises(OSError, match="network access blocked"):
        socket.getaddrinfo("example.org", 443)


def test_unix_sockets_stay_allowed() -> None:
    left, right = socket.socketpair()
    try:
        left.sendall(b"ping")
        assert right.recv(4) == b"ping"
    finally:
        left.close()
        right.close()


@pytest.mark.postgres
def test_postgres_tests_may_reach_loopback_only() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(OSError, match="network access blocked"):
            sock.connect(("192.0.2.1", 5432))  # refused by the guard before any packet is sent
        assert socket.getaddrinfo("localhost", 5432)
        with pytest.raises(OSError, match="network access blocked"):
            socket.getaddrinfo("db.agency.example", 5432)
    finally:
        sock.close()


# -- 2. the source ------------------------------------------------------------------------------


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in
              ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant)):
            found.append((node.lineno, str(node.args[0].value)))
    return found


def _is_network(module: str) -> bool:
    return any(module == banned or module.startswith(banned + ".") for banned in NETWORK_MODULES)


def test_the_product_imports_no_network_module() -> None:
    offenders = [f"{path.relative_to(ROOT)}:{line}: {module}"
                 for path in sorted(PACKAGE.rglob("*.py")) for line, module in _imports(path) if _is_network(module)]
    assert offenders == [], "network modules imported by the product:\n" + "\n".join(offenders)


def test_the_source_check_would_notice(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import socket\nfrom urllib.request import urlopen\nfrom http import client\n"
                      "import importlib\nimportlib.import_module('requests')\nfrom PySide6 import QtNetwork\n")
    found = {module for _line, module in _imports(sample) if _is_network(module)}
    assert {"socket", "urllib.request", "http.client", "requests", "PySide6.QtNetwork"} <= found


# -- 3. the running program, under strace ----------------------------------------------------------


def strace_network(command: list[str], trace: Path, *, env: dict[str, str] | None = None,
                   timeout: float = 300) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run `command` under strace; return its result and every traced line naming AF_INET/AF_INET6."""
    require_tools("strace")
    out = subprocess.run(["strace", "-f", "-qq", "-e", "trace=network", "-o", str(trace), *command],
                         capture_output=True, text=True, env=env, timeout=timeout)
    lines = trace.read_text(errors="replace").splitlines() if trace.exists() else []
    return out, [line for line in lines if INTERNET_IN_TRACE.search(line)]


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARANCE_DESK_")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    env.update(extra)
    return env


def test_strace_sees_an_internet_socket_when_there_is_one(tmp_path: Path) -> None:
    """The detector itself: creating (not even connecting) a socket is caught."""
    out, hits = strace_network([sys.executable, "-c", "import socket; socket.socket().close()"],
                               tmp_path / "trace.txt")
    assert out.returncode == 0, out.stderr
    assert hits and "AF_INET" in hits[0]


def test_demo_smoke_test_backup_and_restore_open_no_internet_socket(tmp_path: Path) -> None:
    app = [sys.executable, "-m", "desktop_app", "--data-dir", str(tmp_path / "data")]
    runs = {
        "demo": app + ["demo"],
        "smoke-test": app + ["--smoke-test", "--user", "supervisor"],
        "backup": app + ["backup", str(tmp_path / "b.zip"), "--as", "admin"],
        "restore": [sys.executable, "-m", "desktop_app", "--data-dir", str(tmp_path / "again"), "restore",
                    str(tmp_path / "b.zip"), "--as", "admin"],
    }
    outputs = {}
    for name, command in runs.items():
        out, hits = strace_network(command, tmp_path / f"{name}.trace", env=cli_env(CLEARANCE_DESK_PASSWORD=DEMO_PASSWORD))
        assert out.returncode == 0, f"{name}: {out.stderr[-2000:]}"
        assert hits == [], f"{name} opened Internet sockets:\n" + "\n".join(hits[:20])
        outputs[name] = out.stdout
    assert "first queue page painted" in outputs["smoke-test"]
    assert "backup written" in outputs["backup"] and "restored" in outputs["restore"]
