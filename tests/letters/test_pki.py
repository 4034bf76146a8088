"""The demo PKI: DEMO in every name, CRL distribution points, signing usages, encrypted keys."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key, pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from desktop_app.letters.pki import DOCUMENT_SIGNING, DemoPki, load_authority
from desktop_app.letters.trust import describe_crl, load_crls

from .samples import PASSPHRASE


def _certificates(pki: DemoPki) -> dict[str, x509.Certificate]:
    return {
        path.name: x509.load_pem_x509_certificate(path.read_bytes())
        for path in (pki.root_cert, pki.intermediate_cert, pki.supervisor_cert)
    }


def test_files_are_written_with_the_fixed_root_name(demo_pki: DemoPki) -> None:
    assert demo_pki.root_cert.name == "root-ca.pem"
    for path in (demo_pki.root_crl_der, demo_pki.intermediate_crl_der, *demo_pki.crls, demo_pki.supervisor_p12):
        assert path.stat().st_size > 0


def test_every_name_says_demo(demo_pki: DemoPki) -> None:
    for certificate in _certificates(demo_pki).values():
        for name in (certificate.subject, certificate.issuer):
            assert "DEMO" in name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


def test_every_issued_certificate_has_a_crl_distribution_point(demo_pki: DemoPki) -> None:
    certificates = _certificates(demo_pki)
    for name in ("intermediate-ca.pem", "supervisor-cert.pem"):
        points = certificates[name].extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        url = points[0].full_name[0].value
        assert url.startswith("http://") and ".invalid/" in url  # reserved domain: never resolvable


def test_supervisor_certificate_is_for_document_signing(demo_pki: DemoPki) -> None:
    certificate = _certificates(demo_pki)["supervisor-cert.pem"]
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    extended = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert DOCUMENT_SIGNING in extended and ExtendedKeyUsageOID.EMAIL_PROTECTION in extended


def test_keys_are_encrypted_under_the_passphrase(demo_pki: DemoPki) -> None:
    with pytest.raises((TypeError, ValueError)):
        load_pem_private_key(demo_pki.intermediate_key.read_bytes(), None)
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(demo_pki.supervisor_p12.read_bytes(), b"not-the-passphrase")
    key, certificate, chain = pkcs12.load_key_and_certificates(
        demo_pki.supervisor_p12.read_bytes(), PASSPHRASE.encode()
    )
    assert key is not None and certificate is not None and len(chain) == 2
    assert load_authority(demo_pki.intermediate_cert, demo_pki.intermediate_key).certificate.subject == chain[0].subject


def test_crls_are_current_and_empty_in_pem_and_der(demo_pki: DemoPki) -> None:
    for path in (*demo_pki.crls, demo_pki.root_crl_der, demo_pki.intermediate_crl_der):
        (crl,) = load_crls(path)
        info = describe_crl(crl)
        assert "DEMO" in info.issuer and info.revoked_serials == ()
        assert info.next_update is not None and info.next_update > info.this_update
