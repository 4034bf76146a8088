"""Suite-wide fixtures: every folder the app writes points at tmp_path; Qt runs offscreen.

GUI tests (those using qtbot) are marked `gui` automatically, so `pytest -m "not gui"`
gives fast feedback without widgets.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.pop("CLEARANCE_DESK_DATA_DIR", None)
os.environ.pop("CLEARANCE_DESK_DB_URL", None)



# The system tools the suite runs, with the Debian package that brings each (scripts/test.sh installs them).
SUITE_TOOLS = {
    "pdftotext": "poppler-utils", "pdftoppm": "poppler-utils", "pdfsig": "poppler-utils",
    "certutil": "libnss3-tools", "crlutil": "libnss3-tools", "softhsm2-util": "softhsm2",
    "zbarimg": "zbar-tools", "strace": "strace",
}
PG_URL_ENV = "CLEARANCE_DESK_TEST_PG_URL"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "qtbot" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.gui)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Stop before the first test, with one message, when a tool or server the suite needs is missing."""
    if not session.items:
        return
    missing = sorted({package for tool, package in SUITE_TOOLS.items() if shutil.which(tool) is None})
    problems = [f"Debian packages missing: {' '.join(missing)}"] if missing else []
    if any(item.get_closest_marker("postgres") for item in session.items) and not os.environ.get(PG_URL_ENV):
        problems.append(f"{PG_URL_ENV} is not set, so the PostgreSQL half of tests/backends cannot run")
    if problems:
        pytest.exit("; ".join(problems) + ". Run the suite with `bash scripts/test.sh`, which installs and starts "
                    "what it needs.", returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # noqa: ANN201
    """A skipped test proves nothing: a skip anywhere in this suite is a failure, with its reason."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid} would have been skipped ({reason}); this suite runs every test"


@pytest.fixture(autouse=True)
def _isolated_user_folders(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the real user folders: HOME and XDG dirs live under tmp."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.delenv("CLEARANCE_DESK_PASSWORD", raising=False)


class NetworkBlocked(OSError):
    """A test tried to use an Internet socket: the product must never touch the network."""


_LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost", "localhost.localdomain", "ip6-localhost"})


@pytest.fixture(autouse=True)
def _no_network(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with AF_INET/AF_INET6 sockets refused (Unix sockets stay allowed).

    Tests marked `postgres` may reach loopback addresses only (the server .ci/run starts);
    anything else is refused there too, as is resolving a non-loopback name.
    """
    import socket

    loopback_only = request.node.get_closest_marker("postgres") is not None
    real_socket, real_getaddrinfo, real_create_connection = socket.socket, socket.getaddrinfo, socket.create_connection
    internet = (socket.AF_INET, socket.AF_INET6)

    def check_host(host: object, what: str) -> None:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if not loopback_only or (name not in _LOOPBACK and not name.startswith("127.")):
            raise NetworkBlocked(f"network access blocked in tests: {what} {name!r}")

    class GuardedSocket(real_socket):  # type: ignore[misc, valid-type]
        def __init__(self, family: int = -1, type: int = -1, proto: int = -1, fileno: int | None = None) -> None:
            if fileno is None and (socket.AF_INET if family == -1 else family) in internet and not loopback_only:
                raise NetworkBlocked(f"network access blocked in tests: socket(family={family})")
            super().__init__(family, type, proto, fileno)

        def connect(self, address: object) -> None:  # noqa: D102
            if self.family in internet:
                check_host(address[0], "connect to")  # type: ignore[index]
            super().connect(address)

        def connect_ex(self, address: object) -> int:  # noqa: D102
            if self.family in internet:
                check_host(address[0], "connect to")  # type: ignore[index]
            return super().connect_ex(address)

        def sendto(self, data: bytes, *args: object) -> int:  # noqa: D102
            if self.family in internet:
                check_host(args[-1][0], "send to")  # type: ignore[index]
            return super().sendto(data, *args)

    def guarded_getaddrinfo(host: object, *args: object, **kwargs: object):  # noqa: ANN202
        if host is not None:
            check_host(host, "resolve")
        return real_getaddrinfo(host, *args, **kwargs)

    def guarded_create_connection(address: tuple[str, int], *args: object, **kwargs: object):  # noqa: ANN202
        check_host(address[0], "connect to")
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(socket, "socket", GuardedSocket)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", guarded_create_connection)


@pytest.fixture
def samples_dir() -> Path:
    """The sample packages the product ships (resources/samples)."""
    from repo_support import SAMPLES

    return SAMPLES


class FakeClock:
    """A settable UTC clock for lock-out, review clock and audit tests."""

    def __init__(self, start: "dt.datetime | None" = None) -> None:
        import datetime as dt

        self.now = start or dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC)

    def __call__(self):  # noqa: ANN204
        return self.now

    def advance(self, **delta: float) -> None:
        import datetime as dt

        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def ctx(data_dir: Path, clock: FakeClock):  # noqa: ANN201
    from desktop_app.services.context import open_data_folder

    context = open_data_folder(data_dir, clock=clock)
    yield context
    context.close()


PASSWORD = "correct horse battery staple 7"


@pytest.fixture
def people(ctx):  # noqa: ANN001, ANN201
    """An admin, two reviewers and two supervisors, signed in."""
    from desktop_app.services.users import UserService
    from team_support import add_team

    admin = add_team(ctx)
    users = UserService(ctx)
    signed = {name: users.authenticate(name, PASSWORD) for name in ("rev", "rev2", "sup", "sup2")}
    signed["admin"] = admin
    return signed
