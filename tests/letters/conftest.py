"""Fixtures for letters: sample letter content and one demo PKI per test session.

Key generation is the slow part (RSA 3072), so the demo PKI is made once; tests that
need a signer of their own (expired, revoked, forged) issue it from the same CA with a
fast EC key.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from desktop_app.domain.types import Decision, FindingStatus, LetterKind, Severity
from desktop_app.letters.content import (
    Addressee,
    Artifact,
    FindingEntry,
    LetterContent,
    ModelIdentity,
    ReviewPeriod,
    Signatory,
)
from desktop_app.letters.pki import DemoPki, create_demo_pki
from desktop_app.letters.signing import Pkcs12Source, SessionSigner, TrustConfig, open_signer

SHARED_TOOLS = Path(__file__).resolve().parents[3] / "shared" / "tools"
UNICODE_NAME = "Zoë Ångström-Łukasiewicz 李雷"
PASSPHRASE = "clearance-demo"
DISCLAIMER = (
    "This letter records the outcome of a voluntary pre-release evaluation. It is not a licence, permit or "
    "preclearance, and it does not authorise the release of the model or relieve the developer of any "
    "obligation under law."
)
CATEGORIES = ["Cyber offense — exploit development", "Safeguard robustness (jailbreaks)", "CBRN uplift",
              "Model-weight and infrastructure security", "Evaluation integrity (sandbagging, deception)"]


def _hex(seed: int) -> str:
    return f"{seed:02x}" * 32


def make_content(**changes: Any) -> LetterContent:
    """A complete clearance letter; keyword arguments replace fields."""
    base = LetterContent(
        kind=LetterKind.CLEARANCE,
        number="CL-2026-0042",
        issued_on=date(2026, 3, 14),
        agency_name="Office of Frontier Model Security Evaluation",
        handling_marking="CUI",
        addressee=Addressee(
            developer="Northwind Intelligence Labs, Inc.",
            contact_name="Priya Raman",
            address_lines=("1200 Harbor Boulevard, Suite 400", "Redwood City, CA 94063"),
        ),
        subject="Pre-release security evaluation of Northwind Orca 3.1",
        model=ModelIdentity(
            name="Northwind Orca",
            version="3.1.0-rc2",
            manifest_sha256=_hex(0xAB),
            artifacts=(
                Artifact("model-card.md", "model-card", _hex(0x11), 18_204),
                Artifact("weights/orca-3.1-sample-shard.bin", "weights", _hex(0x22), 4_294_967_296),
                Artifact("evals/cyber-range-v4.json", "eval-report", _hex(0x33), 512_775),
                Artifact("reports/red-team-summary.txt", "red-team-report", _hex(0x44), 40_960),
            ),
        ),
        review_period=ReviewPeriod(date(2026, 2, 20), date(2026, 3, 14)),
        signatory=Signatory(UNICODE_NAME, "Supervisory Evaluator, Cyber Offense Division",
                            datetime(2026, 3, 14, 15, 4, 5, tzinfo=UTC)),
        audit_head=_hex(0xCD),
        disclaimer=DISCLAIMER,
        decision=Decision.CLEARED_WITH_CONDITIONS,
        conditions=(
            "The developer keeps the exploit-generation refusal classifier enabled for all public endpoints.",
            "The developer reports to the agency within 72 hours any jailbreak that restores exploit-development "
            "capability, with the prompts used.",
        ),
        findings_summary={Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 4, Severity.INFORMATIONAL: 3},
        demo=True,
    )
    return dataclasses.replace(base, **changes)


def findings_appendix(count: int) -> tuple[FindingEntry, ...]:
    severities = list(Severity)
    statuses = list(FindingStatus)
    return tuple(
        FindingEntry(
            number=f"F-{i}",
            title=f"Finding {i}: model drafts a working proof-of-concept for a known memory-safety bug class "
                  f"when the request is split across {i % 5 + 2} turns",
            category=CATEGORIES[i % len(CATEGORIES)],
            severity=severities[i % len(severities)],
            status=statuses[i % len(statuses)],
        )
        for i in range(1, count + 1)
    )


@pytest.fixture
def content_factory() -> Callable[..., LetterContent]:
    return make_content


@pytest.fixture(scope="session")
def demo_pki(tmp_path_factory: pytest.TempPathFactory) -> DemoPki:
    return create_demo_pki(tmp_path_factory.mktemp("demo-pki"))


@pytest.fixture(scope="session")
def trust(demo_pki: DemoPki) -> TrustConfig:
    return TrustConfig.load(roots=[demo_pki.root_cert], crls=demo_pki.crls)


@pytest.fixture(scope="session")
def supervisor(demo_pki: DemoPki) -> SessionSigner:
    return open_signer(Pkcs12Source(demo_pki.supervisor_p12), PASSPHRASE)


def pdftotext(pdf: bytes, tmp_path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is required")
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def run_checker(pdf_path: Path, root: Path, *crls: Path) -> subprocess.CompletedProcess[str]:
    """The independent checker shared by the project: poppler's pdfsig and pyHanko."""
    script = SHARED_TOOLS / "verify_signed_pdf.sh"
    if not script.is_file():
        pytest.skip(f"independent checker not available at {script}")
    env = {"PATH": "/usr/bin:/bin", "PY": sys.executable, "HOME": str(pdf_path.parent)}
    return subprocess.run(["bash", str(script), str(pdf_path), str(root), *map(str, crls)],
                          capture_output=True, text=True, env=env, timeout=60)
