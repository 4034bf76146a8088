"""Signing: a certification signature the independent checker accepts, and refusals before signing."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm

from desktop_app.domain.errors import InputRejected
from desktop_app.letters.pki import CertificateUsage, DemoPki
from desktop_app.letters.render import RenderedLetter, render_letter
from desktop_app.letters.signing import (
    Pkcs12Source,
    SessionSigner,
    check_certificate_matches_key,
    stamp_safe,
    open_signer,
    sign_letter,
    stamp_text,
)
from desktop_app.letters.trust import TrustConfig, fingerprint
from desktop_app.letters.verify import CHECKS, letter_number, verify_signed_pdf

from .samples import PASSPHRASE, issue_signer, make_content, revoke, run_checker


@pytest.fixture(scope="module")
def letter() -> RenderedLetter:
    return render_letter(make_content())


def test_signed_letter_passes_the_independent_checker(signed_letter: bytes, demo_pki: DemoPki, tmp_path: Path) -> None:
    path = tmp_path / "CL-2026-0042.pdf"
    path.write_bytes(signed_letter)
    for crls in ((), demo_pki.crls):
        result = run_checker(path, demo_pki.root_cert, *crls)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip().splitlines()[-1].startswith("PASS")
        assert "Total document signed" in result.stderr


def test_signed_letter_passes_every_own_check(signed_letter: bytes, trust: TrustConfig) -> None:
    results = verify_signed_pdf(signed_letter, trust)
    assert [result.name for result in results] == list(CHECKS)
    assert all(result.ok for result in results), [result for result in results if not result.ok]
    assert results[0].extra["signer"] == "DEMO Supervisor Dana Whitfield"
    assert letter_number(signed_letter) == "CL-2026-0042"


def test_certification_forbids_changes_and_embeds_what_offline_validation_needs(signed_letter: bytes) -> None:
    reader = PdfFileReader(io.BytesIO(signed_letter))
    (signature,) = reader.embedded_signatures
    assert signature.docmdp_level is MDPPerm.NO_CHANGES
    assert signature.sig_object["/Reason"] == "Issued — outcome of pre-release security evaluation: cleared with conditions"
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert len(signature.other_embedded_certs) >= 1  # the issuing CA travels in the CMS
    dss = reader.root["/DSS"]
    assert len(dss["/Certs"]) >= 2 and len(dss["/CRLs"]) == 2
    assert reader.xrefs.total_revisions == 2  # the DSS is in the signed revision: nothing after the signature


def test_visible_signature_fills_the_reserved_box(
    letter: RenderedLetter, supervisor: SessionSigner, trust: TrustConfig
) -> None:
    reader = PdfFileReader(io.BytesIO(sign_letter(letter, supervisor, trust)))
    (signature,) = reader.embedded_signatures
    widget = signature.sig_field
    box = letter.signature_box
    assert [float(v) for v in widget["/Rect"]] == pytest.approx([box.x1, box.y1, box.x2, box.y2])
    assert widget["/P"] == reader.root["/Pages"]["/Kids"][box.page_index]
    appearance = widget["/AP"]["/N"].data
    assert b"(Digitally signed by)" in appearance


def test_stamp_text_is_winansi_with_name_role_time_and_meaning(letter: RenderedLetter) -> None:
    text = stamp_text(letter)
    text.encode("cp1252")
    assert text.splitlines() == [
        "Digitally signed by",
        "Zoë Ångström-Lukasiewicz (see letter)",
        "Supervisory Evaluator, Cyber Offense Division",
        "2026-03-14 15:04:05 UTC",
        "Issued — outcome of pre-release security evaluation:",
        "cleared with conditions",
    ]


def test_stamp_draws_the_same_dash_as_the_text(
    letter: RenderedLetter, supervisor: SessionSigner, trust: TrustConfig
) -> None:
    """The stamp's font is WinAnsi-encoded, so its meaning line shows "—", as the letter's text does."""
    reader = PdfFileReader(io.BytesIO(sign_letter(letter, supervisor, trust)))
    (signature,) = reader.embedded_signatures
    appearance = signature.sig_field["/AP"]["/N"]
    font = next(iter(appearance["/Resources"]["/Font"].values()))
    assert font["/Encoding"] == "/WinAnsiEncoding"
    assert b"(Issued \x97 outcome of pre-release security evaluation:) Tj" in appearance.data
    first_matrix = appearance.data.split(b" cm")[0].split()[-6:]
    assert float(first_matrix[0]) == 1.0  # the lines fit: pyHanko did not shrink the text to squeeze them in


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Dana Whitfield", ("Dana Whitfield", False)),
        ("José Ñúñez", ("José Ñúñez", False)),
        ("Łucja Dvořák", ("Lucja Dvorák", False)),
        ("李雷", ("", True)),
        ("Ивана Петрова", ("", True)),
    ],
)
def test_stamp_safe_folds_or_reports_loss(name: str, expected: tuple[str, bool]) -> None:
    assert stamp_safe(name) == expected


def test_wrong_passphrase_is_named(demo_pki: DemoPki) -> None:
    with pytest.raises(InputRejected, match=f"^wrong passphrase for {demo_pki.supervisor_p12}$"):
        open_signer(Pkcs12Source(demo_pki.supervisor_p12), "not-the-passphrase")


def test_a_file_that_is_not_pkcs12_is_named(tmp_path: Path) -> None:
    path = tmp_path / "supervisor.p12"
    path.write_bytes(b"-----BEGIN CERTIFICATE-----\n")
    with pytest.raises(InputRejected, match="not a PKCS#12 file"):
        open_signer(Pkcs12Source(path), PASSPHRASE)
    with pytest.raises(InputRejected, match="cannot read"):
        open_signer(Pkcs12Source(tmp_path / "missing.p12"), PASSPHRASE)


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"not_before": _now() - timedelta(days=800), "not_after": _now() - timedelta(days=1)}, "expired on"),
        ({"not_before": _now() + timedelta(days=2)}, "is not valid before"),
        ({"usage": CertificateUsage.ENCRYPTION}, "is not for signatures"),
    ],
    ids=["expired", "not-yet-valid", "wrong-usage"],
)
def test_unfit_certificate_cannot_sign(
    options: dict[str, object],
    message: str,
    letter: RenderedLetter,
    demo_pki: DemoPki,
    trust: TrustConfig,
    tmp_path: Path,
) -> None:
    p12 = issue_signer(demo_pki, tmp_path, "DEMO Unfit Signer", **options)
    with open_signer(Pkcs12Source(p12), PASSPHRASE) as signer, pytest.raises(InputRejected, match=message):
        sign_letter(letter, signer, trust)


def test_revoked_certificate_cannot_sign(letter: RenderedLetter, demo_pki: DemoPki, tmp_path: Path) -> None:
    p12 = issue_signer(demo_pki, tmp_path, "DEMO Revoked Signer")
    trust = TrustConfig.load([demo_pki.root_cert], [demo_pki.root_crl_pem, revoke(demo_pki, p12, tmp_path)])
    with open_signer(Pkcs12Source(p12), PASSPHRASE) as signer, pytest.raises(InputRejected, match="is revoked"):
        sign_letter(letter, signer, trust)


def test_certificate_from_another_ca_cannot_sign(
    letter: RenderedLetter, forged_pki: DemoPki, trust: TrustConfig
) -> None:
    forged = open_signer(Pkcs12Source(forged_pki.supervisor_p12), PASSPHRASE)
    with forged as signer, pytest.raises(InputRejected, match="configured trust anchor"):
        sign_letter(letter, signer, trust)


def test_enrolment_checks_the_certificate_against_the_key(
    supervisor: SessionSigner, demo_pki: DemoPki, forged_pki: DemoPki
) -> None:
    check_certificate_matches_key(demo_pki.supervisor_cert, supervisor)
    with pytest.raises(InputRejected, match="does not belong to this key"):
        check_certificate_matches_key(forged_pki.supervisor_cert, supervisor)
    assert supervisor.fingerprint == fingerprint(supervisor.certificate)
