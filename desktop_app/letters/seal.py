"""The letter's QR code: a compact, versioned payload signed with the letter's own signer key.

A printed, faxed or scanned letter has lost its PDF signature; the QR code keeps what
a reader must compare with the paper (number, kind, decision, submission, model, issue
date, the SHA-256 of the letter's data) under a signature that anyone holding the
signer's certificate can check without the agency's database.

The key is the supervisor's own signing key, the one that signs the PDF, not a separate
agency "seal" key: it needs no new secret to guard (a seal key kept by the application
would be readable by anyone who can read the database or a backup), a token key signs
on the token and never leaves it, and revoking the certificate withdraws both
signatures at once. The certificate's SHA-256 fingerprint in the payload names the key.

Text form, all in the QR alphanumeric alphabet (denser than bytes): ``CDQ<version>:``
and the base45 (RFC 9285) of the body. The body is the fields, each a length byte and
its bytes, then the signature. The signature covers a domain label and the fields, so
no other signature of the same key (PDFs, enrolment challenges) can pass for a seal.
RSA keys sign PKCS#1 v1.5 with SHA-256; EC keys ECDSA with SHA-256, stored as fixed-size
r‖s so a letter's layout never depends on the signature's DER length.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding

from desktop_app.domain.errors import InputRejected
from desktop_app.domain.types import Decision, LetterKind

if TYPE_CHECKING:
    from desktop_app.letters.content import LetterContent
    from desktop_app.letters.signing import SessionSigner

VERSION = 1
PREFIX = "CDQ"
_DOMAIN = b"clearance-desk/letter-seal/1\n"
_HEADER = re.compile(r"CDQ(\d{1,3}):")
_UNSIGNED = re.compile(r"(CL-\d{4}-\d{4,})\|sha256:[0-9a-f]{64}")
_MAX_SIGNATURE = 1024  # RSA-8192; anything longer is not a seal

#: one letter per kind and decision: every byte enlarges the printed code
_KIND_CODES = {LetterKind.CLEARANCE: "C", LetterKind.REFUSAL: "R", LetterKind.INFORMATION_REQUEST: "I",
               LetterKind.CONDITIONS_MET: "M", LetterKind.CORRECTED: "K", LetterKind.REVOCATION: "V"}
_DECISION_CODES = {Decision.CLEARED: "C", Decision.CLEARED_WITH_CONDITIONS: "W", Decision.NOT_CLEARED: "N"}
_B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_VALUE = {char: index for index, char in enumerate(_B45)}


@dataclass(frozen=True)
class SealFields:
    """What the QR code states about the letter, as the reader compares it with the paper."""

    number: str
    kind: LetterKind
    decision: Decision | None
    reference: str
    model_name: str
    model_version: str
    issued_on: date
    data_digest: str
    signer_fingerprint: str

    @classmethod
    def of(cls, content: LetterContent, reference: str, signer_fingerprint: str) -> SealFields:
        return cls(content.number, content.kind, content.decision, reference, content.model.name,
                   content.model.version, content.issued_on, content.data_digest(), signer_fingerprint)

    def lines(self) -> list[tuple[str, str]]:
        """The fields as labelled lines, in the order the letter prints them."""
        return [
            ("Letter", self.number),
            ("Kind", self.kind.value),
            ("Decision", self.decision.label if self.decision else "—"),
            ("Submission", self.reference),
            ("Model", f"{self.model_name} {self.model_version}"),
            ("Issued", self.issued_on.isoformat()),
            ("Letter data SHA-256", self.data_digest),
            ("Signer certificate SHA-256", self.signer_fingerprint),
        ]

    def encoded(self) -> bytes:
        parts = [
            self.number.encode(), _KIND_CODES[self.kind].encode(),
            _DECISION_CODES[self.decision].encode() if self.decision else b"", self.reference.encode(),
            self.model_name.encode(), self.model_version.encode(), self.issued_on.isoformat().encode(),
            bytes.fromhex(self.data_digest), bytes.fromhex(self.signer_fingerprint),
        ]
        out = bytearray()
        for part in parts:
            if len(part) > 255:
                raise InputRejected(f"letter {self.number}: a field of the QR code is longer than 255 bytes")
            out.append(len(part))
            out += part
        return bytes(out)


@dataclass(frozen=True)
class Seal:
    fields: SealFields
    signature: bytes

    def text(self) -> str:
        return f"{PREFIX}{VERSION}:{b45encode(self.fields.encoded() + self.signature)}"

    def signed_message(self) -> bytes:
        return _DOMAIN + self.fields.encoded()


# -- making a seal --------------------------------------------------------------------------


def seal_letter(content: LetterContent, reference: str, signer: SessionSigner) -> Seal:
    """Sign the letter's fields with the opened key (on the token, for a PKCS#11 key)."""
    fields = SealFields.of(content, reference, signer.fingerprint)
    message = _DOMAIN + fields.encoded()
    raw = asyncio.run(signer.signer.async_sign_raw(message, "sha256"))
    public_key = x509.load_der_x509_certificate(signer.certificate.dump()).public_key()
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        raw = _ecdsa_fixed(raw, public_key.curve.key_size)
    return Seal(fields, raw)


def placeholder_seal(content: LetterContent, reference: str, *, signature_bytes: int = 384) -> Seal:
    """An unsigned seal of the issued one's size, so a preview is laid out like the letter it shows."""
    return Seal(SealFields.of(content, reference, "00" * 32), bytes(signature_bytes))


def signature_size(certificate_der: bytes) -> int:
    """The bytes a seal's signature takes for this certificate's key."""
    key = x509.load_der_x509_certificate(certificate_der).public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return (key.key_size + 7) // 8
    if isinstance(key, ec.EllipticCurvePublicKey):
        return 2 * ((key.curve.key_size + 7) // 8)
    return 384


def _ecdsa_fixed(der: bytes, bits: int) -> bytes:
    r, s = decode_dss_signature(der)
    size = (bits + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


# -- reading and checking a seal --------------------------------------------------------------


class SealUnreadable(InputRejected):
    """The text is not a seal this application can read: foreign, damaged, unsigned or from a newer version."""


def parse(text: str) -> Seal:
    """The seal in a QR code's text; one clear line if it is not one."""
    text = text.strip()
    if _UNSIGNED.fullmatch(text):
        number = text.split("|", 1)[0]
        raise SealUnreadable(f"{number}: an unsigned QR code from before signed codes; verify the PDF itself "
                             f"(clearance-desk verify {number}.pdf)")
    header = _HEADER.match(text)
    if header is None:
        raise SealUnreadable("the QR code is not a Clearance Desk letter code")
    version = int(header.group(1))
    if version > VERSION:
        raise SealUnreadable(f"the QR code is payload version {version}; this application reads version {VERSION} "
                             f"and older: use a newer Clearance Desk")
    if version != VERSION:
        raise SealUnreadable(f"the QR code has an unknown payload version {version}")
    try:
        body = b45decode(text[header.end():])
        return _parse_body(body)
    except (ValueError, KeyError, IndexError, UnicodeDecodeError):
        raise SealUnreadable("the QR code is damaged: its payload does not parse") from None


def _parse_body(body: bytes) -> Seal:
    parts: list[bytes] = []
    at = 0
    for _ in range(9):
        size = body[at]
        part = body[at + 1: at + 1 + size]
        if len(part) != size:
            raise ValueError("truncated")
        parts.append(part)
        at += 1 + size
    signature = body[at:]
    if not 0 < len(signature) <= _MAX_SIGNATURE:
        raise ValueError("no signature")
    number, kind, decision, reference, name, version, issued, digest, fingerprint = parts
    if len(digest) != 32 or len(fingerprint) != 32:
        raise ValueError("digest size")
    kinds = {code: value for value, code in _KIND_CODES.items()}
    decisions = {code: value for value, code in _DECISION_CODES.items()}
    fields = SealFields(
        number.decode(), kinds[kind.decode()], decisions[decision.decode()] if decision else None,
        reference.decode(), name.decode(), version.decode(), date.fromisoformat(issued.decode()),
        digest.hex(), fingerprint.hex())
    if not re.fullmatch(r"CL-\d{4}-\d{4,}", fields.number):
        raise ValueError("number")
    return Seal(fields, bytes(signature))


def signature_holds(seal: Seal, certificate: x509.Certificate) -> bool:
    """True if `certificate` is the one the seal names and its key made the signature."""
    der = certificate.public_bytes(Encoding.DER)
    if hashlib.sha256(der).hexdigest() != seal.fields.signer_fingerprint:
        return False
    key = certificate.public_key()
    message = seal.signed_message()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(seal.signature, message, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            size = (key.curve.key_size + 7) // 8
            if len(seal.signature) != 2 * size:
                return False
            r = int.from_bytes(seal.signature[:size], "big")
            s = int.from_bytes(seal.signature[size:], "big")
            key.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
        else:
            return False
    except (InvalidSignature, ValueError):
        return False
    return True


# -- base45 (RFC 9285) ------------------------------------------------------------------------


def b45encode(data: bytes) -> str:
    out = []
    for index in range(0, len(data) - 1, 2):
        value = data[index] * 256 + data[index + 1]
        high, value = divmod(value, 45 * 45)
        middle, low = divmod(value, 45)
        out += [_B45[low], _B45[middle], _B45[high]]
    if len(data) % 2:
        middle, low = divmod(data[-1], 45)
        out += [_B45[low], _B45[middle]]
    return "".join(out)


def b45decode(text: str) -> bytes:
    values = [_B45_VALUE[char] for char in text]
    out = bytearray()
    for index in range(0, len(values), 3):
        chunk = values[index: index + 3]
        if len(chunk) == 3:
            value = chunk[0] + chunk[1] * 45 + chunk[2] * 45 * 45
            if value > 0xFFFF:
                raise ValueError("base45 overflow")
            out += value.to_bytes(2, "big")
        elif len(chunk) == 2:
            value = chunk[0] + chunk[1] * 45
            if value > 0xFF:
                raise ValueError("base45 overflow")
            out.append(value)
        else:
            raise ValueError("base45 length")
    return bytes(out)
