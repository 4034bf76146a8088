"""What the suite needs from the repository itself: the shipped samples and the independent checker.

Nothing here looks outside the clone: a user who clones the project gets the same proof CI gets.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "resources" / "samples"
INDEPENDENT_CHECKER = ROOT / "scripts" / "verify-letter-independently.sh"


def require_tools(*names: str) -> None:
    """Stop the test loudly (never skip) when a system tool the suite needs is missing."""
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed: run `bash scripts/test.sh`, which installs them", pytrace=False)


def pdf_text(pdf: bytes) -> str:
    """The text of a PDF through pypdf, for tests where poppler is not the point; pages end in a form feed."""
    from pypdf import PdfReader

    return "".join(page.extract_text() + "\f" for page in PdfReader(io.BytesIO(pdf)).pages)


def run_checker(pdf_path: Path, root: Path, *crls: Path) -> subprocess.CompletedProcess[str]:
    """poppler's pdfsig and pyHanko, neither going through our code, with only `root` trusted."""
    require_tools("pdfsig", "certutil", "crlutil")
    env = {"PATH": "/usr/bin:/bin", "PY": sys.executable, "HOME": str(pdf_path.parent)}
    return subprocess.run(["bash", str(INDEPENDENT_CHECKER), str(pdf_path), str(root), *map(str, crls)],
                          capture_output=True, text=True, env=env, timeout=120)


def start_checker(pdf_path: Path, root: Path, home: Path) -> subprocess.Popen[str]:
    """The same check, started in the background so several letters are checked at once."""
    require_tools("pdfsig", "certutil", "crlutil")
    env = {"PATH": "/usr/bin:/bin", "PY": sys.executable, "HOME": str(home)}
    return subprocess.Popen(["bash", str(INDEPENDENT_CHECKER), str(pdf_path), str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
