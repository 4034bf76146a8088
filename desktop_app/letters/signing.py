"""Sign a rendered letter with the supervisor's own key: a PAdES certification signature.

The signature certifies the document with DocMDP "no changes allowed", so any later
revision is visible to every reader, and it carries the certificate chain and the
agency's CRLs inside the signed revision (CMS certificates plus a DSS written in the
same revision) so that it validates offline. No timestamp server, no OCSP, no fetching.

Keys come from a PKCS#12 file or a PKCS#11 token. The passphrase or PIN is an argument
of `open_signer` only: it is never logged, stored or kept. The opened signer is kept
for the signing session because parsing a key is the slow part (cryptography checks an
RSA-3072 key for ~80 ms each time pyHanko's stock signer loads it).

Before every signature the signer's certificate is validated against the configured
trust anchors and CRLs: an expired, revoked, untrusted or wrong-usage certificate
cannot sign, with a message that says which.
"""

from __future__ import annotations

import asyncio
import io
import textwrap
import logging
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from asn1crypto import pkcs12 as asn1_pkcs12
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1
from pyhanko.pdf_utils.font.api import ShapeResult
from pyhanko.pdf_utils.font.basic import SimpleFontEngine, SimpleFontEngineFactory
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.text import TextBoxStyle
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.pdf_signer import DSSContentSettings, SigDSSPlacementPreference
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator import errors as cv_errors
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params

from desktop_app.domain.errors import InputRejected, Problem
from desktop_app.letters.results import RenderedLetter
from desktop_app.letters.trust import (
    SIGNING_EXTENDED_USAGES,
    SIGNING_KEY_USAGES,
    Source,
    TrustConfig,
    common_name,
    describe_certificate,
    fingerprint,
    load_certificates,
)

log = logging.getLogger("clearance_desk.letters")


class _OfflineByDesign(logging.Filter):
    """pyHanko warns on every signature that fetching is off; here that is the design, not news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "fetching is not allowed" not in record.getMessage()


logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_OfflineByDesign())

SIGNATURE_FIELD = "ClearanceSignature"
BYTES_RESERVED = 16384


@dataclass(frozen=True)
class Pkcs12Source:
    path: Path


@dataclass(frozen=True)
class Pkcs11Source:
    """A key on a token. Without `certificate`, the certificate labelled like the key is read from the token."""

    module: Path
    token_label: str
    key_label: str
    certificate: Source | None = None
    chain: tuple[Source, ...] = ()


KeySource = Pkcs12Source | Pkcs11Source


class _InMemorySigner(signers.Signer):
    """pyHanko signer over an already parsed private key (the stock one re-parses it per signature)."""

    def __init__(
        self,
        private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
        certificate: asn1_x509.Certificate,
        chain: list[asn1_x509.Certificate],
    ) -> None:
        registry = SimpleCertificateStore.from_certs(chain)  # type: ignore[no-untyped-call]
        super().__init__(signing_cert=certificate, cert_registry=registry)
        self._private_key = private_key

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        algorithm = mechanism.signature_algo
        key = self._private_key
        if isinstance(key, rsa.RSAPrivateKey) and algorithm == "rsassa_pkcs1v15":
            return key.sign(data, padding.PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if isinstance(key, rsa.RSAPrivateKey) and algorithm == "rsassa_pss":
            pss, hash_algorithm = process_pss_params(mechanism["parameters"])
            return key.sign(data, pss, hash_algorithm)
        if isinstance(key, ec.EllipticCurvePrivateKey) and algorithm == "ecdsa":
            return key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        raise SigningError(f"unsupported signature mechanism {algorithm} for this key")


class SessionSigner:
    """An opened key, reused for the signing session; `close()` (or `with`) ends it."""

    def __init__(self, signer: signers.Signer, chain: list[asn1_x509.Certificate], session: Any = None) -> None:
        self.signer = signer
        self.chain = tuple(chain)
        self._session = session

    @property
    def certificate(self) -> asn1_x509.Certificate:
        certificate: asn1_x509.Certificate = self.signer.signing_cert
        return certificate

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the signer's certificate, as the register records it."""
        return fingerprint(self.certificate)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self) -> SessionSigner:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def open_signer(source: KeySource, secret: str) -> SessionSigner:
    """Open a key with its passphrase (PKCS#12) or PIN (PKCS#11); the secret is not kept."""
    if isinstance(source, Pkcs12Source):
        return _open_pkcs12(source, secret)
    return _open_pkcs11(source, secret)


def _open_pkcs12(source: Pkcs12Source, passphrase: str) -> SessionSigner:
    try:
        data = source.path.read_bytes()
    except OSError as error:
        raise InputRejected(Problem(f"cannot read: {error.strerror}", file=str(source.path))) from error
    try:
        key, certificate, extra = pkcs12.load_key_and_certificates(data, passphrase.encode("utf-8"))
    except ValueError as error:
        if _is_pkcs12(data):
            raise InputRejected(f"wrong passphrase for {source.path}") from None
        raise InputRejected(Problem("not a PKCS#12 file", file=str(source.path))) from error
    if certificate is None or not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise InputRejected(Problem("holds no RSA or EC key with its certificate", file=str(source.path)))
    chain = [translate_pyca_cryptography_cert_to_asn1(cert) for cert in extra]
    return SessionSigner(_InMemorySigner(key, translate_pyca_cryptography_cert_to_asn1(certificate), chain), chain)


def _is_pkcs12(data: bytes) -> bool:
    """True if the file parses as PKCS#12 structure, so a load failure means a wrong passphrase."""
    try:
        asn1_pkcs12.Pfx.load(data).native  # noqa: B018 - forces the lazy parse
    except (ValueError, TypeError):
        return False
    return True


def _open_pkcs11(source: Pkcs11Source, pin: str) -> SessionSigner:
    # python-pkcs11 is a native extension that only token users need: imported here
    import pkcs11
    from pyhanko.config.pkcs11 import TokenCriteria
    from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

    if not source.module.is_file():
        raise InputRejected(Problem("PKCS#11 module not found", file=str(source.module)))
    certificate = load_certificates(source.certificate)[0] if source.certificate is not None else None
    chain = [cert for chain_source in source.chain for cert in load_certificates(chain_source)]
    where = f"token {source.token_label!r}"
    try:
        session = open_pkcs11_session(
            str(source.module), token_criteria=TokenCriteria(label=source.token_label), user_pin=pin
        )
    except pkcs11.PinIncorrect:
        raise InputRejected(f"wrong PIN for {where}") from None
    except pkcs11.PinLocked:
        raise InputRejected(f"the PIN of {where} is locked") from None
    except pkcs11.PKCS11Error as error:
        raise InputRejected(f"cannot open {where} with {source.module}: {error or type(error).__name__}") from None
    try:
        signer = PKCS11Signer(
            session,
            key_label=source.key_label,
            signing_cert=certificate,
            cert_label=None if certificate else source.key_label,
            ca_chain=chain,
        )
        signer.signing_cert  # noqa: B018 - loads the key and certificate handles now, not mid-signature
    except pkcs11.PKCS11Error as error:
        session.close()
        raise InputRejected(f"{where}: {error or type(error).__name__}") from None
    return SessionSigner(signer, chain, session)


def check_certificate_matches_key(certificate: Source, signer: SessionSigner) -> None:
    """For enrolment: the certificate must belong to the opened key (a signed challenge proves it)."""
    enrolled = load_certificates(certificate)[0]
    public_key = x509.load_der_x509_certificate(enrolled.dump()).public_key()
    challenge = secrets.token_bytes(32)
    signature = asyncio.run(signer.signer.async_sign_raw(challenge, "sha256"))
    digest = get_pyca_cryptography_hash("sha256")
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, challenge, padding.PKCS1v15(), digest)
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, challenge, ec.ECDSA(digest))
        else:
            raise InvalidSignature
    except InvalidSignature:
        raise InputRejected(f"the certificate of {common_name(enrolled)} does not belong to this key") from None


def check_signer(signer: SessionSigner, trust: TrustConfig, *, moment: datetime | None = None) -> ValidationContext:
    """Refuse a certificate that may not sign now; returns the context pyHanko embeds from."""
    certificate = signer.certificate
    who = f"the signing certificate of {common_name(certificate)}"
    _check_usage(certificate, who)
    context = trust.validation_context(other_certs=signer.chain, moment=moment)
    validator = CertificateValidator(certificate, intermediate_certs=list(signer.chain), validation_context=context)
    try:
        asyncio.run(validator.async_validate_path())
    except cv_errors.ExpiredError:
        not_after = describe_certificate(certificate).not_after
        raise InputRejected(f"{who} expired on {not_after:%Y-%m-%d}; it cannot sign") from None
    except cv_errors.NotYetValidError:
        not_before = describe_certificate(certificate).not_before
        raise InputRejected(f"{who} is not valid before {not_before:%Y-%m-%d %H:%M} UTC; it cannot sign") from None
    except cv_errors.RevokedError as error:
        raise InputRejected(f"{who} is revoked ({error}); it cannot sign") from None
    except cv_errors.PathBuildingError:
        raise InputRejected(f"{who} does not chain to a configured trust anchor; it cannot sign") from None
    except (cv_errors.PathValidationError, cv_errors.InvalidCertificateError) as error:
        raise InputRejected(
            f"{who} does not validate against the configured trust anchors ({error}); it cannot sign"
        ) from None
    return context


def _check_usage(certificate: asn1_x509.Certificate, who: str) -> None:
    key_usage = certificate.key_usage_value
    if key_usage is None or not SIGNING_KEY_USAGES & set(key_usage.native):
        raise InputRejected(f"{who} is not for signatures (key usage needs digitalSignature or nonRepudiation)")
    extended = certificate.extended_key_usage_value
    if extended is not None and not SIGNING_EXTENDED_USAGES & set(extended.native):
        raise InputRejected(f"{who} is not for document signing (extended key usage: {', '.join(extended.native)})")


def sign_letter(letter: RenderedLetter, signer: SessionSigner, trust: TrustConfig) -> bytes:
    """The signed PDF: one certification signature over the whole letter, nothing after it."""
    context = check_signer(signer, trust)
    log.info("signing letter %s as %s", letter.number, common_name(signer.certificate))
    usages = set(signer.certificate.key_usage_value.native) & SIGNING_KEY_USAGES
    metadata = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        reason=letter.signatory.meaning,
        name=letter.signatory.name,
        subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=True,
        validation_context=context,
        signer_key_usage={"non_repudiation"} if "non_repudiation" in usages else {"digital_signature"},
        dss_settings=DSSContentSettings(placement=SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE, include_vri=False),
    )
    box = letter.signature_box
    field_spec = fields.SigFieldSpec(SIGNATURE_FIELD, on_page=box.page_index, box=(box.x1, box.y1, box.x2, box.y2))
    pdf_signer = signers.PdfSigner(metadata, signer.signer, stamp_style=_STAMP_STYLE, new_field_spec=field_spec)
    try:
        output = pdf_signer.sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(letter.pdf)),
            bytes_reserved=BYTES_RESERVED,
            appearance_text_params={"manifestation": stamp_text(letter)},
        )
    except SigningError as error:
        raise InputRejected(f"letter {letter.number} could not be signed: {error}") from None
    signed: bytes = output.getvalue()
    return signed


class _WinAnsiFontEngine(SimpleFontEngine):  # type: ignore[misc]
    """Courier with its text written in WinAnsiEncoding (cp1252), the encoding its font dictionary names.

    pyHanko's simple engine writes PDFDocEncoding, which agrees with WinAnsi on Latin-1
    only: an em dash would show as another glyph. Written as cp1252 bytes, the stamp
    shows "—" and typographic quotes exactly as the letter's text does.
    """

    def shape(self, txt: str) -> ShapeResult:
        encoded = txt.encode("cp1252").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
        return ShapeResult(graphics_ops=b"(" + encoded + b") Tj", x_advance=len(txt) * self.avg_width, y_advance=0)


class _WinAnsiFontFactory(SimpleFontEngineFactory):  # type: ignore[misc]
    def create_font_engine(self, writer: Any, obj_stream: Any = None) -> SimpleFontEngine:
        return _WinAnsiFontEngine(writer, self.name, self.avg_width, self.meta)


def _stamp_font() -> SimpleFontEngineFactory:
    courier = SimpleFontEngineFactory.default_factory()
    return _WinAnsiFontFactory(courier.name, courier.avg_width, courier.meta)


_STAMP_STYLE = TextStampStyle(
    stamp_text="%(manifestation)s",
    border_width=1,
    text_box_style=TextBoxStyle(font=_stamp_font(), font_size=7, leading=9),
)
#: characters of Courier 7 pt that fit the stamp's width (252 pt less its padding)
_STAMP_LINE = 54


def stamp_text(letter: RenderedLetter) -> str:
    """The visible signature's lines, in the WinAnsi characters the stamp's standard font can show."""
    signatory = letter.signatory
    name, lossy = stamp_safe(signatory.name)
    if lossy:
        name = f"{name} (see letter)".strip()
    lines = [
        "Digitally signed by",
        name,
        stamp_safe(signatory.title)[0],
        f"{signatory.signed_at:%Y-%m-%d %H:%M:%S} UTC",
        *textwrap.wrap(stamp_safe(signatory.meaning)[0], _STAMP_LINE),
    ]
    return "\n".join(line for line in lines if line)


_FOLDS = str.maketrans({
    "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h",
    "\N{LATIN SMALL LETTER DOTLESS I}": "i",
    "\N{HYPHEN}": "-",
})  # fmt: skip


def stamp_safe(text: str) -> tuple[str, bool]:
    """`text` folded to printable WinAnsi (cp1252, which the stamp font shows as is) and whether anything was lost."""
    kept: list[str] = []
    lost = False
    for char in text.translate(_FOLDS):
        if _printable_winansi(char):
            kept.append(char)
            continue
        base = [c for c in unicodedata.normalize("NFKD", char) if _printable_winansi(c)]
        lost = lost or not base
        kept.extend(base)
    return " ".join("".join(kept).split()), lost


def _printable_winansi(char: str) -> bool:
    if not (" " <= char <= "~" or "\xa0" <= char):
        return False
    try:
        char.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True
