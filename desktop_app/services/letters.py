"""Clearance letters as a use case: issue (approve and sign), notices, revoke, register, verify.

Issuing is one transaction: the supervisor's approval (through the workflow service),
the next gapless CL-YYYY-NNNN, the rendered and signed PDF, the register row and the
audit events commit together or not at all. A failed signature gives its number back,
and the PDF's blob, promoted just before the commit, is taken back if the commit fails.

Before anything is written the key is opened, its certificate must be the one enrolled
for the supervisor, and it must chain to the configured trust anchors and not be
revoked, expired or of the wrong usage; the passphrase or PIN is used for that one call
and never kept.

Verification adds the register's word to the six cryptographic checks of
`letters.verify`: the number is in the register, the file has the registered SHA-256
(so any appended or changed byte fails, whatever pyHanko thinks of the revision), and
the letter is neither revoked nor superseded.

reportlab and pyHanko are imported inside the methods that need them.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import dataclasses
import datetime as dt
import functools
import hashlib
import json
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop_app.domain import clock as review_clock
from desktop_app.domain import findings as finding_rules
from desktop_app.domain.errors import (
    CheckResult,
    ClearanceDeskError,
    InputRejected,
    IntegrityFailure,
    NotFound,
    Problem,
    TransitionNotAllowed,
)
from desktop_app.domain.findings import label as finding_label
from desktop_app.domain.permissions import may_sign
from desktop_app.domain.text import checked
from desktop_app.domain.types import Decision, FindingStatus, LetterKind, Role, Severity, SubmissionState
from desktop_app.services import audit
from desktop_app.services.condition_signoff import (
    follow_successor,
    open_for_letter,
    plan_for_signoff,
    waive_for_revoked_letter,
)
from desktop_app.services.context import Actor, ServiceContext, current_actor
from desktop_app.services.findings import categories
from desktop_app.services.references import next_number, peek
from desktop_app.services.settings import SettingsService
from desktop_app.services.trust_store import KeyFile, KeyToken, TrustStoreService, key_source
from desktop_app.services.users import UserService
from desktop_app.storage.blobstore import StagingArea
from desktop_app.storage.models import (
    AuditEvent,
    InformationRequest,
    Letter,
    LetterRevocation,
    Recommendation,
    SignOff,
    Submission,
    User,
)

if TYPE_CHECKING:
    from desktop_app.letters.content import LetterContent
    from desktop_app.letters.results import RenderedLetter
    from desktop_app.letters.signing import KeySource, SessionSigner
    from desktop_app.letters.trust import TrustConfig

    AnyKey = KeyFile | KeyToken | KeySource

log = logging.getLogger("clearance_desk.letters")

#: the register's checks, after the six cryptographic ones of `letters.verify.CHECKS`
IN_REGISTER = "letter number in the register"
SAME_DIGEST = "same SHA-256 as registered"
NOT_WITHDRAWN = "not revoked"
NOT_SUPERSEDED = "not superseded"
REGISTER_CHECKS = (IN_REGISTER, SAME_DIGEST, NOT_WITHDRAWN, NOT_SUPERSEDED)

#: the state a notice letter belongs to
_NOTICE_STATES = {
    LetterKind.REFUSAL: SubmissionState.REFUSED,
    LetterKind.INFORMATION_REQUEST: SubmissionState.AWAITING_INFO,
    LetterKind.CONDITIONS_MET: SubmissionState.ISSUED,
}

Approver = Callable[..., Any]
__all__ = ["IssuedLetter", "KeyFile", "KeyToken", "LetterService", "RegisterEntry", "issue_demo_letters"]


@dataclass(frozen=True)
class IssuedLetter:
    id: int
    number: str
    kind: LetterKind
    submission_id: int
    reference: str
    decision: Decision | None
    pdf_sha256: str
    data_digest: str
    signer_fingerprint: str
    audit_head: str
    supersedes: str | None = None
    #: the letter a revocation or conditions-met notice is about
    concerns: str | None = None


@dataclass(frozen=True)
class RegisterEntry:
    id: int
    number: str
    kind: LetterKind
    submission_id: int
    reference: str
    decision: Decision | None
    issued_at: dt.datetime
    signer: str
    pdf_sha256: str
    revoked: bool
    revocation_reason: str
    superseded_by: str | None
    supersedes: str | None
    #: the letter a revocation or conditions-met notice is about
    concerns: str | None = None

    @property
    def file_name(self) -> str:
        return f"{self.number}.pdf"

    @property
    def status(self) -> str:
        if self.revoked:
            return "revoked"
        if self.superseded_by:
            return f"superseded by {self.superseded_by}"
        return "valid"


@dataclass(frozen=True)
class _Issue:
    """What one letter says beyond what the submission itself holds."""

    kind: LetterKind
    signer_name: str
    signer_title: str
    appendix: bool = True
    items: tuple[str, ...] = ()
    demo: bool = False
    #: the reasons a "not cleared" or conditional letter states, as edited at sign-off ("" = the rationale)
    reasons: str = ""
    #: the letter a corrected letter replaces or a revocation notice revokes
    refers_to_id: int | None = None


class LetterService:
    def __init__(self, ctx: ServiceContext, *, approver: Approver | None = None) -> None:
        self.ctx = ctx
        self.trust = TrustStoreService(ctx)
        self.settings = SettingsService(ctx)
        self.users = UserService(ctx)
        self._approver = approver

    # -- issuing -------------------------------------------------------------------------
    def approve_and_issue(self, actor: Actor, submission_id: int, *, password: str, source: AnyKey,
                          secret: str, comment: str = "", appendix: bool = True,
                          conditions_due: Sequence[dt.date | None] | dt.date | None = None,
                          condition_owner_id: int | None = None, reasons: str | None = None) -> IssuedLetter:
        """Approve the pending recommendation and issue its signed clearance letter, all or nothing.

        For "cleared with conditions" each condition needs its due date (one for all, or one
        each); the letter's conditions become tracked items in the same transaction.
        `reasons` are the agency's reasons as the supervisor approves them for the letter
        (None: the recommendation's rationale as written); they are recorded with the sign-off.
        """
        self._require_signer(actor, "approve and sign a clearance letter", submission_id)
        today = review_clock.agency_date(self.ctx.now(), str(self.settings.get("agency_time_zone")))
        plan = plan_for_signoff(self.ctx, submission_id, conditions_due, condition_owner_id, today=today)
        trust = self.trust.trust_config()
        settings = self.settings.all()
        letter_reasons = (reasons or "").strip()
        with self._open_checked_signer(actor, source, secret, trust) as signer:
            issue = self._issue_details(actor, LetterKind.CLEARANCE, signer, appendix=appendix,
                                        reasons=letter_reasons)
            made: list[IssuedLetter] = []
            with self.ctx.blobs.staging() as area:

                def issue_letter(session: Session, submission: Submission) -> IssuedLetter:
                    letter = self._issue_in(session, submission, actor, issue, signer, trust, settings, area)
                    if plan is not None:
                        open_for_letter(session, plan, letter, actor=actor.username, now=self.ctx.now())
                    made.append(letter)
                    return letter

                try:
                    self._approve(actor, submission_id, password=password, comment=comment, issue=issue_letter,
                                  letter_reasons=letter_reasons)
                except BaseException:
                    area.rollback_promotion()
                    raise
        if not made:  # the workflow committed without calling back: nothing may be approved unsigned
            raise IntegrityFailure(f"submission {submission_id} was approved but no letter was issued")
        log.info("issued %s for %s", made[0].number, made[0].reference)
        return made[0]

    def _approve(self, actor: Actor, submission_id: int, **kwargs: Any) -> Any:
        if self._approver is not None:
            return self._approver(actor, submission_id, **kwargs)
        from desktop_app.services.workflow import WorkflowService  # type: ignore[import-not-found,unused-ignore]

        return WorkflowService(self.ctx).approve(actor, submission_id, **kwargs)

    def issue_notice(self, actor: Actor, submission_id: int, kind: LetterKind, *, password: str,
                     source: AnyKey, secret: str, items: Sequence[str] | None = None,
                     prepare: Callable[[Session, Submission], Sequence[str]] | None = None,
                     refers_to_id: int | None = None) -> IssuedLetter:
        """A signed notice: refusal to accept (REFUSED), request for information (AWAITING_INFO), conditions met.

        `prepare(session, submission)` runs first in the issuing transaction (the change the
        notice records) and returns the notice's items; if anything fails, neither is kept.
        `refers_to_id` names the letter a conditions-met notice is about (default: the
        submission's standing clearance letter).
        """
        kind = LetterKind(kind)
        if kind not in _NOTICE_STATES:
            raise InputRejected(Problem(f"{kind.value} letters are issued by approving", field="kind"))
        self._require_signer(actor, f"sign a {kind.value} letter", submission_id)
        self.users.reauthenticate(actor, password)
        trust = self.trust.trust_config()
        settings = self.settings.all()
        with self._open_checked_signer(actor, source, secret, trust) as signer:
            issue = self._issue_details(actor, kind, signer, items=tuple(items or ()), refers_to_id=refers_to_id)
            with self.ctx.blobs.staging() as area:
                try:
                    with self.ctx.transaction() as session:
                        _still_signer(session, actor)
                        submission = session.get(Submission, submission_id)
                        if submission is None:
                            raise NotFound(f"no submission with id {submission_id}")
                        if prepare is not None:
                            issue = dataclasses.replace(issue, items=tuple(prepare(session, submission)))
                        letter = self._issue_in(session, submission, actor, issue, signer, trust, settings, area)
                except BaseException:
                    area.rollback_promotion()
                    raise
        log.info("issued %s (%s) for %s", letter.number, kind.value, letter.reference)
        return letter

    def _require_signer(self, actor: Actor, what: str, submission_id: object) -> None:
        """Before the slow part (the key, the password): the account as stored now may sign."""
        self.ctx.require(actor, may_sign, _signer_refusal(actor.role), attempted=what, entity_type="submission",
                         entity_id=submission_id)

    def _issue_details(self, actor: Actor, kind: LetterKind, signer: SessionSigner | None, *,
                       appendix: bool = True, items: tuple[str, ...] = (), reasons: str = "",
                       refers_to_id: int | None = None) -> _Issue:
        with self.ctx.reading() as session:
            user = session.get(User, actor.user_id)
            if user is None:
                raise NotFound(f"no user with id {actor.user_id}")
            name, title = user.display_name, user.title
        demo = self.ctx.paths.demo_pki.is_dir()
        if signer is not None:
            from desktop_app.letters.trust import common_name

            demo = demo or "DEMO" in common_name(signer.certificate).upper()
        else:  # a preview: the certificate that will sign is the enrolled one
            demo = demo or "DEMO" in (self.trust.enrolled(actor.username).name or "").upper()
        return _Issue(kind, name, title, appendix, items, demo, reasons, refers_to_id)

    @staticmethod
    def _complete_source(source: KeySource, bundle: bytes | None) -> KeySource:
        """A token key without its certificate or chain signs with the enrolled bundle's."""
        from desktop_app.letters.signing import Pkcs11Source
        from desktop_app.letters.trust import load_certificates

        if not isinstance(source, Pkcs11Source) or bundle is None:
            return source
        enrolled, *chain = load_certificates(bundle)
        return dataclasses.replace(
            source,
            certificate=source.certificate if source.certificate is not None else enrolled.dump(),
            chain=source.chain or tuple(cert.dump() for cert in chain),
        )

    def _open_checked_signer(self, actor: Actor, source: AnyKey, secret: str, trust: TrustConfig) -> SessionSigner:
        """Open the key; it must be the enrolled certificate's and allowed to sign now."""
        from desktop_app.letters.signing import check_signer, open_signer

        fingerprint, bundle = self.trust.enrolled_bundle(actor.user_id)
        if not fingerprint:
            raise InputRejected(f"no signing certificate is enrolled for {actor.label}; an administrator enrols it "
                                f"under Admin → Trust anchors and certificates")
        if not self.trust.enrolment_audited(actor.username, fingerprint):
            raise InputRejected(f"the signing certificate enrolled for {actor.label} (SHA-256 {fingerprint[:16]}…) "
                                f"has no audit event that enrolled it; an administrator enrols it again")
        signer = open_signer(self._complete_source(key_source(source), bundle), secret)
        try:
            if signer.fingerprint != fingerprint:
                from desktop_app.letters.trust import common_name

                raise InputRejected(
                    f"this key's certificate ({common_name(signer.certificate)}, SHA-256 {signer.fingerprint[:16]}…) "
                    f"is not the one enrolled for {actor.label} (SHA-256 {fingerprint[:16]}…)")
            check_signer(signer, trust)
        except BaseException:
            signer.close()
            raise
        return signer

    def _issue_in(self, session: Session, submission: Submission, actor: Actor, issue: _Issue,
                  signer: SessionSigner, trust: TrustConfig, settings: dict[str, Any],
                  area: StagingArea) -> IssuedLetter:
        """Inside the issuing transaction: number, content, render, sign, store, register, audit."""
        from desktop_app.letters.render import render_letter
        from desktop_app.letters.seal import seal_letter
        from desktop_app.letters.signing import sign_letter

        if issue.kind in _NOTICE_STATES and SubmissionState(submission.state) is not _NOTICE_STATES[issue.kind]:
            raise TransitionNotAllowed(
                f"a {issue.kind.value} letter goes with a submission that is "
                f"{_NOTICE_STATES[issue.kind].label.lower()}; {submission.reference} is "
                f"{SubmissionState(submission.state).label.lower()}")
        now = self.ctx.now()
        year = review_clock.agency_date(now, str(settings["agency_time_zone"])).year
        number, sequence = next_number(session, "CL", year)
        supersedes, concerns = self._related_letters(session, submission, issue)
        content = self._content(session, submission, issue, settings, number=number, now=now,
                                refers_to=supersedes or concerns)
        seal = seal_letter(content, submission.reference, signer)
        rendered = render_letter(content, seal.text())
        signed = sign_letter(rendered, signer, trust)
        staged = area.write_bytes(signed)
        decision = content.decision
        row = Letter(number=number, year=year, sequence=sequence, kind=issue.kind.value, submission_id=submission.id,
                     decision=decision.value if decision else None, pdf_sha256=staged.sha256,
                     data_digest=content.data_digest(), signer_id=actor.user_id,
                     signer_fingerprint=signer.fingerprint, audit_head=content.audit_head, issued_at=now,
                     supersedes_id=supersedes.id if supersedes else None,
                     concerns_id=concerns.id if concerns else None)
        session.add(row)
        session.flush()
        audit.record(session, actor=actor.username, action="letter.issue", entity_type="letter", entity_id=number,
                     now=now, after={"submission": submission.reference, "kind": issue.kind.value,
                                     "decision": row.decision, "pdf_sha256": row.pdf_sha256,
                                     "data_digest": row.data_digest, "signer_fingerprint": row.signer_fingerprint,
                                     "audit_head": row.audit_head, "pages": rendered.page_count,
                                     "supersedes": supersedes.number if supersedes else None,
                                     "concerns": concerns.number if concerns else None,
                                     "meaning": content.signatory.meaning})
        if supersedes is not None:
            audit.record(session, actor=actor.username, action="letter.supersede", entity_type="letter",
                         entity_id=supersedes.number, now=now, before={"status": "valid"},
                         after={"status": "superseded", "superseded_by": number})
            follow_successor(session, supersedes, row, actor=actor.username, now=now)
        area.promote()
        return IssuedLetter(row.id, number, issue.kind, submission.id, submission.reference, decision, row.pdf_sha256,
                            row.data_digest, row.signer_fingerprint, row.audit_head,
                            supersedes.number if supersedes else None, concerns.number if concerns else None)

    def _related_letters(self, session: Session, submission: Submission,
                         issue: _Issue) -> tuple[Letter | None, Letter | None]:
        """(the letter this one supersedes, the letter a notice is about), each checked against the register."""
        if issue.refers_to_id is None and issue.kind is LetterKind.CONDITIONS_MET:
            return None, self._standing_clearance(session, submission)
        if issue.refers_to_id is None:
            return self._superseded_letter(session, submission, issue.kind), None
        letter = session.get(Letter, issue.refers_to_id)
        if letter is None or letter.submission_id != submission.id:
            raise NotFound(f"no letter with id {issue.refers_to_id} for {submission.reference}")
        revoked = session.scalar(select(LetterRevocation.id).where(LetterRevocation.letter_id == letter.id))
        replaced = session.scalar(select(Letter.number).where(Letter.supersedes_id == letter.id))
        if issue.kind is LetterKind.REVOCATION:
            if revoked is None:
                raise TransitionNotAllowed(f"{letter.number} is not revoked; a revocation notice follows a revocation")
            notice = session.scalar(select(Letter.number).where(Letter.concerns_id == letter.id,
                                                                Letter.kind == LetterKind.REVOCATION.value))
            if notice is not None:
                raise TransitionNotAllowed(f"the revocation of {letter.number} was already notified in {notice}")
            return None, letter
        if issue.kind is LetterKind.CORRECTED:
            if LetterKind(letter.kind) not in (LetterKind.CLEARANCE, LetterKind.CORRECTED):
                raise TransitionNotAllowed(f"{letter.number} is a {letter.kind} letter; only a clearance letter is "
                                           f"corrected this way")
            if revoked is not None or replaced is not None:
                raise TransitionNotAllowed(f"{letter.number} no longer stands "
                                           f"({'revoked' if revoked else 'superseded by ' + str(replaced)})")
            return letter, None
        if issue.kind is LetterKind.CONDITIONS_MET:
            return None, letter
        raise InputRejected(Problem(f"a {issue.kind.value} letter names no earlier letter", field="refers_to"))

    @staticmethod
    def _standing_clearance(session: Session, submission: Submission) -> Letter:
        """The clearance (or corrected) letter of the submission that still stands: the one a notice is about."""
        letter = session.scalar(
            select(Letter).where(Letter.submission_id == submission.id,
                                 Letter.kind.in_((LetterKind.CLEARANCE.value, LetterKind.CORRECTED.value)),
                                 Letter.id.not_in(select(LetterRevocation.letter_id)),
                                 Letter.id.not_in(select(Letter.supersedes_id).where(Letter.supersedes_id.is_not(None))))
            .order_by(Letter.id.desc()).limit(1))
        if letter is None:
            raise TransitionNotAllowed(f"{submission.reference} has no clearance letter that stands")
        return letter

    @staticmethod
    def _superseded_letter(session: Session, submission: Submission, kind: LetterKind) -> Letter | None:
        """The letter a new one replaces: a resubmission's clearance, or a corrected refusal notice."""
        if kind is not LetterKind.CLEARANCE and kind is not LetterKind.REFUSAL:
            return None
        submissions = [submission.id]
        if kind is LetterKind.CLEARANCE:
            previous = submission.previous_submission_id
            while previous is not None and previous not in submissions:
                submissions.append(previous)
                previous = session.scalar(select(Submission.previous_submission_id)
                                          .where(Submission.id == previous))
        revoked = select(LetterRevocation.letter_id)
        replaced = select(Letter.supersedes_id).where(Letter.supersedes_id.is_not(None))
        return session.scalar(
            select(Letter).where(Letter.submission_id.in_(submissions), Letter.kind == kind.value,
                                 Letter.id.not_in(revoked), Letter.id.not_in(replaced))
            .order_by(Letter.id.desc()).limit(1))

    # -- content -------------------------------------------------------------------------
    def _content(self, session: Session, submission: Submission, issue: _Issue, settings: dict[str, Any], *,
                 number: str, now: dt.datetime, refers_to: Letter | None = None) -> LetterContent:
        from desktop_app.letters.content import (
            Addressee,
            Artifact,
            Designation,
            FindingEntry,
            LetterContent,
            LetterReference,
            ModelIdentity,
            ReviewPeriod,
            Signatory,
        )

        zone = str(settings["agency_time_zone"])
        today = review_clock.agency_date(now, zone)
        received = review_clock.agency_date(submission.received_at, zone)
        developer = submission.developer
        package = submission.packages[0] if submission.packages else None
        manifest = package.manifest_sha256 if package is not None and package.manifest_sha256 else None
        if manifest is None and not submission.registered_by_hand:
            raise InputRejected(Problem(
                f"{submission.reference} has no imported package manifest; a letter identifies the model by the "
                f"manifest's SHA-256", field="manifest_sha256"))
        findings = [f for f in submission.findings if f.status != FindingStatus.WITHDRAWN.value]
        summary = {severity: sum(1 for f in findings if f.severity == severity.value) for severity in Severity}
        categories = _category_titles()
        # the developer's copy lists only the findings a reviewer marked releasable
        entries = tuple(FindingEntry(finding_label(f.number), f.title, categories.get(f.category, f.category),
                                     Severity(f.severity), FindingStatus(f.status)) for f in findings if f.releasable)
        decision: Decision | None = None
        conditions: tuple[str, ...] = ()
        reasons: tuple[str, ...] = ()
        body: tuple[str, ...] = ()
        paused_on = respond_by = None
        if issue.kind in (LetterKind.CLEARANCE, LetterKind.CORRECTED):
            recommendation = session.scalar(select(Recommendation).where(Recommendation.submission_id == submission.id)
                                            .order_by(Recommendation.id.desc()).limit(1))
            if recommendation is None:
                raise TransitionNotAllowed(f"{submission.reference} has no recommendation to issue a letter for")
            decision = Decision(recommendation.decision)
            if decision is Decision.CLEARED_WITH_CONDITIONS:
                conditions = tuple(str(c).strip() for c in recommendation.conditions or () if str(c).strip())
            if decision is not Decision.CLEARED:
                reasons = _paragraphs(issue.reasons or self._approved_reasons(session, recommendation))
            if issue.kind is LetterKind.CORRECTED:
                body = tuple(item.strip() for item in issue.items if item.strip())
        else:
            body = tuple(item.strip() for item in issue.items if item.strip()) or self._notice_items(
                session, submission, issue.kind)
        if issue.kind is LetterKind.INFORMATION_REQUEST:
            paused_on, respond_by = self._request_dates(session, submission, settings)
        logo = None
        if settings.get("agency_logo_blob"):
            logo = self.ctx.blobs.read_bytes(str(settings["agency_logo_blob"]))
        model = f"{submission.model_name} {submission.model_version}"
        subjects = {
            LetterKind.CLEARANCE: f"Pre-release security evaluation of {model} (submission {submission.reference})",
            LetterKind.CORRECTED: f"Pre-release security evaluation of {model} (submission {submission.reference}): "
                                  f"corrected letter",
            LetterKind.REFUSAL: f"Submission {submission.reference}, {model}: not accepted for review",
            LetterKind.INFORMATION_REQUEST: f"Submission {submission.reference}, {model}: information requested",
            LetterKind.REVOCATION: f"Submission {submission.reference}, {model}: revocation of letter "
                                   f"{refers_to.number if refers_to else ''}",
            LetterKind.CONDITIONS_MET: f"Submission {submission.reference}, {model}: conditions of clearance met",
        }
        address_lines = _lines(developer.address)
        marking = str(settings["handling_marking"])
        designation = None
        if "CUI" in marking.upper():
            designation = Designation(str(settings["cui_controlled_by"]) or str(settings["agency_name"]),
                                      str(settings["cui_category"]), str(settings["cui_point_of_contact"]))
        return LetterContent(
            kind=issue.kind,
            number=number,
            issued_on=today,
            agency_name=str(settings["agency_name"]),
            handling_marking=marking,
            addressee=Addressee(developer.name, developer.contact_name, address_lines),
            subject=subjects[issue.kind],
            model=ModelIdentity(
                submission.model_name, submission.model_version, manifest or "",
                tuple(Artifact(a.path, a.kind, a.sha256, a.bytes) for a in submission.artifacts),
                package_id=package.package_id if package is not None else "",
                registered_on=received if manifest is None else None),
            review_period=ReviewPeriod(received, max(today, received)),
            signatory=Signatory(issue.signer_name, issue.signer_title, now),
            audit_head=audit.head(session)[1],
            disclaimer=str(settings["disclaimer"]),
            decision=decision,
            conditions=conditions,
            findings_summary=summary,
            # the appendix goes with an evaluation's outcome; a notice carries no findings
            findings=entries if issue.appendix and issue.kind in (LetterKind.CLEARANCE, LetterKind.CORRECTED) else (),
            body=body,
            agency_logo=logo,
            demo=issue.demo,
            agency_address=_lines(str(settings["agency_address"])),
            designation=designation,
            reasons=reasons,
            refers_to=LetterReference(refers_to.number, review_clock.agency_date(refers_to.issued_at, zone))
            if refers_to is not None else None,
            paused_on=paused_on,
            respond_by=respond_by,
        )

    @staticmethod
    def _approved_reasons(session: Session, recommendation: Recommendation) -> str:
        """The reasons approved at sign-off, else the recommendation's rationale as the reviewer wrote it."""
        approved = session.scalar(select(SignOff.letter_reasons).where(
            SignOff.recommendation_id == recommendation.id, SignOff.action == "approved")
            .order_by(SignOff.id.desc()).limit(1))
        return approved or recommendation.rationale

    @staticmethod
    def _request_dates(session: Session, submission: Submission,
                       settings: dict[str, Any]) -> tuple[dt.date, dt.date]:
        """When the clock paused (the request was recorded, not the notice signed) and the answer is due."""
        zone = str(settings["agency_time_zone"])
        request = session.scalar(select(InformationRequest).where(
            InformationRequest.submission_id == submission.id, InformationRequest.answered_at.is_(None))
            .order_by(InformationRequest.number.desc()).limit(1))
        paused_at = submission.paused_since or (request.requested_at if request is not None else None)
        if paused_at is None:
            raise InputRejected(Problem(f"{submission.reference} has no open information request", field="items"))
        paused_on = review_clock.agency_date(paused_at, zone)
        if request is not None and request.respond_by is not None:
            return paused_on, request.respond_by
        return paused_on, paused_on + dt.timedelta(days=int(settings["response_days"]))

    @staticmethod
    def _notice_items(session: Session, submission: Submission, kind: LetterKind) -> tuple[str, ...]:
        """The open information requests, or the reasons recorded when the submission was refused."""
        if kind is LetterKind.INFORMATION_REQUEST:
            texts = tuple(session.scalars(select(InformationRequest.text).where(
                InformationRequest.submission_id == submission.id, InformationRequest.answered_at.is_(None))
                .order_by(InformationRequest.number)))
            if texts:
                return texts
            raise InputRejected(Problem(f"{submission.reference} has no open information request", field="items"))
        event = session.scalar(select(AuditEvent).where(
            AuditEvent.entity_type == "submission", AuditEvent.entity_id == submission.reference,
            AuditEvent.action == "submission.refuse").order_by(AuditEvent.seq.desc()).limit(1))
        if event is not None and event.after:
            after = json.loads(event.after)
            reasons = after.get("reasons") or ([after["reason"]] if after.get("reason") else [])
            texts = tuple(str(r) for r in reasons if str(r).strip())
            if texts:
                return texts
        raise InputRejected(Problem("give the reasons the submission was not accepted", field="items"))

    # -- preview -------------------------------------------------------------------------
    def preview_content(self, actor: Actor, submission_id: int, *, kind: LetterKind = LetterKind.CLEARANCE,
                        appendix: bool = True, items: Sequence[str] = (),
                        reasons: str | None = None) -> LetterContent:
        """The letter as it would be issued now, numbered with the next free number (not reserved)."""
        kind = LetterKind(kind)
        settings = self.settings.all()
        issue = self._issue_details(actor, kind, None, appendix=appendix, items=tuple(items), reasons=reasons or "")
        now = self.ctx.now()
        year = review_clock.agency_date(now, str(settings["agency_time_zone"])).year
        with self.ctx.reading() as session:
            submission = session.get(Submission, submission_id)
            if submission is None:
                raise NotFound(f"no submission with id {submission_id}")
            number = f"CL-{year}-{peek(session, 'CL', year) + 1:04d}"
            return self._content(session, submission, issue, settings, number=number, now=now)

    def preview(self, actor: Actor, submission_id: int, *, kind: LetterKind = LetterKind.CLEARANCE,
                appendix: bool = True, items: Sequence[str] = (), in_subprocess: bool = False,
                reasons: str | None = None) -> RenderedLetter:
        """The unsigned letter; `in_subprocess` renders in a worker process (reportlab holds the GIL)."""
        from desktop_app.letters.seal import placeholder_seal, signature_size
        from desktop_app.letters.trust import load_certificates

        content = self.preview_content(actor, submission_id, kind=kind, appendix=appendix, items=items,
                                       reasons=reasons)
        with self.ctx.reading() as session:
            reference = session.scalar(select(Submission.reference).where(Submission.id == submission_id)) or ""
        _fingerprint, bundle = self.trust.enrolled_bundle(actor.user_id)
        size = signature_size(load_certificates(bundle)[0].dump()) if bundle else 384
        qr_code = placeholder_seal(content, reference, signature_bytes=size).text()
        return render_in_subprocess(content, qr_code) if in_subprocess else _render(content, qr_code)

    # -- revocation ----------------------------------------------------------------------
    def revoke(self, actor: Actor, letter_id: int, reason: str, *, password: str) -> RegisterEntry:
        """Record that a letter no longer stands, without a notice. The letter itself is never changed.

        The window revokes with `revoke_and_notify`, which also signs the notice the
        developer receives; this is for an agency that sends its notice another way.
        """
        self._require_signer(actor, "revoke a letter", letter_id)
        reason = _required_reason(reason)
        self.users.reauthenticate(actor, password)
        with self.ctx.transaction() as session:
            letter = self._record_revocation(session, actor, letter_id, reason)
        log.info("revoked %s", letter.number)
        return self.entry(letter_id)

    def revoke_and_notify(self, actor: Actor, letter_id: int, reason: str, *, password: str, source: AnyKey,
                          secret: str) -> tuple[RegisterEntry, IssuedLetter]:
        """Revoke a letter and issue the signed revocation notice that names it and the reason, all or nothing."""
        self._require_signer(actor, "revoke a letter", letter_id)
        reason = _required_reason(reason)
        self.users.reauthenticate(actor, password)

        def revoke_first(session: Session) -> Letter:
            return self._record_revocation(session, actor, letter_id, reason)

        notice = self._issue_about(actor, letter_id, LetterKind.REVOCATION, (reason,), source=source,
                                   secret=secret, before=revoke_first)
        log.info("revoked %s; notice %s", notice.concerns, notice.number)
        return self.entry(letter_id), notice

    def issue_corrected(self, actor: Actor, letter_id: int, correction: str, *, password: str, source: AnyKey,
                        secret: str, appendix: bool = True) -> IssuedLetter:
        """A corrected letter for the agency's own mistake: same decision, supersedes `letter_id`, names it on page 1."""
        self._require_signer(actor, "issue a corrected letter", letter_id)
        correction = (correction or "").strip()
        if not correction:
            raise InputRejected(Problem("say what the corrected letter corrects", field="correction"))
        self.users.reauthenticate(actor, password)
        letter = self._issue_about(actor, letter_id, LetterKind.CORRECTED, (correction,), source=source,
                                   secret=secret, appendix=appendix)
        log.info("issued %s correcting %s", letter.number, letter.supersedes)
        return letter

    def _issue_about(self, actor: Actor, letter_id: int, kind: LetterKind, items: tuple[str, ...], *,
                     source: AnyKey, secret: str, appendix: bool = True,
                     before: Callable[[Session], Any] | None = None) -> IssuedLetter:
        """Sign a letter about an earlier one (corrected letter, revocation notice) in one transaction."""
        trust = self.trust.trust_config()
        settings = self.settings.all()
        with self._open_checked_signer(actor, source, secret, trust) as signer:
            issue = self._issue_details(actor, kind, signer, items=items, appendix=appendix, refers_to_id=letter_id)
            with self.ctx.blobs.staging() as area:
                try:
                    with self.ctx.transaction() as session:
                        _still_signer(session, actor)
                        earlier = session.get(Letter, letter_id)
                        if earlier is None:
                            raise NotFound(f"no letter with id {letter_id}")
                        if before is not None:
                            before(session)
                            session.flush()
                        submission = session.get(Submission, earlier.submission_id)
                        assert submission is not None  # a foreign key
                        return self._issue_in(session, submission, actor, issue, signer, trust, settings, area)
                except BaseException:
                    area.rollback_promotion()
                    raise

    def _record_revocation(self, session: Session, actor: Actor, letter_id: int, reason: str) -> Letter:
        _still_signer(session, actor)
        letter = session.get(Letter, letter_id)
        if letter is None:
            raise NotFound(f"no letter with id {letter_id}")
        existing = session.scalar(select(LetterRevocation).where(LetterRevocation.letter_id == letter.id))
        if existing is not None:
            raise TransitionNotAllowed(f"{letter.number} was already revoked on {existing.revoked_at:%Y-%m-%d}")
        now = self.ctx.now()
        session.add(LetterRevocation(letter_id=letter.id, reason=reason, revoked_by_id=actor.user_id,
                                     revoked_at=now))
        audit.record(session, actor=actor.username, action="letter.revoke", entity_type="letter",
                     entity_id=letter.number, before={"status": "valid"},
                     after={"status": "revoked", "reason": reason}, now=now)
        waive_for_revoked_letter(session, letter, actor=actor.username, now=now)
        return letter

    # -- the register --------------------------------------------------------------------
    def register(self, *, submission_id: int | None = None) -> list[RegisterEntry]:
        with self.ctx.reading() as session:
            stmt = select(Letter).order_by(Letter.year, Letter.sequence)
            if submission_id is not None:
                stmt = stmt.where(Letter.submission_id == submission_id)
            return _entries(session, list(session.scalars(stmt)))

    def entry(self, letter_id: int) -> RegisterEntry:
        with self.ctx.reading() as session:
            letter = session.get(Letter, letter_id)
            if letter is None:
                raise NotFound(f"no letter with id {letter_id}")
            return _entries(session, [letter])[0]

    def id_for_number(self, number: str) -> int:
        with self.ctx.reading() as session:
            found = session.scalar(select(Letter.id).where(Letter.number == number.strip()))
            if found is None:
                raise NotFound(f"no letter {number.strip()} in the register")
            return found

    def pdf(self, letter_id: int) -> bytes:
        """The signed PDF exactly as issued; a stored copy that no longer matches is reported, not served."""
        entry = self.entry(letter_id)
        try:
            data = self.ctx.blobs.read_bytes(entry.pdf_sha256)
        except FileNotFoundError:
            raise IntegrityFailure(f"the stored PDF of {entry.number} is missing from the blob store") from None
        if hashlib.sha256(data).hexdigest() != entry.pdf_sha256:
            raise IntegrityFailure(f"the stored PDF of {entry.number} is damaged: it no longer matches the register")
        return data

    def save_copy(self, letter_id: int, target: Path) -> Path:
        """Write the letter to `target` (a file, or a folder to hold CL-….pdf)."""
        entry = self.entry(letter_id)
        target = Path(target)
        if target.is_dir():
            target = target / entry.file_name
        write_new(target, self.pdf(letter_id))
        return target

    # -- verification --------------------------------------------------------------------
    def verify(self, pdf: bytes, extra_trust: Iterable[bytes | Path] | bytes | Path | None = None) -> list[CheckResult]:
        """The six cryptographic checks, then the register's four; the letter verifies when all pass.

        `extra_trust` (the CLI's `--trust PEM`) replaces the configured anchors: the letter
        is then judged against those certificates only.
        """
        from desktop_app.letters.verify import TRUSTED, printed_metadata, verify_signed_pdf

        extras: list[bytes] = []
        if extra_trust is not None:
            sources = [extra_trust] if isinstance(extra_trust, (bytes, Path)) else list(extra_trust)
            for source in sources:
                extras.append(_read(source))
        trust = self.trust.trust_config(extra_roots=tuple(extras), only_extra=bool(extras))
        results = verify_signed_pdf(pdf, trust)
        if not extras:
            results = [self._name_unaudited_anchors(r) if r.name == TRUSTED and not r.ok else r for r in results]
        signer = next((r.extra.get("signer_sha256") for r in results if r.extra.get("signer_sha256")), None)
        return results + self._register_checks(pdf, printed_metadata(pdf), signer)

    def _name_unaudited_anchors(self, result: CheckResult) -> CheckResult:
        unaudited = self.trust.unaudited_anchors()
        if not unaudited:
            return result
        return dataclasses.replace(result, detail=f"{result.detail}; not trusted either: {', '.join(unaudited)}, "
                                                  f"an anchor with no audit event that added it")

    def _register_checks(self, pdf: bytes, printed: dict[str, str], signer: str | None) -> list[CheckResult]:
        number = printed.get("number")
        if number is None:
            return _not_reached(CheckResult(IN_REGISTER, False, "the file names no letter number (CL-YYYY-NNNN)"))
        with self.ctx.reading() as session:
            letter = session.scalar(select(Letter).where(Letter.number == number))
            if letter is None:
                return _not_reached(CheckResult(IN_REGISTER, False, f"{number} is not in this register"))
            entry = _entries(session, [letter])[0]
            issued = session.execute(select(AuditEvent.seq, AuditEvent.after).where(
                AuditEvent.action == "letter.issue", AuditEvent.entity_type == "letter",
                AuditEvent.entity_id == number).order_by(AuditEvent.seq).limit(1)).first()
            head_seq = session.scalar(select(AuditEvent.seq).where(AuditEvent.hash == letter.audit_head))
            printed_head = printed.get("audit_head")
            printed_seq = session.scalar(select(AuditEvent.seq).where(AuditEvent.hash == printed_head)) \
                if printed_head else head_seq
            enrolled = signer is not None and self._enrolled_fingerprint(session, signer, issued.seq if issued else 0)
            status = _trail_status(session, [letter])[letter.id]
            rivals = _rivals(session, letter)
        recorded = json.loads(issued.after or "{}") if issued else {}
        issue_seq = issued.seq if issued else None
        problem = _register_problem(number, letter, entry, recorded, head_seq, issue_seq)
        if problem is not None:
            return [CheckResult(IN_REGISTER, False, problem),
                    *(CheckResult(name, False, "not checked: the register entry is not trustworthy")
                      for name in REGISTER_CHECKS[1:])]
        mismatch = _file_mismatch(number, letter, printed, printed_seq, issue_seq, signer, enrolled)
        results = [CheckResult(IN_REGISTER, mismatch is None,
                               mismatch or f"{number}, issued {entry.issued_at:%Y-%m-%d %H:%M} UTC to {entry.reference}",
                               {"number": number})]
        digest = hashlib.sha256(pdf).hexdigest()
        if digest == entry.pdf_sha256:
            results.append(CheckResult(SAME_DIGEST, True, f"SHA-256 {digest}"))
        else:
            results.append(CheckResult(SAME_DIGEST, False, f"this file's SHA-256 is {digest}; the register holds "
                                                           f"{entry.pdf_sha256} for {number}"))
        results.append(_withdrawal_check(number, entry, status))
        results.append(_supersession_check(number, entry, status, rivals))
        return results

    @staticmethod
    def _enrolled_fingerprint(session: Session, fingerprint: str, before_seq: int) -> bool:
        """Whether an audited enrolment gave some user this certificate before the letter was issued."""
        from desktop_app.services.trust_store import ENROL_ACTION

        for after in session.scalars(select(AuditEvent.after).where(
                AuditEvent.entity_type == "user", AuditEvent.action == ENROL_ACTION, AuditEvent.seq < before_seq)):
            recorded = json.loads(after or "{}")
            if fingerprint in (recorded.get("fingerprint"), recorded.get("certificate_fingerprint")):
                return True
        return False


def _register_problem(number: str, letter: Letter, entry: RegisterEntry, recorded: dict[str, Any],
                      head_seq: int | None, issue_seq: int | None) -> str | None:
    """Why the register's entry cannot be believed, or None."""
    if head_seq is None or (issue_seq is not None and head_seq >= issue_seq):
        return (f"the audit-chain head of {number} ({letter.audit_head[:16]}…) is not in the audit chain before its "
                f"issue: the chain was rewritten or cut; run `audit verify`")
    if not recorded or recorded.get("pdf_sha256") != entry.pdf_sha256:  # the row was edited after issuance
        return f"the register's entry for {number} does not match the audit event that issued it; run `audit verify`"
    for name, value in (("audit_head", letter.audit_head), ("data_digest", letter.data_digest),
                        ("signer_fingerprint", letter.signer_fingerprint), ("supersedes", entry.supersedes)):
        if recorded.get(name) != value:
            return (f"the register's {name.replace('_', ' ')} for {number} does not match the audit event that "
                    f"issued it; run `audit verify`")
    return None


def _file_mismatch(number: str, letter: Letter, printed: dict[str, str], printed_seq: int | None,
                   issue_seq: int | None, signer: str | None, enrolled: bool) -> str | None:
    """Why this file is not the letter the register holds under its number, or None."""
    if signer is not None and (signer != letter.signer_fingerprint or not enrolled):
        return (f"{number} is in the register, but this file is signed by the certificate SHA-256 {signer[:16]}…, "
                f"not the one an audited enrolment gave its signer")
    if "data_digest" in printed and printed["data_digest"] != letter.data_digest:
        return f"the data digest printed on this {number} is not the one registered for it"
    if printed_seq is None or (issue_seq is not None and printed_seq >= issue_seq):
        return (f"the audit-chain head printed on {number} ({printed.get('audit_head', '')[:16]}…) is not in the "
                f"audit chain before its issue: the chain was rewritten or cut; run `audit verify`")
    return None


@dataclass(frozen=True)
class _Status:
    """A letter's standing as the audit trail records it."""

    revoked_reason: str | None
    superseded_by: str | None


def _trail_status(session: Session, letters: list[Letter]) -> dict[int, _Status]:
    """Revocation and supersession from the audit trail: the register's rows can be deleted, events cannot."""
    numbers = {letter.number: letter.id for letter in letters}
    revoked: dict[str, str] = {}
    superseded: dict[str, str] = {}
    for action, entity_id, after in session.execute(
            select(AuditEvent.action, AuditEvent.entity_id, AuditEvent.after).where(
                AuditEvent.entity_type == "letter",
                AuditEvent.action.in_(("letter.revoke", "letter.supersede", "letter.issue"))
            ).order_by(AuditEvent.seq)):
        recorded = json.loads(after or "{}")
        if action == "letter.revoke" and entity_id in numbers:
            revoked.setdefault(entity_id, str(recorded.get("reason") or "revoked"))
        elif action == "letter.supersede" and entity_id in numbers:
            superseded.setdefault(entity_id, str(recorded.get("superseded_by")))
        elif action == "letter.issue" and recorded.get("supersedes") in numbers:
            superseded.setdefault(recorded["supersedes"], entity_id)
    return {letter_id: _Status(revoked.get(number), superseded.get(number)) for number, letter_id in numbers.items()}


def _rivals(session: Session, letter: Letter) -> list[str]:
    """Other standing letters of the same kind for the same submission, with no supersession between them."""
    if letter.kind not in (LetterKind.CLEARANCE.value, LetterKind.REFUSAL.value):
        return []  # several requests for information (or notices about conditions) may stand side by side
    others = list(session.scalars(select(Letter).where(Letter.submission_id == letter.submission_id,
                                                       Letter.kind == letter.kind, Letter.id != letter.id)))
    if not others:
        return []
    every = [letter, *others]
    status = _trail_status(session, every)
    links: dict[str, set[str]] = {one.number: set() for one in every}
    for one in every:
        successor = status[one.id].superseded_by
        if successor in links:
            links[one.number].add(successor)
            links[successor].add(one.number)
    related, frontier = {letter.number}, [letter.number]
    while frontier:  # every letter linked to this one by supersession, either way
        for linked in links[frontier.pop()] - related:
            related.add(linked)
            frontier.append(linked)
    return [other.number for other in others if other.number not in related and status[other.id].revoked_reason is None]


def _withdrawal_check(number: str, entry: RegisterEntry, status: _Status) -> CheckResult:
    if status.revoked_reason is not None:
        return CheckResult(NOT_WITHDRAWN, False, f"{number} was revoked: {status.revoked_reason}")
    if entry.revoked:
        return CheckResult(NOT_WITHDRAWN, False, f"the register records a revocation of {number} that the audit "
                                                 f"trail does not; run `audit verify`")
    return CheckResult(NOT_WITHDRAWN, True, "no revocation is recorded")


def _supersession_check(number: str, entry: RegisterEntry, status: _Status, rivals: list[str]) -> CheckResult:
    if status.superseded_by is not None:
        return CheckResult(NOT_SUPERSEDED, False, f"{number} was superseded by {status.superseded_by}")
    if entry.superseded_by:
        return CheckResult(NOT_SUPERSEDED, False, f"the register says {entry.superseded_by} supersedes {number}, "
                                                  f"but the audit trail does not; run `audit verify`")
    if rivals:
        return CheckResult(NOT_SUPERSEDED, False, f"{', '.join(rivals)} was also issued for {entry.reference} "
                                                  f"with no supersession between it and {number}")
    return CheckResult(NOT_SUPERSEDED, True, "no later letter replaces it")


def _signer_refusal(role: Role) -> str:
    if role is Role.ADMIN:
        return "Administrators manage accounts and settings; they sign nothing."
    return "Only a supervisor signs letters."


def _still_signer(session: Session, actor: Actor) -> Actor:
    """In the signing or revoking transaction: the account is still an active supervisor's."""
    return current_actor(session, actor, may=may_sign, refusal="Only a supervisor signs letters.")


def _not_reached(first: CheckResult) -> list[CheckResult]:
    return [first, *(CheckResult(name, False, "not checked: the letter is not in the register")
                     for name in REGISTER_CHECKS[1:])]


def _entries(session: Session, letters: list[Letter]) -> list[RegisterEntry]:
    ids = [letter.id for letter in letters]
    revoked = {r.letter_id: r.reason for r in session.scalars(select(LetterRevocation)
                                                               .where(LetterRevocation.letter_id.in_(ids)))}
    successors = {old: new for old, new in session.execute(
        select(Letter.supersedes_id, Letter.number).where(Letter.supersedes_id.in_(ids)))}
    earlier = {i for letter in letters for i in (letter.supersedes_id, letter.concerns_id) if i is not None}
    older = {i: number for i, number in session.execute(
        select(Letter.id, Letter.number).where(Letter.id.in_(earlier)))}
    references = {i: reference for i, reference in session.execute(select(Submission.id, Submission.reference).where(
        Submission.id.in_({letter.submission_id for letter in letters})))}
    names = {i: name for i, name in session.execute(select(User.id, User.display_name).where(
        User.id.in_({letter.signer_id for letter in letters if letter.signer_id})))}
    trail = _trail_status(session, letters)  # a deleted register row does not make a letter valid again
    return [RegisterEntry(letter.id, letter.number, LetterKind(letter.kind), letter.submission_id,
                          references.get(letter.submission_id, ""),
                          Decision(letter.decision) if letter.decision else None, letter.issued_at,
                          names.get(letter.signer_id or 0, ""), letter.pdf_sha256,
                          letter.id in revoked or trail[letter.id].revoked_reason is not None,
                          revoked.get(letter.id) or trail[letter.id].revoked_reason or "",
                          successors.get(letter.id) or trail[letter.id].superseded_by,
                          older.get(letter.supersedes_id or 0), older.get(letter.concerns_id or 0))
            for letter in letters]


def _required_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InputRejected(Problem("say why the letter is revoked", field="reason"))
    checked(reason, "reason")
    return reason


def _paragraphs(text: str) -> tuple[str, ...]:
    """Text split into paragraphs at blank lines, each paragraph's lines joined."""
    blocks = [" ".join(block.split()) for block in text.replace("\r\n", "\n").split("\n\n")]
    return tuple(block for block in blocks if block)


def _lines(text: str) -> tuple[str, ...]:
    """An address as lines: newlines or semicolons separate them."""
    return tuple(line.strip() for line in text.replace(";", "\n").splitlines() if line.strip())


def _read(source: bytes | Path) -> bytes:
    if isinstance(source, bytes):
        return source
    try:
        return Path(source).read_bytes()
    except OSError as error:
        raise InputRejected(Problem(f"cannot read: {error.strerror}", file=str(source))) from None


def write_new(target: Path, data: bytes) -> None:
    """Write a new file; an existing one is never overwritten (one line naming it instead)."""
    try:
        with open(target, "xb") as out:
            out.write(data)
    except FileExistsError:
        raise InputRejected(Problem("already exists; nothing was overwritten", file=str(target))) from None
    except OSError as error:
        raise InputRejected(Problem(f"cannot write: {error.strerror}", file=str(target))) from None


@functools.cache
def _category_titles() -> dict[str, str]:
    return finding_rules.category_titles(categories(), full=True)


# -- rendering off the GUI's interpreter ---------------------------------------------------


def _render(content: LetterContent, qr_code: str | None = None) -> RenderedLetter:
    from desktop_app.letters.render import render_letter

    return render_letter(content, qr_code)


_pool: concurrent.futures.ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def render_in_subprocess(content: LetterContent, qr_code: str | None = None, *,
                         timeout: float = 120.0) -> RenderedLetter:
    """Render in a worker process: reportlab holds the GIL, so a long letter would stall the GUI.

    The process is started once (spawned, never forked from a threaded GUI) and reused.
    A frozen build must call `multiprocessing.freeze_support()` first thing in `main`.
    """
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ProcessPoolExecutor(max_workers=1,
                                                           mp_context=multiprocessing.get_context("spawn"),
                                                           initializer=_exit_with_parent)
            atexit.register(shutdown_renderer, wait=True)  # before interpreter teardown, not during it
        pool = _pool
    try:
        return pool.submit(_render, content, qr_code).result(timeout=timeout)
    except concurrent.futures.process.BrokenProcessPool:
        with _pool_lock:
            _pool = None
        log.warning("the letter rendering process stopped; rendering in this process")
        return _render(content, qr_code)


def _exit_with_parent() -> None:
    """In the worker: leave as soon as the application is gone, even if it was killed.

    A killed parent runs no clean-up, and an orphaned worker would wait for work forever.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def shutdown_renderer(*, wait: bool = False) -> None:
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=wait, cancel_futures=True)


# -- the demo ----------------------------------------------------------------------------


def issue_demo_letters(ctx: ServiceContext, admin: Actor, supervisor: Actor, *, password: str,
                       progress: Callable[[str], None] | None = None, keep_waiting: int = 1,
                       service: LetterService | None = None) -> list[IssuedLetter]:
    """Demo PKI in `demo-pki/`, trust and enrolment set up by the admin, letters signed by the supervisor.

    Submissions the demo brought to sign-off are approved (one per decision first, then
    more, leaving `keep_waiting` for a user to approve), and refused or waiting ones get
    their notice. Everything goes through the real services and their rules.
    """
    from desktop_app.domain.conditions import DEFAULT_DUE_DAYS
    from desktop_app.letters.pki import DEMO_PASSPHRASE, create_demo_pki
    from desktop_app.letters.signing import Pkcs12Source

    say = progress or (lambda _message: None)
    say("Creating the demo PKI (DEMO root, issuing CA, supervisor key)…")
    pki = create_demo_pki(ctx.paths.demo_pki)
    store = TrustStoreService(ctx)
    store.add_anchor(admin, pki.root_cert.read_bytes(), source="demo-pki/root-ca.pem")
    store.enrol(admin, supervisor.username, Pkcs12Source(pki.supervisor_p12), DEMO_PASSPHRASE)
    for crl in pki.crls:
        store.import_crl(admin, crl.read_bytes(), source=f"demo-pki/{crl.name}")
    letters = service or LetterService(ctx)
    source = Pkcs12Source(pki.supervisor_p12)
    today = review_clock.agency_date(ctx.now(), str(SettingsService(ctx).get("agency_time_zone")))
    due = today + dt.timedelta(days=DEFAULT_DUE_DAYS)  # the date the sign-off dialog proposes
    with ctx.reading() as session:
        rows = session.execute(select(Submission.id, Submission.state, Recommendation.decision)
                               .outerjoin(Recommendation, (Recommendation.submission_id == Submission.id)
                                          & (Recommendation.outcome == "pending"))
                               .order_by(Submission.id)).all()
    waiting = [(sid, Decision(decision)) for sid, state, decision in rows
               if state == SubmissionState.AWAITING_SIGNOFF.value and decision]
    # one of each decision first, so the demo shows all three; then the rest but `keep_waiting`
    firsts = {decision: sid for sid, decision in reversed(waiting)}
    order = list(firsts.values()) + [sid for sid, _ in waiting if sid not in firsts.values()]
    to_approve = order[: max(len(firsts), len(order) - keep_waiting)]
    issued: list[IssuedLetter] = []
    for sid in to_approve:
        say("Approving and signing clearance letters…")
        try:
            issued.append(letters.approve_and_issue(supervisor, sid, password=password, source=source,
                                                    secret=DEMO_PASSPHRASE, comment="Approved (DEMO).",
                                                    conditions_due=due))
        except ClearanceDeskError as error:  # a demo submission the rules do not let through: say so, go on
            log.warning("demo: submission %s not approved: %s", sid, error)
    notices = [(sid, LetterKind.REFUSAL) for sid, state, _ in rows if state == SubmissionState.REFUSED.value][:1]
    notices += [(sid, LetterKind.INFORMATION_REQUEST) for sid, state, _ in rows
                if state == SubmissionState.AWAITING_INFO.value][:1]
    for sid, kind in notices:
        say("Signing notice letters…")
        try:
            issued.append(letters.issue_notice(supervisor, sid, kind, password=password, source=source,
                                               secret=DEMO_PASSPHRASE))
        except ClearanceDeskError as error:
            log.warning("demo: no %s letter for submission %s: %s", kind.value, sid, error)
    if not waiting:
        log.warning("demo: no submission awaits sign-off, so no clearance letter was issued")
    # a corrected letter and a revocation notice, each about a clearance beyond the first of its decision,
    # so that one letter of every decision still stands and verifies
    spare = [letter for letter in issued if letter.kind is LetterKind.CLEARANCE
             and letter.submission_id not in firsts.values()]
    about_others = [
        ("corrected letter", lambda letter: letters.issue_corrected(
            supervisor, letter.id, "The earlier letter gave the developer's address without the suite number "
            "(DEMO).", password=password, source=source, secret=DEMO_PASSPHRASE)),
        ("revocation notice", lambda letter: letters.revoke_and_notify(
            supervisor, letter.id, "The developer withdrew this build before release; the agency revokes the "
            "letter so that it is not relied on for the build that replaces it (DEMO).", password=password,
            source=source, secret=DEMO_PASSPHRASE)[1]),
    ]
    for (what, make), letter in zip(about_others, spare, strict=False):
        say(f"Signing a {what}…")
        try:
            issued.append(make(letter))
        except ClearanceDeskError as error:
            log.warning("demo: no %s for %s: %s", what, letter.number, error)
    if len(spare) < len(about_others):
        log.warning("demo: too few clearance letters for a corrected letter and a revocation notice")
    return issued
