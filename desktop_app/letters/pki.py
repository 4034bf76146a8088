"""A small certificate authority for the demo and the tests.

The demo must issue letters with a real, checkable signature before an agency has
configured its own PKI, and the tests need signers that are expired, revoked, of the
wrong usage or forged. Everything made here says DEMO in its name, so nobody mistakes
it for an agency credential. CA keys are written encrypted under the demo passphrase
(private keys are never written in the clear).

Every issued certificate carries a CRL distribution point: poppler's `pdfsig -no-ocsp`
reports "Unknown issue with Certificate" for a signer without one. The URL is under the
reserved `.invalid` domain; nothing here or elsewhere ever fetches it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificateIssuerPublicKeyTypes,
)
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEMO_PASSPHRASE = "clearance-demo"
DEMO_ORGANISATION = "DEMO Clearance Desk"
ROOT_NAME = "DEMO Clearance Desk Root CA"
ISSUING_NAME = "DEMO Clearance Desk Issuing CA"
SUPERVISOR_NAME = "DEMO Supervisor Dana Whitfield"
DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
CRL_BASE_URL = "http://pki.clearance-desk.invalid/crl/"

_KEY_BITS = 3072  # what agencies issue today; also what the signing benchmark assumes
_CLOCK_SKEW = timedelta(hours=1)


class CertificateUsage(enum.Enum):
    """What an end-entity certificate is for, as key usage + extended key usage."""

    DOCUMENT_SIGNING = "document-signing"
    #: like a PIV card's key-management certificate: it encrypts and must never sign
    ENCRYPTION = "encryption"


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA certificate with its private key, able to issue certificates and CRLs."""

    certificate: x509.Certificate
    private_key: CertificateIssuerPrivateKeyTypes

    @property
    def crl_url(self) -> str:
        """Where this CA's CRL is said to be published (never fetched)."""
        common_name = self.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        slug = re.sub(r"[^a-z0-9]+", "-", str(common_name).lower()).strip("-")
        return f"{CRL_BASE_URL}{slug}.crl"


@dataclass(frozen=True)
class DemoPki:
    """Where `create_demo_pki` wrote each file; `root_cert` is the trust anchor."""

    folder: Path
    root_cert: Path
    root_key: Path
    intermediate_cert: Path
    intermediate_key: Path
    supervisor_p12: Path
    supervisor_cert: Path
    root_crl_pem: Path
    root_crl_der: Path
    intermediate_crl_pem: Path
    intermediate_crl_der: Path

    @property
    def crls(self) -> tuple[Path, Path]:
        return (self.root_crl_pem, self.intermediate_crl_pem)


def new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, DEMO_ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(*, signature: bool = False, ca: bool = False, encipherment: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signature or ca,
        content_commitment=signature,
        key_encipherment=encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: CertificateIssuerPublicKeyTypes,
    not_before: datetime,
    not_after: datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _issued_by(builder: x509.CertificateBuilder, issuer: CertificateAuthority) -> x509.CertificateBuilder:
    """Extensions every certificate issued by a CA carries: AKI and the CRL distribution point."""
    distribution_point = x509.DistributionPoint(
        full_name=[x509.UniformResourceIdentifier(issuer.crl_url)], relative_name=None, reasons=None, crl_issuer=None
    )
    return builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.private_key.public_key()), critical=False
    ).add_extension(x509.CRLDistributionPoints([distribution_point]), critical=False)


def create_root_ca(common_name: str = ROOT_NAME, *, years: int = 10) -> CertificateAuthority:
    key = new_private_key()
    now = datetime.now(UTC)
    certificate = (
        _builder(
            _name(common_name),
            _name(common_name),
            key.public_key(),
            now - _CLOCK_SKEW,
            now + timedelta(days=365 * years),
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .sign(key, hashes.SHA256())
    )
    return CertificateAuthority(certificate, key)


def create_intermediate_ca(
    issuer: CertificateAuthority, common_name: str = ISSUING_NAME, *, years: int = 5
) -> CertificateAuthority:
    key = new_private_key()
    now = datetime.now(UTC)
    builder = _builder(
        _name(common_name),
        issuer.certificate.subject,
        key.public_key(),
        now - _CLOCK_SKEW,
        now + timedelta(days=365 * years),
    )
    certificate = (
        _issued_by(builder, issuer)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .sign(issuer.private_key, hashes.SHA256())
    )
    return CertificateAuthority(certificate, key)


def issue_certificate(
    issuer: CertificateAuthority,
    public_key: CertificateIssuerPublicKeyTypes,
    common_name: str,
    *,
    usage: CertificateUsage = CertificateUsage.DOCUMENT_SIGNING,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> x509.Certificate:
    """An end-entity certificate for any public key (a p12's, a smart card's, a test's)."""
    not_before = not_before or datetime.now(UTC) - _CLOCK_SKEW
    not_after = not_after or not_before + timedelta(days=2 * 365)
    builder = _issued_by(
        _builder(_name(common_name), issuer.certificate.subject, public_key, not_before, not_after), issuer
    )
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    if usage is CertificateUsage.DOCUMENT_SIGNING:
        builder = builder.add_extension(_key_usage(signature=True), critical=True).add_extension(
            x509.ExtendedKeyUsage([DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
    else:
        builder = builder.add_extension(_key_usage(encipherment=True), critical=True).add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
    return builder.sign(issuer.private_key, hashes.SHA256())


def issue_crl(
    issuer: CertificateAuthority,
    revoked: Iterable[x509.Certificate] = (),
    *,
    number: int = 1,
    valid_for: timedelta = timedelta(days=180),
) -> x509.CertificateRevocationList:
    """A CRL listing `revoked` (revoked as of now, reason key compromise)."""
    now = datetime.now(UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.certificate.subject)
        .last_update(now - timedelta(minutes=1))
        .next_update(now + valid_for)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.private_key.public_key()), critical=False
        )
    )
    for certificate in revoked:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(certificate.serial_number)
            .revocation_date(now - timedelta(seconds=30))
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    return builder.sign(issuer.private_key, hashes.SHA256())


def write_pkcs12(
    path: Path,
    key: pkcs12.PKCS12PrivateKeyTypes,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate],
    passphrase: str,
) -> None:
    friendly_name = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    data = pkcs12.serialize_key_and_certificates(
        str(friendly_name).encode("utf-8"),
        key,
        certificate,
        list(chain),
        serialization.BestAvailableEncryption(passphrase.encode("utf-8")),
    )
    path.write_bytes(data)


def write_authority(authority: CertificateAuthority, cert_path: Path, key_path: Path, passphrase: str) -> None:
    cert_path.write_bytes(authority.certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        authority.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase.encode("utf-8")),
        )
    )


def load_authority(cert_path: Path, key_path: Path, passphrase: str = DEMO_PASSPHRASE) -> CertificateAuthority:
    """A CA written by `create_demo_pki`, to issue more certificates or a new CRL."""
    certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(key_path.read_bytes(), passphrase.encode("utf-8"))
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{key_path}: not an RSA CA key")
    return CertificateAuthority(certificate, key)


def write_crl(crl: x509.CertificateRevocationList, pem_path: Path, der_path: Path | None = None) -> None:
    pem_path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    if der_path is not None:
        der_path.write_bytes(crl.public_bytes(serialization.Encoding.DER))


def create_demo_pki(
    folder: Path, passphrase: str = DEMO_PASSPHRASE, *, supervisor_name: str = SUPERVISOR_NAME
) -> DemoPki:
    """Root CA, issuing CA, one supervisor's PKCS#12 and both CRLs, written to `folder`."""
    if "DEMO" not in supervisor_name:
        raise ValueError("every demo certificate name must contain DEMO")
    folder.mkdir(parents=True, exist_ok=True)
    pki = DemoPki(
        folder=folder,
        root_cert=folder / "root-ca.pem",
        root_key=folder / "root-ca.key.pem",
        intermediate_cert=folder / "intermediate-ca.pem",
        intermediate_key=folder / "intermediate-ca.key.pem",
        supervisor_p12=folder / "supervisor.p12",
        supervisor_cert=folder / "supervisor-cert.pem",
        root_crl_pem=folder / "root.crl.pem",
        root_crl_der=folder / "root.crl",
        intermediate_crl_pem=folder / "intermediate.crl.pem",
        intermediate_crl_der=folder / "intermediate.crl",
    )
    root = create_root_ca()
    issuing = create_intermediate_ca(root)
    supervisor_key = new_private_key()
    supervisor = issue_certificate(issuing, supervisor_key.public_key(), supervisor_name)

    write_authority(root, pki.root_cert, pki.root_key, passphrase)
    write_authority(issuing, pki.intermediate_cert, pki.intermediate_key, passphrase)
    write_pkcs12(pki.supervisor_p12, supervisor_key, supervisor, [issuing.certificate, root.certificate], passphrase)
    pki.supervisor_cert.write_bytes(supervisor.public_bytes(serialization.Encoding.PEM))
    write_crl(issue_crl(root), pki.root_crl_pem, pki.root_crl_der)
    write_crl(issue_crl(issuing), pki.intermediate_crl_pem, pki.intermediate_crl_der)
    return pki
