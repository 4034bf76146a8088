"""Trust anchors and CRLs, as the agency configures them, for signing and verifying.

Both sides must judge a certificate the same way: offline (no fetching, no OCSP), from
the configured roots and the CRLs the agency imported. A missing CRL is tolerated
("soft-fail", the workstation is air-gapped), a CRL that lists the certificate is not.

Certificates and CRLs arrive as PEM or DER bytes or files; the admin settings also
need their names and dates, which `describe_certificate` and `describe_crl` give.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from asn1crypto import crl as asn1_crl
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko_certvalidator import ValidationContext

from desktop_app.domain.errors import InputRejected, Problem

Source = bytes | Path

#: key usages that let a certificate sign a document: either suffices
SIGNING_KEY_USAGES = frozenset({"digital_signature", "non_repudiation"})
#: extended key usages that allow document signing, if the certificate has that extension at all
SIGNING_EXTENDED_USAGES = frozenset({
    "1.3.6.1.5.5.7.3.36", "document_signing",  # id-kp-documentSigning (RFC 9336), dotted or named
    "email_protection",
    "adobe_authentic_documents_trust",
    "any_extended_key_usage",
})  # fmt: skip


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    issuer: str
    serial: int
    not_before: datetime
    not_after: datetime
    sha256_fingerprint: str
    is_ca: bool


@dataclass(frozen=True)
class CrlInfo:
    issuer: str
    this_update: datetime
    next_update: datetime | None
    revoked_serials: tuple[int, ...]


@dataclass(frozen=True)
class TrustConfig:
    """The trust anchors (agency roots) and the CRLs in force."""

    roots: tuple[asn1_x509.Certificate, ...]
    crls: tuple[asn1_crl.CertificateList, ...] = ()

    @classmethod
    def load(cls, roots: Iterable[Source], crls: Iterable[Source] = ()) -> TrustConfig:
        loaded_roots = tuple(cert for source in roots for cert in load_certificates(source))
        if not loaded_roots:
            raise InputRejected("no trust anchor is configured")
        return cls(loaded_roots, tuple(crl for source in crls for crl in load_crls(source)))

    def context_settings(
        self,
        *,
        other_certs: Sequence[asn1_x509.Certificate] = (),
        moment: datetime | None = None,
    ) -> dict[str, Any]:
        """Keyword arguments of a `ValidationContext`: offline, soft-fail on missing CRLs."""
        return {
            "trust_roots": list(self.roots),
            "other_certs": list(other_certs),
            "crls": list(self.crls),
            "allow_fetching": False,
            "revocation_mode": "soft-fail",
            "moment": moment,
        }

    def validation_context(
        self, *, other_certs: Sequence[asn1_x509.Certificate] = (), moment: datetime | None = None
    ) -> ValidationContext:
        return ValidationContext(**self.context_settings(other_certs=other_certs, moment=moment))


def _read(source: Source) -> tuple[bytes, str]:
    if isinstance(source, Path):
        try:
            return source.read_bytes(), str(source)
        except OSError as error:
            raise InputRejected(Problem(f"cannot read: {error.strerror}", file=str(source))) from error
    return source, "data"


def _der_blocks(data: bytes, pem_type: str) -> list[bytes]:
    if not pem.detect(data):
        return [data]
    return [der for kind, _headers, der in pem.unarmor(data, multiple=True) if kind == pem_type]


def load_certificates(source: Source) -> list[asn1_x509.Certificate]:
    """Every certificate in a PEM bundle, or the one DER certificate."""
    data, name = _read(source)
    try:
        certificates = [asn1_x509.Certificate.load(der) for der in _der_blocks(data, "CERTIFICATE")]
        for certificate in certificates:
            certificate.native  # noqa: B018 - asn1crypto parses lazily; fail here, not mid-validation
    except (ValueError, TypeError) as error:
        raise InputRejected(Problem(f"not an X.509 certificate ({error})", file=name)) from error
    if not certificates:
        raise InputRejected(Problem("no certificate found", file=name))
    return certificates


def load_crls(source: Source) -> list[asn1_crl.CertificateList]:
    data, name = _read(source)
    try:
        crls = [asn1_crl.CertificateList.load(der) for der in _der_blocks(data, "X509 CRL")]
        for crl in crls:
            crl.native  # noqa: B018 - parse now so a damaged file is named here
    except (ValueError, TypeError) as error:
        raise InputRejected(Problem(f"not a CRL ({error})", file=name)) from error
    if not crls:
        raise InputRejected(Problem("no CRL found", file=name))
    return crls


def fingerprint(certificate: asn1_x509.Certificate) -> str:
    return hashlib.sha256(certificate.dump()).hexdigest()


def common_name(certificate: asn1_x509.Certificate) -> str:
    """The subject's common name, or its whole distinguished name if it has none."""
    return display_name(certificate.subject)


def display_name(name: asn1_x509.Name) -> str:
    common: str | None = name.native.get("common_name")
    return common or name.human_friendly


def describe_certificate(certificate: asn1_x509.Certificate) -> CertificateInfo:
    validity = certificate["tbs_certificate"]["validity"]
    return CertificateInfo(
        subject=certificate.subject.human_friendly,
        issuer=certificate.issuer.human_friendly,
        serial=certificate.serial_number,
        not_before=validity["not_before"].native,
        not_after=validity["not_after"].native,
        sha256_fingerprint=fingerprint(certificate),
        is_ca=certificate.ca,
    )


def describe_crl(crl: asn1_crl.CertificateList) -> CrlInfo:
    tbs = crl["tbs_cert_list"]
    return CrlInfo(
        issuer=crl.issuer.human_friendly,
        this_update=tbs["this_update"].native,
        next_update=tbs["next_update"].native,
        revoked_serials=tuple(entry["user_certificate"].native for entry in tbs["revoked_certificates"]),
    )
