"""Verification failures, each on a file this test tampers with itself.

Every tampered variant must fail at least the named check, and never raise. The ones a
reader would most plausibly meet are also run through the independent checker.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from desktop_app.domain.errors import CheckResult
from desktop_app.letters.pki import DemoPki
from desktop_app.letters.render import render_letter
from desktop_app.letters.signing import Pkcs12Source, open_signer, sign_letter
from desktop_app.letters.trust import TrustConfig
from desktop_app.letters.verify import (
    CHECKS,
    INTACT,
    NOT_REVOKED,
    PRESENT,
    TRUSTED,
    WHOLE_FILE,
    letter_number,
    verify_signed_pdf,
)

from .samples import PASSPHRASE, issue_signer, make_content, revoke, run_checker


def _failed(results: list[CheckResult]) -> dict[str, str]:
    assert [result.name for result in results] == list(CHECKS)
    return {result.name: result.detail for result in results if not result.ok}


def _checker_fails(pdf: bytes, root: Path, tmp_path: Path, *crls: Path) -> None:
    path = tmp_path / "tampered.pdf"
    path.write_bytes(pdf)
    result = run_checker(path, root, *crls)
    assert result.returncode != 0 and result.stdout.strip().splitlines()[-1].startswith("FAIL")


def _signed_offset(pdf: bytes) -> int:
    """A byte inside the first compressed stream: covered by the signature, away from the xref."""
    return pdf.index(b"stream", pdf.index(b"/Filter")) + 40


def _signed_offsets(pdf: bytes, count: int) -> list[int]:
    """`count` offsets spread evenly over both signed ranges (everything but the signature value)."""
    gap_start = pdf.index(b"/Contents <") + len(b"/Contents ")
    gap_end = pdf.index(b">", gap_start) + 1
    signed = [*range(0, gap_start), *range(gap_end, len(pdf))]
    return [signed[i * (len(signed) - 1) // (count - 1)] for i in range(count)]


def test_changed_signed_byte(signed_letter: bytes, demo_pki: DemoPki, trust: TrustConfig, tmp_path: Path) -> None:
    offset = _signed_offset(signed_letter)
    tampered = signed_letter[:offset] + bytes([signed_letter[offset] ^ 0x01]) + signed_letter[offset + 1 :]
    failed = _failed(verify_signed_pdf(tampered, trust))
    assert "changed after signing" in failed[INTACT]
    _checker_fails(tampered, demo_pki.root_cert, tmp_path)


def test_any_changed_byte_fails_verification(signed_letter: bytes, trust: TrustConfig) -> None:
    for offset in _signed_offsets(signed_letter, 24):
        tampered = signed_letter[:offset] + bytes([signed_letter[offset] ^ 0x20]) + signed_letter[offset + 1 :]
        assert _failed(verify_signed_pdf(tampered, trust)), f"a change at byte {offset} went unnoticed"


def test_changed_metadata_byte(signed_letter: bytes, trust: TrustConfig) -> None:
    tampered = signed_letter.replace(b"CL-2026-0042|sha256:", b"CL-2026-0043|sha256:", 1)
    assert tampered != signed_letter
    assert INTACT in _failed(verify_signed_pdf(tampered, trust))


def test_appended_byte(signed_letter: bytes, demo_pki: DemoPki, trust: TrustConfig, tmp_path: Path) -> None:
    failed = _failed(verify_signed_pdf(signed_letter + b" ", trust))
    assert set(failed) == {WHOLE_FILE} and "1 byte was appended" in failed[WHOLE_FILE]
    _checker_fails(signed_letter + b" ", demo_pki.root_cert, tmp_path)


def test_appended_revision(signed_letter: bytes, trust: TrustConfig) -> None:
    """A well-formed incremental update (new metadata) after the certification signature."""
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_letter))
    writer.root["/Lang"] = generic.TextStringObject("en-US")
    writer.update_root()
    output = io.BytesIO()
    writer.write(output)
    failed = _failed(verify_signed_pdf(output.getvalue(), trust))
    assert WHOLE_FILE in failed and "appended" in failed[WHOLE_FILE]


@pytest.mark.parametrize("cut", [1, 400])
def test_truncated(cut: int, signed_letter: bytes, trust: TrustConfig) -> None:
    failed = _failed(verify_signed_pdf(signed_letter[:-cut], trust))
    assert any("truncated" in detail for detail in failed.values())


def test_altered_signature_container_padding(signed_letter: bytes, trust: TrustConfig) -> None:
    end = signed_letter.index(b">", signed_letter.index(b"/Contents <"))
    tampered = signed_letter[: end - 2] + b"01" + signed_letter[end:]
    assert "signature container was altered" in _failed(verify_signed_pdf(tampered, trust))[INTACT]


def test_signature_hex_case_changed(signed_letter: bytes, trust: TrustConfig) -> None:
    start = signed_letter.index(b"/Contents <") + len(b"/Contents <")
    letter_at = next(i for i in range(start, start + 200) if signed_letter[i : i + 1].isalpha())
    tampered = (
        signed_letter[:letter_at] + signed_letter[letter_at : letter_at + 1].lower() + signed_letter[letter_at + 1 :]
    )
    assert INTACT in _failed(verify_signed_pdf(tampered, trust))


def test_forged_with_a_look_alike_ca(
    forged_pki: DemoPki, demo_pki: DemoPki, trust: TrustConfig, tmp_path: Path
) -> None:
    forged_trust = TrustConfig.load([forged_pki.root_cert], forged_pki.crls)
    with open_signer(Pkcs12Source(forged_pki.supervisor_p12), PASSPHRASE) as forger:
        forged = sign_letter(render_letter(make_content()), forger, forged_trust)
    assert all(result.ok for result in verify_signed_pdf(forged, forged_trust))
    failed = _failed(verify_signed_pdf(forged, trust))
    assert set(failed) == {TRUSTED}
    _checker_fails(forged, demo_pki.root_cert, tmp_path)


def test_revoked_signer(demo_pki: DemoPki, trust: TrustConfig, tmp_path: Path) -> None:
    p12 = issue_signer(demo_pki, tmp_path, "DEMO Later Revoked Signer")
    with open_signer(Pkcs12Source(p12), PASSPHRASE) as signer:
        signed = sign_letter(render_letter(make_content()), signer, trust)
    assert all(result.ok for result in verify_signed_pdf(signed, trust))
    revoking_crl = revoke(demo_pki, p12, tmp_path)
    failed = _failed(verify_signed_pdf(signed, [demo_pki.root_cert], [demo_pki.root_crl_pem, revoking_crl]))
    assert "the signer's certificate was revoked on" in failed[NOT_REVOKED]
    assert TRUSTED in failed
    _checker_fails(signed, demo_pki.root_cert, tmp_path, revoking_crl)


def test_unsigned_letter(trust: TrustConfig) -> None:
    pdf = render_letter(make_content()).pdf
    failed = _failed(verify_signed_pdf(pdf, trust))
    assert failed[PRESENT] == "the file has no signature" and set(failed) == set(CHECKS)
    assert letter_number(pdf) == "CL-2026-0042"


@pytest.mark.parametrize(
    "data",
    [b"", b"%PDF-1.7\n%%EOF\n", os.urandom(4096) + b"%%EOF", b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n%%EOF"],
    ids=["empty", "header-only", "random", "broken-objects"],
)
def test_malformed_input_fails_without_raising(data: bytes, trust: TrustConfig) -> None:
    failed = _failed(verify_signed_pdf(data, trust))
    assert set(failed) == set(CHECKS)
    assert letter_number(data) is None


def test_half_a_letter_fails_without_raising(signed_letter: bytes, trust: TrustConfig) -> None:
    half = signed_letter[: len(signed_letter) // 2] + b"\n%%EOF\n"
    assert _failed(verify_signed_pdf(half, trust))
