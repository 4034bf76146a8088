"""Render + sign + self-verify one letter, against a floor measured in the same run.

The floor is what the libraries cost with no care taken: a bare reportlab page of the
same text, signed by pyHanko with default settings and its stock PKCS#12 signer (kept
for the session, as ours is). The letter must stay within 1.5x of the floor and under
150 ms. Both use the demo PKI's RSA-3072 supervisor key, made in a temporary folder.

    python benchmarks/bench_letter.py [--rounds N]

Exit status 0 when both targets are met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from reportlab.lib.pagesizes import LETTER
from reportlab.pdfgen.canvas import Canvas

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
from desktop_app.letters.pki import DEMO_PASSPHRASE, create_demo_pki
from desktop_app.letters.render import render_letter
from desktop_app.letters.seal import seal_letter
from desktop_app.letters.signing import Pkcs12Source, open_signer, sign_letter
from desktop_app.letters.trust import TrustConfig
from desktop_app.letters.verify import verify_signed_pdf

TARGET_RATIO = 1.5
TARGET_MS = 150.0


def sample_letter() -> LetterContent:
    findings = tuple(
        FindingEntry(
            f"F-{i}",
            f"Multi-turn request yields exploit code for bug class {i}",
            "Cyber offense",
            list(Severity)[i % 5],
            list(FindingStatus)[i % 5],
        )
        for i in range(1, 13)
    )
    return LetterContent(
        kind=LetterKind.CLEARANCE,
        number="CL-2026-0001",
        issued_on=date(2026, 3, 14),
        agency_name="Office of Frontier Model Security Evaluation",
        handling_marking="CUI",
        addressee=Addressee("Northwind Intelligence Labs, Inc.", "Priya Raman", ("1200 Harbor Boulevard",)),
        subject="Pre-release security evaluation of Northwind Orca 3.1",
        model=ModelIdentity(
            "Northwind Orca",
            "3.1.0",
            "ab" * 32,
            tuple(Artifact(f"evals/run-{i}.json", "eval-report", f"{i:02x}" * 32, 1000 * i) for i in range(1, 5)),
        ),
        review_period=ReviewPeriod(date(2026, 2, 20), date(2026, 3, 14)),
        signatory=Signatory("Zoë Ångström-Łukasiewicz 李雷", "Supervisory Evaluator", datetime.now(UTC)),
        audit_head="cd" * 32,
        disclaimer="This letter records the outcome of a voluntary evaluation; it is not a licence or permit.",
        decision=Decision.CLEARED_WITH_CONDITIONS,
        conditions=("Keep the refusal classifier enabled.", "Report restored exploit capability within 72 hours."),
        findings_summary={Severity.HIGH: 1, Severity.MEDIUM: 2},
        findings=findings,
        demo=True,
        reasons=("Exploit drafting stops with the refusal classifier enabled; it resumes without it.",),
    )


def bare_page(lines: list[str]) -> bytes:
    """The floor's document: the same text, drawn line by line in a standard font."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=LETTER)
    y = 740.0
    for line in lines:
        if y < 60:
            canvas.showPage()
            y = 740.0
        canvas.setFont("Helvetica", 9)
        canvas.drawString(60, y, line.encode("latin-1", "replace").decode("latin-1"))
        y -= 12
    canvas.save()
    return buffer.getvalue()


def letter_lines(content: LetterContent) -> list[str]:
    findings = [f"{f.number} {f.title} {f.category} {f.severity} {f.status}" for f in content.findings]
    artifacts = [f"{a.path} {a.kind} {a.size_bytes} {a.sha256}" for a in content.model.artifacts]
    return [
        content.agency_name,
        content.number,
        str(content.issued_on),
        content.addressee.contact_name,
        content.addressee.developer,
        content.subject,
        content.model.name,
        content.model.manifest_sha256,
        *artifacts,
        *content.conditions,
        content.disclaimer,
        content.signatory.name,
        content.audit_head,
        *findings,
    ]


def median_ms(action: Callable[[], object], rounds: int) -> float:
    action()  # warm-up: fonts registered, modules imported
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    rounds = parser.parse_args().rounds

    with tempfile.TemporaryDirectory() as folder:
        pki = create_demo_pki(Path(folder))
        trust = TrustConfig.load([pki.root_cert], pki.crls)
        session_signer = open_signer(Pkcs12Source(pki.supervisor_p12), DEMO_PASSPHRASE)
        stock_signer = signers.SimpleSigner.load_pkcs12(str(pki.supervisor_p12), passphrase=DEMO_PASSPHRASE.encode())
        content = sample_letter()
        lines = letter_lines(content)

        def ours() -> None:
            seal = seal_letter(content, "CD-2026-0042", session_signer)  # the signed QR code, as issuing makes it
            signed = sign_letter(render_letter(content, seal.text()), session_signer, trust)
            if not all(check.ok for check in verify_signed_pdf(signed, trust)):
                raise SystemExit("self-verification failed")

        def floor() -> None:
            writer = IncrementalPdfFileWriter(io.BytesIO(bare_page(lines)))
            signers.sign_pdf(writer, signers.PdfSignatureMetadata(field_name="Signature1"), signer=stock_signer)

        cold_start = time.perf_counter()
        ours()
        cold_ms = (time.perf_counter() - cold_start) * 1000
        ours_ms = median_ms(ours, rounds)
        floor_ms = median_ms(floor, rounds)

    ratio = ours_ms / floor_ms
    print(f"letter render+sign+verify: {ours_ms:7.1f} ms (median of {rounds}; first call {cold_ms:.0f} ms)")
    print(f"floor  bare page+stock sign: {floor_ms:5.1f} ms")
    verdict = "<" if ours_ms < TARGET_MS else ">="
    print(f"ratio {ratio:.2f}x (target <= {TARGET_RATIO}x); letter {verdict} {TARGET_MS:.0f} ms")
    return 0 if ratio <= TARGET_RATIO and ours_ms < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
