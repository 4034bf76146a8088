"""Rendered letters carry every field, read back with poppler's pdftotext as a reader would."""

from __future__ import annotations

import pickle
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
from cryptography import x509
from PIL import Image

from repo_support import require_tools

from desktop_app.domain.errors import InputRejected
from desktop_app.domain.types import Decision, LetterKind, Severity
from desktop_app.letters.content import DEMO_MARK
from desktop_app.letters.render import RenderedLetter, render_letter
from desktop_app.letters.scan import read_codes
from desktop_app.letters.seal import parse, seal_letter, signature_holds
from desktop_app.letters.signing import SessionSigner
from desktop_app.letters.verify import letter_number

from .samples import DISCLAIMER, UNICODE_NAME, findings_appendix, make_content, pdftotext


@pytest.fixture(scope="module")
def clearance() -> RenderedLetter:
    return render_letter(make_content(findings=findings_appendix(40)))


def _pages(pdf: bytes, tmp_path: Path, *, layout: bool = False) -> list[str]:
    return pdftotext(pdf, tmp_path, layout=layout).split("\f")[:-1]


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_every_field_is_printed(clearance: RenderedLetter, tmp_path: Path) -> None:
    content = make_content(findings=findings_appendix(40))
    text = _flat(pdftotext(clearance.pdf, tmp_path))
    expected = [
        content.agency_name,
        "Pre-Release Security Evaluation — Clearance Letter",
        "Letter number",
        "CL-2026-0042",
        "March 14, 2026",
        "CUI",
        "Attention: Priya Raman",
        "Northwind Intelligence Labs, Inc.",
        "To Northwind Intelligence Labs, Inc.:",
        "1200 Harbor Boulevard, Suite 400",
        "Redwood City, CA 94063",
        "Subject: Pre-release security evaluation of Northwind Orca 3.1",
        "Northwind Orca",
        "3.1.0-rc2",
        content.model.manifest_sha256,
        "Outcome: CLEARED WITH CONDITIONS",
        "The developer keeps the exploit-generation refusal classifier enabled",
        "Submission received February 20, 2026",
        "Decision date March 14, 2026",
        "22 calendar days",
        "Critical High Medium Low Informational Total",
        "0 1 2 4 3 10",
        _flat(DISCLAIMER),
        "It is not a licence, permit or preclearance",
        UNICODE_NAME,
        "Supervisory Evaluator, Cyber Offense Division",
        "Signed: 2026-03-14 15:04:05 UTC",
        "Meaning of signature: Issued — outcome of pre-release security evaluation: cleared with conditions",
        "The agency's reasons",
        "two of five cyber-range targets",
        "Audit-chain head at issuance",
        content.audit_head,
        content.data_digest(),
        "Appendix A — Findings (40)",
        "F-40",
    ]
    missing = [item for item in expected if item not in text]
    assert not missing
    for artifact in content.model.artifacts:
        assert artifact.path in text and f"{artifact.size_bytes:,}" in text
        assert artifact.sha256 in text
    assert "1. The developer keeps" in text and "2. The developer reports" in text


def test_every_page_has_marking_number_page_of_and_demo_banner(clearance: RenderedLetter, tmp_path: Path) -> None:
    pages = _pages(clearance.pdf, tmp_path, layout=True)
    assert len(pages) == clearance.page_count >= 3
    for index, page in enumerate(pages, start=1):
        lines = [line.strip() for line in page.splitlines() if line.strip()]
        assert lines[0] == "CUI" and lines[-1] == "CUI", f"page {index} lacks the top or bottom banner"
        assert page.count(DEMO_MARK) == 2, f"page {index} lacks the demo marking"
        assert "Letter CL-2026-0042" in page
        assert re.search(rf"Page {index} of {len(pages)}\b", page)


def test_official_letter_has_no_demo_marking(tmp_path: Path) -> None:
    text = pdftotext(render_letter(make_content(demo=False)).pdf, tmp_path)
    assert "DEMO" not in text


def test_refusal_and_information_request_letters_use_the_same_machinery(tmp_path: Path) -> None:
    refusal = make_content(
        kind=LetterKind.REFUSAL,
        decision=None,
        conditions=(),
        reasons=(),
        body=("The manifest does not list the SHA-256 of each weight shard.",),
    )
    request = make_content(
        kind=LetterKind.INFORMATION_REQUEST,
        decision=None,
        conditions=(),
        reasons=(),
        body=("Full transcripts of the cyber-range runs.", "The red-team scope statement."),
        paused_on=date(2026, 3, 10),
        respond_by=date(2026, 3, 20),
    )
    refusal_text = _flat(pdftotext(render_letter(refusal).pdf, tmp_path))
    request_text = _flat(pdftotext(render_letter(request).pdf, tmp_path))
    assert "Notice of Refusal to Accept a Submission" in refusal_text
    assert "2. Reasons the submission was not accepted 1. The manifest does not list" in refusal_text
    assert "Findings summary" not in refusal_text and "Notice date March 14, 2026" in refusal_text
    assert "Meaning of signature: Issued — notice of refusal to accept a submission" in refusal_text
    assert "Meaning of signature: Issued — request for additional information" in request_text
    assert "Request for Additional Information" in request_text
    assert "1. Full transcripts of the cyber-range runs. 2. The red-team scope statement." in request_text
    assert "The review clock has been paused since March 10, 2026, when the agency recorded this request" in request_text
    assert "Response due by March 20, 2026" in request_text
    for text in (refusal_text, request_text):
        assert "Outcome:" not in text and UNICODE_NAME in text


@pytest.mark.parametrize("decision", [Decision.CLEARED, Decision.NOT_CLEARED])
def test_decision_in_plain_words(decision: Decision, tmp_path: Path) -> None:
    text = _flat(pdftotext(render_letter(make_content(decision=decision, conditions=())).pdf, tmp_path))
    assert f"Outcome: {decision.label.upper()}" in text
    assert "Conditions of this outcome" not in text


def test_cjk_name_is_set_in_an_embedded_font(clearance: RenderedLetter, tmp_path: Path) -> None:
    path = tmp_path / "letter.pdf"
    path.write_bytes(clearance.pdf)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = [line for line in fonts.splitlines() if "+" in line]
    assert {"DejaVuSans", "DejaVuSans-Bold", "DejaVuSansMono", "DroidSansFallback"} <= {
        row.split()[0].split("+", 1)[1] for row in rows
    }
    assert all(" yes yes " in row for row in rows), "every font is embedded as a subset"


def test_metadata_names_the_letter(clearance: RenderedLetter) -> None:
    assert letter_number(clearance.pdf) == "CL-2026-0042"
    assert make_content(findings=findings_appendix(40)).qr_payload.encode() in clearance.pdf


def test_signature_box_is_blank_space_on_a_page_before_the_appendix(clearance: RenderedLetter) -> None:
    box = clearance.signature_box
    assert 0 <= box.page_index < clearance.page_count
    assert 60 <= box.x1 < box.x2 <= 552 and 72 <= box.y1 < box.y2 <= 740
    assert (box.x2 - box.x1, box.y2 - box.y1) == (252, 84)


def test_findings_summary_counts_follow_the_content(tmp_path: Path) -> None:
    content = make_content(findings_summary={Severity.CRITICAL: 3, Severity.INFORMATIONAL: 12})
    text = _flat(pdftotext(render_letter(content).pdf, tmp_path))
    assert "3 0 0 0 12 15" in text


def test_long_appendix_paginates_with_repeated_header(tmp_path: Path) -> None:
    rendered = render_letter(make_content(findings=findings_appendix(300)))
    pages = _pages(rendered.pdf, tmp_path)
    appendix_pages = [page for page in pages if "F-" in page]
    assert len(appendix_pages) > 10
    assert all("Title" in page and "Severity" in page for page in appendix_pages)
    assert "F-300" in pages[-1]


def test_agency_logo_is_drawn_and_a_bad_one_is_named(tmp_path: Path) -> None:
    logo = tmp_path / "seal.png"
    Image.new("RGB", (120, 120), (31, 56, 100)).save(logo)
    with_logo = render_letter(make_content(agency_logo=logo))
    assert b"/Subtype /Image" in with_logo.pdf
    with pytest.raises(InputRejected, match="agency logo"):
        render_letter(make_content(agency_logo=b"not an image"))
    with pytest.raises(InputRejected, match="cannot read"):
        make_content(agency_logo=tmp_path / "missing.png")


def test_content_and_rendered_letter_cross_process_boundaries(clearance: RenderedLetter) -> None:
    """The GUI renders long letters in a worker process (reportlab holds the GIL): both must pickle."""
    content = make_content(findings=findings_appendix(40))
    assert pickle.loads(pickle.dumps(content)).data_digest() == content.data_digest()
    assert pickle.loads(pickle.dumps(clearance)) == clearance


def test_signed_qr_code_scans_from_a_150_dpi_render(supervisor: SessionSigner, tmp_path: Path) -> None:
    """The seal of an RSA-3072 signer (the largest code) decodes from `pdftoppm -r 150`, signature intact."""
    require_tools("pdftoppm")
    content = make_content(findings=findings_appendix(40))
    seal = seal_letter(content, "CD-2026-0042", supervisor)
    letter = render_letter(content, seal.text())
    path = tmp_path / "letter.pdf"
    path.write_bytes(letter.pdf)
    page = str(letter.signature_box.page_index + 1)
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", "-f", page, "-l", page, str(path), str(tmp_path / "page")], check=True
    )
    (image,) = tmp_path.glob("page*.png")
    (decoded,) = read_codes(image)
    assert decoded == seal.text()
    fields = parse(decoded).fields
    assert (fields.number, fields.reference, fields.data_digest) == (content.number, "CD-2026-0042",
                                                                    content.data_digest())
    certificate = x509.load_der_x509_certificate(supervisor.certificate.dump())
    assert signature_holds(parse(decoded), certificate)
