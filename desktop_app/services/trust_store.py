"""The agency's signing trust: anchors, imported CRLs and each supervisor's enrolled certificate.

Administrators configure all three; every change is audited and refused (and the
refusal audited) for anyone else. Signing and verification both read the same
`TrustConfig` from here, so a letter is judged by the same roots and CRLs that allowed
it to be signed.

An enrolled certificate is stored as a PEM bundle: the supervisor's certificate first,
then the intermediate CA certificates from the key's chain. Signing with a token that
holds only the key then still embeds the whole chain, and a CRL from that intermediate
can be checked at import. Enrolment proves the certificate belongs to the key (a signed
challenge) and that it may sign now, so a supervisor can never be enrolled with a
certificate that would fail at the first letter.

pyHanko and asn1crypto are imported inside the methods: the application opens without
them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import select

from desktop_app.domain.errors import InputRejected, NotFound, Problem
from desktop_app.domain.types import Role
from desktop_app.services import audit
from desktop_app.domain.permissions import may_administer
from desktop_app.services.context import Actor, ServiceContext, current_actor
from desktop_app.storage.models import AuditEvent, RevocationList, TrustAnchor, User

if TYPE_CHECKING:
    from asn1crypto import crl as asn1_crl
    from asn1crypto import x509 as asn1_x509

    from sqlalchemy.orm import Session

    from desktop_app.letters.signing import KeySource, SessionSigner
    from desktop_app.letters.trust import TrustConfig

log = logging.getLogger("clearance_desk.letters")

NO_ANCHOR = ("no trust anchor is configured; an administrator adds the agency's root certificate under "
             "Admin → Trust anchors and certificates")
ANCHOR_ACTIONS = ("trust.add_anchor", "trust.remove_anchor")
ENROL_ACTION = "user.enrol_certificate"


@dataclass(frozen=True)
class KeyFile:
    """A PKCS#12 file holding the signing key (the GUI's choice, without loading pyHanko)."""

    path: Path


@dataclass(frozen=True)
class KeyToken:
    """A key on a smart card or other PKCS#11 token."""

    module: Path
    token_label: str
    key_label: str


def key_source(source: KeyFile | KeyToken | KeySource) -> KeySource:
    """The letters package's key source for a service caller's description of it."""
    from desktop_app.letters.signing import Pkcs11Source, Pkcs12Source

    if isinstance(source, KeyFile):
        return Pkcs12Source(Path(source.path))
    if isinstance(source, KeyToken):
        return Pkcs11Source(Path(source.module), source.token_label, source.key_label)
    return source


@dataclass(frozen=True)
class AnchorInfo:
    id: int
    name: str
    subject: str
    fingerprint: str
    not_after: dt.datetime
    added_at: dt.datetime


@dataclass(frozen=True)
class CrlEntry:
    id: int
    name: str
    issuer: str
    this_update: dt.datetime
    next_update: dt.datetime | None
    revoked_count: int
    der_sha256: str

    def overdue(self, now: dt.datetime) -> bool:
        """Past its next update: the agency should import a fresh one."""
        return self.next_update is not None and self.next_update < now


@dataclass(frozen=True)
class EnrolledCertificate:
    username: str
    display_name: str
    role: Role
    name: str | None = None
    subject: str | None = None
    issuer: str | None = None
    fingerprint: str | None = None
    not_after: dt.datetime | None = None


class TrustStoreService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # -- reading ------------------------------------------------------------------------
    def trust_config(self, *, extra_roots: tuple[bytes, ...] = (), require: bool = True,
                     only_extra: bool = False) -> TrustConfig:
        """The audited anchors (plus `extra_roots`, or only those) and every imported CRL.

        An anchor row without the audit event that added it (written into the database
        file behind the application's back) is not trusted, for signing or verifying.
        """
        from desktop_app.letters.trust import TrustConfig, load_certificates, load_crls

        with self.ctx.reading() as session:
            anchors = [] if only_extra else self._audited_anchor_pems(session)
            crls = [bytes(row.der) for row in session.scalars(select(RevocationList).order_by(RevocationList.id))]
        roots = tuple(cert for data in (*anchors, *extra_roots) for cert in load_certificates(data))
        if not roots and require:
            unaudited = self.unaudited_anchors()
            if unaudited:
                raise InputRejected(f"no audited trust anchor is configured: {unaudited[0]} has no audit event "
                                    f"and is not trusted")
            raise InputRejected(NO_ANCHOR)
        return TrustConfig(roots, tuple(crl for data in crls for crl in load_crls(data)))

    def _audited_anchor_pems(self, session: Session) -> list[bytes]:
        from desktop_app.letters.trust import fingerprint, load_certificates

        audited = _audited_anchors(session)
        pems = []
        for row in session.scalars(select(TrustAnchor).order_by(TrustAnchor.id)):
            data = row.pem.encode("ascii")
            if all(fingerprint(cert) in audited for cert in load_certificates(data)):
                pems.append(data)
            else:
                log.warning("trust anchor %s has no audit event that added it; it is not trusted", row.subject)
        return pems

    def unaudited_anchors(self) -> list[str]:
        """Subjects of anchor rows no audited administrator action added."""
        from desktop_app.letters.trust import fingerprint, load_certificates

        with self.ctx.reading() as session:
            audited = _audited_anchors(session)
            return [row.subject for row in session.scalars(select(TrustAnchor).order_by(TrustAnchor.id))
                    if not all(fingerprint(cert) in audited for cert in load_certificates(row.pem.encode("ascii")))]

    def enrolment_audited(self, username: str, fingerprint: str) -> bool:
        """Whether `fingerprint` was enrolled for `username` by an audited administrator action."""
        with self.ctx.reading() as session:
            for after in session.scalars(select(AuditEvent.after).where(
                    AuditEvent.entity_type == "user", AuditEvent.entity_id == username,
                    AuditEvent.action == ENROL_ACTION).order_by(AuditEvent.seq.desc()).limit(1)):
                recorded = json.loads(after or "{}")
                return fingerprint in (recorded.get("fingerprint"), recorded.get("certificate_fingerprint"))
        return False

    def anchors(self) -> list[AnchorInfo]:
        from desktop_app.letters.trust import common_name, describe_certificate, load_certificates

        with self.ctx.reading() as session:
            rows = list(session.scalars(select(TrustAnchor).order_by(TrustAnchor.id)))
        result = []
        for row in rows:
            certificate = load_certificates(row.pem.encode("ascii"))[0]
            info = describe_certificate(certificate)
            result.append(AnchorInfo(row.id, common_name(certificate), row.subject, row.fingerprint, info.not_after,
                                     row.added_at))
        return result

    def crls(self) -> list[CrlEntry]:
        with self.ctx.reading() as session:
            rows = list(session.scalars(select(RevocationList).order_by(RevocationList.issuer, RevocationList.id)))
            return [self._crl_entry(row) for row in rows]

    @staticmethod
    def _crl_entry(row: RevocationList) -> CrlEntry:
        from desktop_app.letters.trust import describe_crl, display_name, load_crls

        crl = load_crls(bytes(row.der))[0]
        info = describe_crl(crl)
        return CrlEntry(row.id, display_name(crl.issuer), row.issuer, row.this_update, row.next_update, len(info.revoked_serials),
                        row.der_sha256)

    def supervisors(self) -> list[EnrolledCertificate]:
        """Every active supervisor with the certificate enrolled for them, if any."""
        with self.ctx.reading() as session:
            users = list(session.scalars(select(User).where(User.role == Role.SUPERVISOR.value, User.active.is_(True))
                                         .order_by(User.username)))
            return [self._enrolled(user) for user in users]

    def enrolled(self, username: str) -> EnrolledCertificate:
        with self.ctx.reading() as session:
            user = session.scalar(select(User).where(User.username == username))
            if user is None:
                raise NotFound(f"no user named {username!r}")
            return self._enrolled(user)

    @staticmethod
    def _enrolled(user: User) -> EnrolledCertificate:
        from desktop_app.letters.trust import common_name, describe_certificate, load_certificates

        if not user.certificate_pem:
            return EnrolledCertificate(user.username, user.display_name, Role(user.role))
        certificate = load_certificates(user.certificate_pem.encode("ascii"))[0]
        info = describe_certificate(certificate)
        return EnrolledCertificate(user.username, user.display_name, Role(user.role), common_name(certificate),
                                   info.subject, info.issuer, user.certificate_fingerprint, info.not_after)

    def enrolled_bundle(self, user_id: int) -> tuple[str | None, bytes | None]:
        """(fingerprint, PEM bundle) enrolled for a user, for the signing checks."""
        with self.ctx.reading() as session:
            user = session.get(User, user_id)
            if user is None:
                raise NotFound(f"no user with id {user_id}")
            pem = user.certificate_pem.encode("ascii") if user.certificate_pem else None
            return user.certificate_fingerprint, pem

    # -- administration -----------------------------------------------------------------
    def _require_admin(self, actor: Actor, what: str, entity_type: str, entity_id: object) -> None:
        self.ctx.require(actor, may_administer, f"only an administrator may {what}", attempted=what,
                         entity_type=entity_type, entity_id=entity_id)

    @staticmethod
    def _still_admin(session: Session, actor: Actor, what: str) -> None:
        """In the change's own transaction: the account is still an active administrator's."""
        current_actor(session, actor, may=may_administer, refusal=f"only an administrator may {what}")

    def add_anchor(self, actor: Actor, data: bytes, *, source: str = "") -> list[AnchorInfo]:
        """Add each CA certificate in a PEM bundle (or one DER certificate) as a trust anchor."""
        from desktop_app.letters.trust import describe_certificate, load_certificates

        self._require_admin(actor, "add a trust anchor", "trust_anchor", "-")
        certificates = _labelled(lambda: load_certificates(data), source)
        problems = []
        for certificate in certificates:
            info = describe_certificate(certificate)
            if not info.is_ca:
                problems.append(Problem(f"{info.subject} is not a CA certificate; a trust anchor is the agency's "
                                        f"root (or issuing) CA", file=source or None))
            elif info.not_after < self.ctx.now():
                problems.append(Problem(f"{info.subject} expired on {info.not_after:%Y-%m-%d}", file=source or None))
        if problems:
            raise InputRejected(problems)
        added: list[TrustAnchor] = []
        with self.ctx.transaction() as session:
            self._still_admin(session, actor, "add a trust anchor")
            for certificate in certificates:
                info = describe_certificate(certificate)
                if session.scalar(select(TrustAnchor.id).where(TrustAnchor.fingerprint == info.sha256_fingerprint)):
                    raise InputRejected(Problem(f"{info.subject} is already a trust anchor", file=source or None))
                row = TrustAnchor(subject=info.subject[:500], fingerprint=info.sha256_fingerprint,
                                  pem=_pem(certificate.dump(), "CERTIFICATE"), added_at=self.ctx.now())
                session.add(row)
                session.flush()
                audit.record(session, actor=actor.username, action="trust.add_anchor", entity_type="trust_anchor",
                             entity_id=info.sha256_fingerprint, now=self.ctx.now(),
                             after={"subject": info.subject, "serial": str(info.serial),
                                    "not_after": info.not_after, "source": source})
                added.append(row)
            ids = {row.id for row in added}
        return [anchor for anchor in self.anchors() if anchor.id in ids]

    def remove_anchor(self, actor: Actor, anchor_id: int) -> None:
        """Stop trusting a root. Letters it vouched for no longer verify: that is the point."""
        self._require_admin(actor, "remove a trust anchor", "trust_anchor", anchor_id)
        with self.ctx.transaction() as session:
            self._still_admin(session, actor, "remove a trust anchor")
            row = session.get(TrustAnchor, anchor_id)
            if row is None:
                raise NotFound(f"no trust anchor with id {anchor_id}")
            audit.record(session, actor=actor.username, action="trust.remove_anchor", entity_type="trust_anchor",
                         entity_id=row.fingerprint, before={"subject": row.subject}, now=self.ctx.now())
            session.delete(row)

    def import_crl(self, actor: Actor, data: bytes, *, source: str = "") -> CrlEntry:
        """Import a CRL (PEM or DER); it replaces an older CRL of the same issuer."""
        from desktop_app.letters.trust import describe_crl, load_crls

        self._require_admin(actor, "import a CRL", "crl", "-")
        crls = _labelled(lambda: load_crls(data), source)
        if len(crls) != 1:
            raise InputRejected(Problem(f"holds {len(crls)} CRLs; import one at a time", file=source or None))
        crl = crls[0]
        info = describe_crl(crl)
        der = crl.dump()
        digest = hashlib.sha256(der).hexdigest()
        self._check_crl_signature(crl, source)
        with self.ctx.transaction() as session:
            self._still_admin(session, actor, "import a CRL")
            if session.scalar(select(RevocationList.id).where(RevocationList.der_sha256 == digest)):
                raise InputRejected(Problem("this CRL is already imported", file=source or None))
            older = list(session.scalars(select(RevocationList).where(RevocationList.issuer == info.issuer[:500])))
            for row in older:
                if row.this_update >= info.this_update:
                    raise InputRejected(Problem(
                        f"older than the CRL of {info.issuer} already in force (issued "
                        f"{row.this_update:%Y-%m-%d %H:%M} UTC)", file=source or None))
            for row in older:
                session.delete(row)
            row = RevocationList(issuer=info.issuer[:500], der_sha256=digest, der=der, this_update=info.this_update,
                                 next_update=info.next_update, added_at=self.ctx.now())
            session.add(row)
            session.flush()
            audit.record(session, actor=actor.username, action="trust.import_crl", entity_type="crl",
                         entity_id=digest, now=self.ctx.now(),
                         before={"replaced": [r.der_sha256 for r in older]} if older else None,
                         after={"issuer": info.issuer, "this_update": info.this_update,
                                "next_update": info.next_update, "revoked_serials": [str(s) for s in
                                                                                     info.revoked_serials],
                                "source": source})
            return self._crl_entry(row)

    def _check_crl_signature(self, crl: asn1_crl.CertificateList, source: str) -> None:
        """If the issuer is a known CA (an anchor or an enrolled chain's), its signature must hold."""
        from cryptography import x509
        from cryptography.exceptions import InvalidSignature

        issuers = [cert for cert in self._known_ca_certificates() if cert.subject == crl.issuer]
        if not issuers:
            log.info("CRL of %s imported without a known issuer certificate", crl.issuer.human_friendly)
            return
        loaded = x509.load_der_x509_crl(crl.dump())
        for issuer in issuers:
            public_key = x509.load_der_x509_certificate(issuer.dump()).public_key()
            try:
                if loaded.is_signature_valid(public_key):  # type: ignore[arg-type]
                    return
            except (InvalidSignature, TypeError, ValueError):
                continue
        raise InputRejected(Problem(f"the CRL's signature does not verify with the certificate of "
                                    f"{crl.issuer.human_friendly}", file=source or None))

    def _known_ca_certificates(self) -> list[asn1_x509.Certificate]:
        from desktop_app.letters.trust import load_certificates

        with self.ctx.reading() as session:
            pems = [row.pem for row in session.scalars(select(TrustAnchor))]
            pems += [pem for pem in session.scalars(select(User.certificate_pem).where(User.certificate_pem.is_not(None)))
                     if pem]
        return [cert for pem in pems for cert in load_certificates(pem.encode("ascii")) if cert.ca]

    def enrol(self, actor: Actor, username: str, source: KeyFile | KeyToken | KeySource, secret: str, *,
              certificate: bytes | None = None) -> EnrolledCertificate:
        """Enrol a supervisor's signing certificate, proven against their key (p12 passphrase or token PIN)."""
        from desktop_app.letters.signing import check_certificate_matches_key, open_signer
        from desktop_app.letters.trust import describe_certificate, load_certificates

        self._require_admin(actor, "enrol a signing certificate", "user", username)
        target = self.enrolled(username)
        if target.role is not Role.SUPERVISOR:
            raise InputRejected(Problem(f"{username} is a {target.role.value}; only supervisors sign letters",
                                        field="user"))
        trust = self.trust_config()
        with open_signer(key_source(source), secret) as signer:
            enrolled = load_certificates(certificate)[0] if certificate is not None else signer.certificate
            check_certificate_matches_key(enrolled.dump(), signer)
            chain = [cert for cert in signer.chain if cert.ca and not cert.self_issued]
            check_may_sign(enrolled, chain, trust)
        info = describe_certificate(enrolled)
        bundle = "".join(_pem(cert.dump(), "CERTIFICATE") for cert in (enrolled, *chain))
        with self.ctx.transaction() as session:
            self._still_admin(session, actor, "enrol a signing certificate")
            user = session.scalar(select(User).where(User.username == username))
            assert user is not None
            before = {"fingerprint": user.certificate_fingerprint} if user.certificate_fingerprint else None
            user.certificate_pem = bundle
            user.certificate_fingerprint = info.sha256_fingerprint
            audit.record(session, actor=actor.username, action="user.enrol_certificate", entity_type="user",
                         entity_id=username, before=before, now=self.ctx.now(),
                         after={"subject": info.subject, "issuer": info.issuer, "serial": str(info.serial),
                                "fingerprint": info.sha256_fingerprint, "not_after": info.not_after,
                                "key": type(source).__name__})
        log.info("enrolled %s for %s", info.subject, username)
        return self.enrolled(username)


def _audited_anchors(session: Session) -> set[str]:
    """Fingerprints whose latest trust-anchor event added them (and no later one removed them)."""
    latest: dict[str, str] = {}
    for entity_id, action in session.execute(select(AuditEvent.entity_id, AuditEvent.action).where(
            AuditEvent.entity_type == "trust_anchor", AuditEvent.action.in_(ANCHOR_ACTIONS)).order_by(AuditEvent.seq)):
        latest[entity_id] = action
    return {digest for digest, action in latest.items() if action == "trust.add_anchor"}


def check_may_sign(certificate: asn1_x509.Certificate, chain: list[asn1_x509.Certificate],
                   trust: TrustConfig) -> None:
    """The same judgement `check_signer` makes of an opened key, for a certificate on its own."""
    from desktop_app.letters.signing import check_signer

    @dataclass
    class _Holder:
        certificate: Any
        chain: tuple[Any, ...]

    check_signer(cast("SessionSigner", _Holder(certificate, tuple(chain))), trust)


def _labelled(load: Any, source: str) -> Any:
    """Name the file in a loading error (the loaders name only "data" for bytes)."""
    try:
        return load()
    except InputRejected as error:
        if not source:
            raise
        raise InputRejected([Problem(p.message, file=source, field=p.field) for p in error.problems]) from None


def _pem(der: bytes, kind: str) -> str:
    from asn1crypto import pem

    return pem.armor(kind, der).decode("ascii")

