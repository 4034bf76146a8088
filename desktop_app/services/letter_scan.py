"""Is this printed letter genuine, and does it still stand? The QR code's seal, then the register.

The answer is one line and a verdict: "genuine, still valid" (exit 0 for the CLI), or
genuine but revoked or superseded, not signed by a trusted key, no QR code found, or an
unreadable code (exit 1). The seal's fields travel with the answer so the reader can
compare them with the paper, and with a data folder the register's record of the letter
beside them.

The seal names its key by the signer certificate's SHA-256; the certificate itself is
looked up where it is known: the certificates enrolled for supervisors, the registered
PDF of that letter (its signature carries the signer's certificate and chain), and any
certificate given with `--trust`. It must then chain to a trust anchor (the data
folder's, and those given with `--trust`; without a data folder, only those) at the
time the letter was issued, with the imported CRLs. A certificate given with `--trust`
may also be the signer's own, trusted as given.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from desktop_app.domain.errors import ClearanceDeskError, InputRejected, Problem
from desktop_app.services.context import ServiceContext

if TYPE_CHECKING:
    from asn1crypto import x509 as asn1_x509

    from desktop_app.letters.seal import Seal, SealFields
    from desktop_app.letters.trust import TrustConfig

log = logging.getLogger("clearance_desk.letters")


class Verdict(enum.Enum):
    VALID = "genuine, still valid"
    GENUINE_UNCHECKED = "genuine"
    WITHDRAWN = "genuine but no longer valid"
    NOT_IN_REGISTER = "genuine but not in this register"
    UNTRUSTED = "not signed by a trusted key"
    NO_CODE = "no QR code found"
    UNREADABLE = "not a readable letter code"

    @property
    def ok(self) -> bool:
        return self in (Verdict.VALID, Verdict.GENUINE_UNCHECKED)


@dataclass(frozen=True)
class RegisterRecord:
    """The register's word on the letter, shown beside what the paper says."""

    number: str
    kind: str
    decision: str
    reference: str
    model: str
    issued_on: str
    data_digest: str
    signer: str
    signer_fingerprint: str
    status: str

    def lines(self) -> list[tuple[str, str]]:
        return [("Letter", self.number), ("Kind", self.kind), ("Decision", self.decision),
                ("Submission", self.reference), ("Model", self.model), ("Issued", self.issued_on),
                ("Letter data SHA-256", self.data_digest), ("Signer certificate SHA-256", self.signer_fingerprint),
                ("Signed by", self.signer), ("Status", self.status)]


@dataclass(frozen=True)
class ScanReport:
    verdict: Verdict
    line: str
    fields: SealFields | None = None
    signer: str = ""
    record: RegisterRecord | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.verdict.ok


def check_printed_letter(image: Path, *, ctx: ServiceContext | None,
                         extra_trust: Iterable[Path | bytes] = ()) -> ScanReport:
    """Decode the image's QR code and judge it; a bad image file raises `InputRejected`."""
    from desktop_app.letters.scan import read_codes

    codes = read_codes(Path(image))
    if not codes:
        return ScanReport(Verdict.NO_CODE, f"{Verdict.NO_CODE.value} in {image}")
    if len(codes) > 1:
        return ScanReport(Verdict.NO_CODE, f"{len(codes)} different QR codes in {image}; scan one letter's code "
                                           f"at a time")
    return check_code(codes[0], ctx=ctx, extra_trust=extra_trust)


def check_code(text: str, *, ctx: ServiceContext | None, extra_trust: Iterable[Path | bytes] = ()) -> ScanReport:
    """Judge a decoded QR code's text: seal, signer's certificate and trust, then the register."""
    from desktop_app.letters.seal import SealUnreadable, parse

    try:
        seal = parse(text)
    except SealUnreadable as error:
        return ScanReport(Verdict.UNREADABLE, str(error))
    extras = [_read(source) for source in extra_trust]
    number = seal.fields.number
    row = _register_row(ctx, number) if ctx is not None else None
    try:
        signer = _trusted_signer(seal, ctx, row, extras)
    except _Untrusted as why:
        return ScanReport(Verdict.UNTRUSTED, f"{number}: {Verdict.UNTRUSTED.value}: {why}", seal.fields)
    if ctx is None:
        return ScanReport(Verdict.GENUINE_UNCHECKED, f"{number}: genuine, signed by {signer}; revocation was not "
                                                     f"checked (no data folder, no letter register)",
                          seal.fields, signer, notes=("revocation was not checked: no letter register",))
    if row is None:
        return ScanReport(Verdict.NOT_IN_REGISTER, f"{number}: genuine, signed by {signer}, but not in this "
                                                   f"register; ask the issuing agency", seal.fields, signer)
    record = row.record
    if record.signer_fingerprint != seal.fields.signer_fingerprint:
        return ScanReport(Verdict.UNTRUSTED, f"{number}: {Verdict.UNTRUSTED.value}: the register records another "
                                             f"signer certificate ({record.signer_fingerprint[:16]}…)",
                          seal.fields, signer, record)
    if record.data_digest != seal.fields.data_digest:
        return ScanReport(Verdict.UNTRUSTED, f"{number}: {Verdict.UNTRUSTED.value}: the register holds different "
                                             f"letter data ({record.data_digest[:16]}…)", seal.fields, signer, record)
    if row.revoked:
        return ScanReport(Verdict.WITHDRAWN, f"{number}: genuine but revoked: {row.revocation_reason}",
                          seal.fields, signer, record)
    if row.superseded_by:
        return ScanReport(Verdict.WITHDRAWN, f"{number}: genuine but superseded by {row.superseded_by}",
                          seal.fields, signer, record)
    return ScanReport(Verdict.VALID, f"{number}: {Verdict.VALID.value}", seal.fields, signer, record)


# -- the register ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    record: RegisterRecord
    issued_at: dt.datetime
    pdf_sha256: str
    revoked: bool
    revocation_reason: str
    superseded_by: str | None


def _register_row(ctx: ServiceContext, number: str) -> _Row | None:
    from desktop_app.services.letters import LetterService
    from desktop_app.storage.models import Letter, Submission

    letters = LetterService(ctx)
    with ctx.reading() as session:
        letter = session.scalar(select(Letter).where(Letter.number == number))
        if letter is None:
            return None
        submission = session.get(Submission, letter.submission_id)
        model = f"{submission.model_name} {submission.model_version}" if submission else ""
        data_digest, fingerprint, letter_id = letter.data_digest, letter.signer_fingerprint, letter.id
    entry = letters.entry(letter_id)
    record = RegisterRecord(
        entry.number, entry.kind.value, entry.decision.label if entry.decision else "—", entry.reference, model,
        f"{entry.issued_at:%Y-%m-%d %H:%M} UTC", data_digest, entry.signer, fingerprint, entry.status)
    return _Row(record, entry.issued_at, entry.pdf_sha256, entry.revoked, entry.revocation_reason,
                entry.superseded_by)


# -- the signer's certificate and trust ---------------------------------------------------------


class _Untrusted(Exception):
    """Why the seal's key is not trusted (the rest of the verdict line)."""


def _trusted_signer(seal: Seal, ctx: ServiceContext | None, row: _Row | None, extras: list[bytes]) -> str:
    """The signer's name if the seal's signature holds under a certificate that chains to an anchor."""
    from cryptography import x509

    from desktop_app.letters.seal import signature_holds
    from desktop_app.letters.trust import common_name, load_certificates

    given = [cert for data in extras for cert in load_certificates(data)]
    known = list(given)
    if ctx is not None:
        known += _enrolled_certificates(ctx)
        if row is not None:
            known += _registered_pdf_certificates(ctx, row)
    wanted = seal.fields.signer_fingerprint
    certificate = next((cert for cert in known if hashlib.sha256(cert.dump()).hexdigest() == wanted), None)
    if certificate is None:
        raise _Untrusted(f"its signer's certificate (SHA-256 {wanted[:16]}…) is not known here; give the agency's "
                         f"signer certificates with --trust")
    if not signature_holds(seal, x509.load_der_x509_certificate(certificate.dump())):
        raise _Untrusted("the signature does not match the fields or the certificate it names (forged or altered)")
    trust = _trust(ctx, extras)
    if trust is None:
        raise _Untrusted("no trust anchor is configured or given with --trust")
    try:
        _check_chain(certificate, known, trust, None)
    except _Expired:  # it may have expired since: what counts is that it was valid when it signed
        _check_chain(certificate, known, trust, _moment(seal, row, certificate))
    return common_name(certificate)


def _enrolled_certificates(ctx: ServiceContext) -> list[asn1_x509.Certificate]:
    from desktop_app.letters.trust import load_certificates
    from desktop_app.storage.models import User

    with ctx.reading() as session:
        bundles = [pem for pem in session.scalars(select(User.certificate_pem).where(User.certificate_pem.is_not(None)))
                   if pem]
    return [cert for pem in bundles for cert in load_certificates(pem.encode("ascii"))]


def _registered_pdf_certificates(ctx: ServiceContext, row: _Row) -> list[asn1_x509.Certificate]:
    """The signer's certificate and chain inside the registered PDF, for signers enrolled anew since."""
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        data = ctx.blobs.read_bytes(row.pdf_sha256)
        if hashlib.sha256(data).hexdigest() != row.pdf_sha256:
            return []
        signature = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures[0]
        return [signature.signer_cert, *signature.other_embedded_certs]
    except (OSError, IndexError, ValueError) as error:
        log.warning("no certificate from the registered PDF of %s: %s", row.record.number, error)
        return []


def _trust(ctx: ServiceContext | None, extras: list[bytes]) -> TrustConfig | None:
    from desktop_app.letters.trust import TrustConfig, load_certificates
    from desktop_app.services.trust_store import TrustStoreService

    if ctx is not None:
        # an explicit --trust replaces the configured anchors, as `verify PDF --trust` does
        trust = TrustStoreService(ctx).trust_config(extra_roots=tuple(extras), require=False, only_extra=bool(extras))
        return trust if trust.roots else None
    roots = tuple(cert for data in extras for cert in load_certificates(data))
    return TrustConfig(roots) if roots else None


def _moment(seal: Seal, row: _Row | None, certificate: asn1_x509.Certificate) -> dt.datetime:
    """When the signature was made: the register's time, else midday of the printed issue date (not before the
    certificate's validity starts)."""
    from desktop_app.letters.trust import describe_certificate

    now = dt.datetime.now(dt.UTC)
    if row is not None:
        issued = row.issued_at if row.issued_at.tzinfo else row.issued_at.replace(tzinfo=dt.UTC)
        return min(issued, now)
    midday = dt.datetime.combine(seal.fields.issued_on, dt.time(12), tzinfo=dt.UTC)
    not_before = describe_certificate(certificate).not_before
    return min(max(midday, not_before), now)


class _Expired(_Untrusted):
    pass


def _check_chain(certificate: asn1_x509.Certificate, known: list[asn1_x509.Certificate], trust: TrustConfig,
                 moment: dt.datetime | None) -> None:
    from pyhanko_certvalidator import CertificateValidator
    from pyhanko_certvalidator import errors as cv_errors

    from desktop_app.letters.trust import describe_certificate

    others = [cert for cert in known if cert.dump() != certificate.dump()]
    context = trust.validation_context(other_certs=others, moment=moment)
    validator = CertificateValidator(certificate, intermediate_certs=others, validation_context=context)
    try:
        asyncio.run(validator.async_validate_path())
    except cv_errors.RevokedError as error:
        raise _Untrusted(f"the signer's certificate is revoked ({error})") from None
    except cv_errors.ExpiredError:
        not_after = describe_certificate(certificate).not_after
        raise _Expired(f"the signer's certificate had expired on {not_after:%Y-%m-%d}") from None
    except cv_errors.NotYetValidError:
        raise _Untrusted("the signer's certificate was not yet valid on the issue date") from None
    except cv_errors.PathBuildingError:
        raise _Untrusted("the signer's certificate does not chain to a trust anchor") from None
    except (cv_errors.PathValidationError, cv_errors.InvalidCertificateError, ClearanceDeskError) as error:
        raise _Untrusted(f"the signer's certificate does not validate ({error})") from None


def _read(source: Path | bytes) -> bytes:
    if isinstance(source, bytes):
        return source
    try:
        return Path(source).read_bytes()
    except OSError as error:
        raise InputRejected(Problem(f"cannot read: {error.strerror}", file=str(source))) from None
