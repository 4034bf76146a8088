"""The one-folder PyInstaller bundle: built by scripts/build-bundle.sh, then run as a user would.

Marked slow (about a minute to build here); .ci/run runs it with the rest of the suite.
The bundle's demo, smoke test, backup and restore also run under strace when it is
installed, so the shipped program, not only the source tree, is proven to stay off the network.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import desktop_app

from repo_support import require_tools, run_checker

from .test_no_network import strace_network

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "clearance-demo"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CLEARANCE_DESK_", "PYTHON")) and k not in ("VIRTUAL_ENV",)}
    env["QT_QPA_PLATFORM"] = "offscreen"
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("bundle")
    started = time.monotonic()
    out = subprocess.run(["bash", str(ROOT / "scripts" / "build-bundle.sh")], cwd=ROOT, capture_output=True,
                         text=True, timeout=1200,
                         env={**os.environ, "PYTHON": sys.executable, "DIST": str(work / "dist"),
                              "WORK": str(work / "build")})
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    folder = work / "dist" / f"clearance-desk-{desktop_app.__version__}"
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
    print(f"\nbundle built in {time.monotonic() - started:.0f} s: {folder} ({size / 2**20:.0f} MiB)")
    return folder


@pytest.fixture(scope="module")
def demo_folder(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bundle-data") / "data"
    out, hits = strace_or_run([str(bundle / "clearance-desk"), "--data-dir", str(folder), "demo"],
                              tmp_path_factory.mktemp("trace") / "demo.trace")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "demo data folder ready" in out.stdout
    assert hits == [], "the bundled demo opened Internet sockets:\n" + "\n".join(hits[:20])
    return folder


def strace_or_run(command: list[str], trace: Path) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    require_tools("strace")
    return strace_network(command, trace, env=_env(CLEARANCE_DESK_PASSWORD=DEMO_PASSWORD))


def test_bundle_layout_is_complete_and_lean(bundle: Path) -> None:
    internal = bundle / "_internal"
    assert (bundle / "clearance-desk").is_file()
    qt = internal / "PySide6" / "Qt"
    plugins = {p.name for p in (qt / "plugins" / "platforms").iterdir()}
    assert {"libqxcb.so", "libqoffscreen.so"} <= plugins
    libs = {p.name for p in (qt / "lib").iterdir()}
    assert "libQt6Pdf.so.6" in libs
    assert not {name for name in libs if re.search(r"Quick|Qml|WebEngine|3D|VirtualKeyboard|Multimedia", name)}
    assert not (qt / "plugins" / "tls").exists() and not (qt / "plugins" / "networkinformation").exists()
    assert not (qt / "translations").exists()
    assert (internal / "resources" / "fonts" / "DejaVuSans.ttf").is_file()
    assert (internal / "resources" / "samples" / "northwind-orca-3.1" / "manifest.json").is_file()
    versions = internal / "desktop_app" / "storage" / "migrations" / "versions"
    shipped = sorted(p.name for p in versions.glob("*.py") if p.name != "__init__.py")
    source = sorted(p.name for p in (ROOT / "desktop_app/storage/migrations/versions").glob("*.py")
                    if p.name != "__init__.py")
    assert shipped == source
    assert list((internal / "pkcs11").glob("_pkcs11*.so")), "python-pkcs11 (the PKCS#11 signing path) is missing"
    assert list(internal.rglob("zxingcpp*.so")), "zxing-cpp (verify --scan reads QR codes with it) is missing"
    assert list((internal / "PySide6").glob("QtPdf*.so")) and list((internal / "PySide6").glob("QtPdfWidgets*.so"))
    archived = _bundled_modules(bundle / "clearance-desk")
    for module in ("pyhanko.sign.pkcs11", "pkcs11", "desktop_app.services.backup", "desktop_app.ui.admin.backup",
                   "desktop_app.storage.migrations.env", "reportlab.graphics.barcode.qr",
                   "reportlab.graphics.barcode.code128", "sqlalchemy.dialects.sqlite.pysqlite"):
        assert module in archived, f"{module} is not in the bundle"
    for module in ("tkinter", "PySide6.QtNetwork", "alembic.testing", "pytest", "PyInstaller"):
        assert module not in archived, f"{module} should have been left out"
    assert not list(internal.rglob("tkinter")) and not list(internal.rglob("_tkinter*"))
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file() and not p.is_symlink())
    assert size < 260 * 2**20, f"the bundle grew to {size / 2**20:.0f} MiB"


def _bundled_modules(executable: Path) -> set[str]:
    """The Python modules inside the executable's PYZ archive."""
    from PyInstaller.archive.readers import CArchiveReader

    archive = CArchiveReader(str(executable))
    name = next(entry for entry in archive.toc if entry.endswith(".pyz"))
    return set(archive.open_embedded_archive(name).toc)


def test_bundle_version(bundle: Path) -> None:
    out = subprocess.run([str(bundle / "clearance-desk"), "--version"], capture_output=True, text=True, env=_env(),
                         timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == f"Clearance Desk {desktop_app.__version__}"


def test_bundle_smoke_test_and_audit_on_the_demo(bundle: Path, demo_folder: Path, tmp_path: Path) -> None:
    exe = str(bundle / "clearance-desk")
    out, hits = strace_or_run([exe, "--data-dir", str(demo_folder), "--smoke-test", "--user", "reviewer"],
                              tmp_path / "smoke.trace")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "first queue page painted" in out.stdout
    assert hits == [], "the bundled window opened Internet sockets:\n" + "\n".join(hits[:20])
    audit = subprocess.run([exe, "--data-dir", str(demo_folder), "audit", "verify"], capture_output=True, text=True,
                           env=_env(), timeout=120)
    assert audit.returncode == 0 and "audit chain intact" in audit.stdout


def test_bundle_backup_and_restore(bundle: Path, demo_folder: Path, tmp_path: Path) -> None:
    exe = str(bundle / "clearance-desk")
    archive = tmp_path / "bundle-backup.zip"
    out, hits = strace_or_run([exe, "--data-dir", str(demo_folder), "backup", str(archive), "--as", "admin"], tmp_path / "b.trace")
    assert out.returncode == 0 and "backup written" in out.stdout, out.stderr[-3000:]
    restored = tmp_path / "restored"
    out2, hits2 = strace_or_run([exe, "--data-dir", str(restored), "restore", str(archive), "--as", "admin"], tmp_path / "r.trace")
    assert out2.returncode == 0 and "restored" in out2.stdout, out2.stderr[-3000:]
    assert hits == [] and hits2 == []
    audit = subprocess.run([exe, "--data-dir", str(restored), "audit", "verify"], capture_output=True, text=True,
                           env=_env(), timeout=120)
    assert audit.returncode == 0, audit.stderr


def test_bundle_demo_letter_verifies_offline(bundle: Path, demo_folder: Path, tmp_path: Path) -> None:
    exe = str(bundle / "clearance-desk")
    out = subprocess.run([exe, "--data-dir", str(demo_folder), "letters", "export", str(tmp_path / "letters")],
                         capture_output=True, text=True, env=_env(), timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    pdfs = sorted((tmp_path / "letters").glob("*.pdf"))
    assert pdfs, "the bundled demo issued no signed letters"
    root = demo_folder / "demo-pki" / "root-ca.pem"
    assert root.is_file(), "the demo wrote letters but no demo-pki/root-ca.pem trust anchor"
    check = run_checker(pdfs[0], root)
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-3000:]
    assert check.stdout.strip().splitlines()[-1].startswith("PASS")
    inside = subprocess.run([exe, "--data-dir", str(demo_folder), "verify", str(pdfs[0]), "--trust", str(root)],
                            capture_output=True, text=True, env=_env(), timeout=300)
    assert inside.returncode == 0, inside.stdout[-2000:] + inside.stderr[-2000:]
    # the printed letter's QR code, read by the bundled zxing-cpp and Pillow
    require_tools("pdftoppm")
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(pdfs[0]), str(tmp_path / "page")], check=True)
    answers = [subprocess.run([exe, "--data-dir", str(demo_folder), "verify", "--scan", str(page)],
                              capture_output=True, text=True, env=_env(), timeout=300)
               for page in sorted(tmp_path.glob("page*.png"))]
    genuine = [a for a in answers if a.returncode == 0]
    assert len(genuine) == 1, [a.stderr[-500:] for a in answers]
    assert genuine[0].stdout.strip().endswith(f"{pdfs[0].stem}: genuine, still valid")
