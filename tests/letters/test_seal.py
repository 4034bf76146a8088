"""The QR code's seal: compact text, strict parsing, a signature only the named certificate's key makes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from cryptography import x509

from desktop_app.letters.pki import DemoPki
from desktop_app.letters.seal import (
    VERSION,
    Seal,
    SealUnreadable,
    b45decode,
    b45encode,
    parse,
    placeholder_seal,
    seal_letter,
    signature_holds,
    signature_size,
)
from desktop_app.letters.signing import Pkcs12Source, SessionSigner, open_signer

from .samples import PASSPHRASE, issue_signer, make_content


def test_base45_matches_rfc_9285() -> None:
    assert b45encode(b"AB") == "BB8"
    assert b45encode(b"Hello!!") == "%69 VD92EX0"
    assert b45encode(b"ietf!") == "QED8WEX0"
    assert b45decode("QED8WEX0") == b"ietf!"
    for bad in ("GGW", "ZZZ", "a", "QED8WEX0Z"):  # out of range, lowercase, dangling character
        with pytest.raises((ValueError, KeyError)):
            b45decode(bad)


def test_seal_round_trips_and_is_only_valid_for_its_key(supervisor: SessionSigner, demo_pki: DemoPki) -> None:
    content = make_content()
    seal = seal_letter(content, "CD-2026-0042", supervisor)
    text = seal.text()
    assert text.startswith(f"CDQ{VERSION}:")
    assert set(text[5:]) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")  # QR alphanumeric mode
    read = parse(text)
    assert read == seal
    assert read.fields.lines()[0] == ("Letter", content.number)
    certificate = x509.load_der_x509_certificate(supervisor.certificate.dump())
    assert signature_holds(read, certificate)
    for change in ({"decision": None}, {"reference": "CD-2026-0043"}, {"data_digest": "00" * 32}):
        assert not signature_holds(dataclasses.replace(read, fields=dataclasses.replace(read.fields, **change)),
                                   certificate)
    other = x509.load_pem_x509_certificate(demo_pki.root_cert.read_bytes())
    assert not signature_holds(read, other)  # another certificate than the one named


def test_an_ecdsa_signer_gives_a_fixed_size_seal(demo_pki: DemoPki, tmp_path: Path) -> None:
    p12 = issue_signer(demo_pki, tmp_path, "DEMO EC Supervisor")
    with open_signer(Pkcs12Source(p12), PASSPHRASE) as signer:
        seal = seal_letter(make_content(), "CD-2026-0042", signer)
        assert len(seal.signature) == 64 == signature_size(signer.certificate.dump())
        certificate = x509.load_der_x509_certificate(signer.certificate.dump())
    assert signature_holds(parse(seal.text()), certificate)
    # a preview's placeholder is laid out like the issued code: the same length of text
    assert len(placeholder_seal(make_content(), "CD-2026-0042", signature_bytes=64).text()) == len(seal.text())


@pytest.mark.parametrize(("text", "message"), [
    ("CDQ9:ABC", "payload version 9; this application reads version 1"),
    ("CDQ0:ABC", "unknown payload version 0"),
    ("CDQ1:" + b45encode(b"\x03CL-"), "damaged"),
    ("CDQ1:lowercase", "damaged"),
    ("hello", "not a Clearance Desk letter code"),
    ("CL-2026-0001|sha256:" + "0" * 64, "CL-2026-0001: an unsigned QR code"),
])
def test_unreadable_codes_say_why_in_one_line(text: str, message: str) -> None:
    with pytest.raises(SealUnreadable, match=message):
        parse(text)


def test_a_seal_without_signature_or_with_a_bad_field_does_not_parse(supervisor: SessionSigner) -> None:
    seal = seal_letter(make_content(), "CD-2026-0042", supervisor)
    body = seal.fields.encoded()
    with pytest.raises(SealUnreadable, match="damaged"):
        parse(f"CDQ{VERSION}:{b45encode(body)}")  # no signature
    with pytest.raises(SealUnreadable, match="damaged"):
        parse(f"CDQ{VERSION}:{b45encode(body.replace(b'CL-', b'XX-', 1) + seal.signature)}")
    assert Seal(seal.fields, seal.signature) == parse(seal.text())
