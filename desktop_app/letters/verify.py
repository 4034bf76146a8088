"""Check a signed letter on its own: signature, coverage, certification, trust, revocation.

Each check is named and reported separately, so the CLI and the GUI can say exactly
what failed (tampered, appended to, truncated, forged with another key, revoked). A
file that is not a PDF at all, or is damaged beyond reading, gives failing checks and
never a traceback: letters to verify come from outside.

Whether the letter is in the register with the same SHA-256 and is not revoked or
superseded there is the service layer's check; `letter_number` tells it which record
to look up.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable
from datetime import datetime

from asn1crypto import parser as asn1_parser
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature, read_certification_data
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from desktop_app.domain.errors import CheckResult
from desktop_app.letters.trust import (
    SIGNING_EXTENDED_USAGES,
    SIGNING_KEY_USAGES,
    Source,
    TrustConfig,
    common_name,
    display_name,
    fingerprint,
)

log = logging.getLogger("clearance_desk.letters")

PRESENT = "signature present"
INTACT = "signature intact"
WHOLE_FILE = "covers the whole file"
CERTIFIED = "certified, no changes permitted"
TRUSTED = "chains to a trust anchor"
NOT_REVOKED = "signer not revoked"
CHECKS = (PRESENT, INTACT, WHOLE_FILE, CERTIFIED, TRUSTED, NOT_REVOKED)

_NUMBER = re.compile(r"\bCL-\d{4}-\d{4,}\b")
_DIGEST = re.compile(r"\|sha256:([0-9a-f]{64})\b")
_AUDIT_HEAD = re.compile(r"\baudit-head:([0-9a-f]{64})\b")
_SIGNING_USAGE = KeyUsageConstraints(
    key_usage=SIGNING_KEY_USAGES, extd_key_usage=SIGNING_EXTENDED_USAGES, explicit_extd_key_usage_required=False
)


class _Report:
    """The checks in a fixed order; any check not reached fails with the reason it was not."""

    def __init__(self) -> None:
        self.results: dict[str, CheckResult] = {}

    def add(self, name: str, ok: bool, detail: str, **extra: str) -> None:
        self.results[name] = CheckResult(name, ok, detail, dict(extra))

    def finish(self, reason: str) -> list[CheckResult]:
        return [self.results.get(name) or CheckResult(name, False, f"not checked: {reason}") for name in CHECKS]


def verify_signed_pdf(
    pdf: bytes,
    trust_roots: TrustConfig | Iterable[Source],
    crls: Iterable[Source] = (),
    *,
    moment: datetime | None = None,
) -> list[CheckResult]:
    """The named checks, in `CHECKS` order; the letter verifies when every one is ok."""
    trust = trust_roots if isinstance(trust_roots, TrustConfig) else TrustConfig.load(trust_roots, crls)
    report = _Report()
    reason = "an earlier check failed"
    try:
        _check(pdf, trust, moment, report)
    except Exception as error:  # damaged input of any kind is a failed check, never a traceback
        log.info("letter verification stopped: %s: %s", type(error).__name__, error)
        reason = f"the file cannot be read as a signed PDF ({type(error).__name__}: {error})"
        if PRESENT not in report.results:
            report.add(PRESENT, False, reason)
    return report.finish(reason)


def _check(pdf: bytes, trust: TrustConfig, moment: datetime | None, report: _Report) -> None:
    if b"%%EOF" not in pdf[-1024:]:
        report.add(PRESENT, False, "the file is truncated or not a PDF: it has no end-of-file marker")
        return
    reader = PdfFileReader(io.BytesIO(pdf), strict=False)
    signatures = reader.embedded_signatures
    if not signatures:
        report.add(PRESENT, False, "the file has no signature")
        return
    signature = signatures[0]
    status = validate_pdf_signature(
        signature, _validation_context(reader, trust, moment), key_usage_settings=_SIGNING_USAGE
    )
    signer = status.signing_cert
    extra = {"signer": common_name(signer), "signer_sha256": fingerprint(signer)}
    if status.signer_reported_dt is not None:
        extra["signed_at"] = status.signer_reported_dt.isoformat()
    count = f"{len(signatures)} signatures" if len(signatures) > 1 else "one signature"
    report.add(PRESENT, True, f"{count}, by {extra['signer']}", **extra)
    report.add(INTACT, *_integrity(pdf, signature, status))
    report.add(WHOLE_FILE, *_coverage(pdf, signature, status))
    report.add(CERTIFIED, *_certification(reader, signature, len(signatures)))
    report.add(TRUSTED, *_trust(status))
    report.add(NOT_REVOKED, *_revocation(status))


def _validation_context(reader: PdfFileReader, trust: TrustConfig, moment: datetime | None) -> ValidationContext:
    """The configured roots and CRLs, plus the chain and CRLs the letter carries in its DSS."""
    settings = trust.context_settings(moment=moment)
    if "/DSS" not in reader.root:
        return ValidationContext(**settings)
    context: ValidationContext = DocumentSecurityStore.read_dss(reader).as_validation_context(settings)
    return context


def _integrity(pdf: bytes, signature: EmbeddedPdfSignature, status: PdfSignatureStatus) -> tuple[bool, str]:
    if not (status.intact and status.valid):
        return False, "the signed bytes were changed after signing, or the signature value is wrong"
    if not _contents_untouched(pdf, signature):
        return False, "the signature container was altered (bytes outside the signature value changed)"
    return True, "the signed bytes are unchanged"


def _contents_untouched(pdf: bytes, signature: EmbeddedPdfSignature) -> bool:
    """The one unsigned gap of the file must hold exactly the CMS, zero padding and nothing else.

    The byte range leaves out the /Contents hex string; editing its padding or the case
    of its hex digits changes the file without touching the signature value.
    """
    _, gap_start, gap_end, _ = (int(value) for value in signature.byte_range)
    gap = pdf[gap_start:gap_end]
    if len(gap) < 2 or gap[:1] != b"<" or gap[-1:] != b">":
        return False
    try:
        container = bytes.fromhex(gap[1:-1].decode("ascii"))
        _, _, _, header, body, trailer = asn1_parser.parse(container)
    except ValueError:  # not hex, or not one DER value
        return False
    der_length = len(header) + len(body) + len(trailer)
    canonical = container[:der_length].hex() + "00" * (len(container) - der_length)
    return gap[1:-1] in (canonical.upper().encode("ascii"), canonical.encode("ascii"))


def _coverage(pdf: bytes, signature: EmbeddedPdfSignature, status: PdfSignatureStatus) -> tuple[bool, str]:
    *_, second_start, second_length = (int(value) for value in signature.byte_range)
    signed_end = second_start + second_length
    if signed_end > len(pdf):
        return False, f"the file is truncated: the signature covers {signed_end} bytes, the file has {len(pdf)}"
    if signed_end < len(pdf):
        extra = len(pdf) - signed_end
        return False, f"{extra} byte{'s were' if extra > 1 else ' was'} appended after the signed revision"
    if status.coverage is not SignatureCoverageLevel.ENTIRE_FILE:
        return False, f"the signature covers only part of the file ({status.coverage})"
    return True, f"all {len(pdf)} bytes are signed"


def _certification(reader: PdfFileReader, signature: EmbeddedPdfSignature, count: int) -> tuple[bool, str]:
    certification = read_certification_data(reader)
    if certification is None or certification.author_sig != signature.sig_object:
        return False, "the signature is not the document's certification signature"
    if signature.docmdp_level is not MDPPerm.NO_CHANGES:
        return False, f"the certification permits changes ({signature.docmdp_level})"
    if count > 1:
        return False, f"{count - 1} more signature(s) were added to a document certified against changes"
    return True, "certified by the signer; no changes permitted"


def _trust(status: PdfSignatureStatus) -> tuple[bool, str]:
    """Judged on the certificate chain alone; whether the bytes are intact is its own check."""
    path = status.validation_path
    if path is not None and status.trust_problem_indic is None:
        return True, f"trust anchor: {display_name(path.trust_anchor.authority.name)}"
    if status.revoked:
        return False, "the chain reaches a trust anchor, but a certificate in it is revoked"
    problem = status.trust_problem_indic
    why = problem.standard_name if problem else "no path to a trust anchor"
    return False, f"the signer's certificate is not trusted ({why})"


def _revocation(status: PdfSignatureStatus) -> tuple[bool, str]:
    details = status.revocation_details
    if details is None:
        return True, "no CRL available offline lists a certificate of the chain as revoked"
    who = "a CA certificate in the chain" if details.ca_revoked else "the signer's certificate"
    return False, f"{who} was revoked on {details.revocation_date:%Y-%m-%d} ({details.revocation_reason.native})"


def letter_number(pdf: bytes) -> str | None:
    """The letter number recorded in the PDF's metadata at rendering, or None if there is none."""
    return printed_metadata(pdf).get("number")


def printed_metadata(pdf: bytes) -> dict[str, str]:
    """What rendering wrote into the (signed) document information: number, data digest, audit head.

    Letters rendered before the audit head was written there have no "audit_head".
    """
    found: dict[str, str] = {}
    try:
        info = PdfFileReader(io.BytesIO(pdf), strict=False).trailer_view["/Info"]
        for key in ("/Keywords", "/Title"):
            value = str(info.get(key, ""))
            match = _NUMBER.search(value)
            if match:
                found.setdefault("number", match.group(0))
            for name, pattern in (("data_digest", _DIGEST), ("audit_head", _AUDIT_HEAD)):
                match = pattern.search(value) if key == "/Keywords" else None
                if match:
                    found[name] = match.group(1)
    except Exception:  # any damage means "nothing printed"; the checks say what is wrong
        return {}
    return found
