"""Sample letter data and helpers shared by the letters tests."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12

from repo_support import require_tools, run_checker  # noqa: F401  (run_checker re-exported for the letters tests)
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
from desktop_app.letters.pki import DemoPki, issue_certificate, issue_crl, load_authority, write_crl, write_pkcs12

UNICODE_NAME = "Zoë Ångström-Łukasiewicz 李雷"
PASSPHRASE = "clearance-demo"
DISCLAIMER = (
    "This letter records the outcome of a voluntary pre-release evaluation. It is not a licence, permit or "
    "preclearance, and it does not authorise the release of the model or relieve the developer of any "
    "obligation under law."
)
REASONS = (
    "With the refusal classifier disabled, the model drafted working exploit code for two of five cyber-range "
    "targets; with it enabled, for none."
)
CATEGORIES = [
    "Cyber offense — exploit development",
    "Safeguard robustness (jailbreaks)",
    "CBRN uplift",
    "Model-weight and infrastructure security",
    "Evaluation integrity (sandbagging, deception)",
]


def _hex(seed: int) -> str:
    return f"{seed:02x}" * 32


def make_content(**changes: Any) -> LetterContent:
    """A complete clearance letter; keyword arguments replace fields before it is checked."""
    fields: dict[str, Any] = dict(
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
        signatory=Signatory(
            UNICODE_NAME, "Supervisory Evaluator, Cyber Offense Division", datetime(2026, 3, 14, 15, 4, 5, tzinfo=UTC)
        ),
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
        reasons=(REASONS,),
    )
    return LetterContent(**(fields | changes))


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


def pdftotext(pdf: bytes, tmp_path: Path, *, layout: bool = False) -> str:
    """The letter's text: in content order by default, or as laid out on the page."""
    require_tools("pdftotext")
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    mode = "-layout" if layout else "-raw"
    return subprocess.run(["pdftotext", mode, str(path), "-"], check=True, capture_output=True, text=True).stdout


def issue_signer(pki: DemoPki, folder: Path, name: str, **options: Any) -> Path:
    """A PKCS#12 for a fresh EC key certified by the demo issuing CA (`options` go to issue_certificate)."""
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = load_authority(pki.intermediate_cert, pki.intermediate_key)
    certificate = issue_certificate(issuer, key.public_key(), name, **options)
    path = folder / f"{name.replace(' ', '-')}.p12"
    chain = [issuer.certificate, x509.load_pem_x509_certificate(pki.root_cert.read_bytes())]
    write_pkcs12(path, key, certificate, chain, PASSPHRASE)
    return path


def revoke(pki: DemoPki, p12: Path, folder: Path) -> Path:
    """A new issuing-CA CRL (number 2) that lists the certificate in `p12`."""
    _, certificate, _ = pkcs12.load_key_and_certificates(p12.read_bytes(), PASSPHRASE.encode())
    assert certificate is not None
    crl = issue_crl(load_authority(pki.intermediate_cert, pki.intermediate_key), [certificate], number=2)
    path = folder / "intermediate-revoking.crl.pem"
    write_crl(crl, path)
    return path
