"""Issuing through the service: one transaction, gapless numbers, the register row, the letter's text."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from desktop_app.domain.errors import InputRejected, PermissionDenied, TransitionNotAllowed
from desktop_app.domain.types import Decision, LetterKind, SubmissionState
from desktop_app.letters.signing import Pkcs12Source
from desktop_app.services.audit import iter_events, verify_chain
from desktop_app.services.references import peek
from desktop_app.services.submissions import SubmissionService
from desktop_app.storage.models import AuditEvent, Letter, Submission

from .support import (
    PASSPHRASE,
    PASSWORD,
    add_finding,
    due_dates,
    import_sample,
    pdf_text,
    resubmission_package,
    run_checker,
    to_awaiting_signoff,
    to_state,
)


def test_approval_issues_a_signed_registered_letter(ctx, people, letters, awaiting, p12, pki, tmp_path) -> None:  # noqa: ANN001
    issued = letters.approve_and_issue(people["sup"], awaiting, password=PASSWORD, source=p12, secret=PASSPHRASE,
                                       conditions_due=due_dates(ctx))
    assert issued.number == "CL-2026-0001" and issued.decision is Decision.CLEARED_WITH_CONDITIONS
    pdf = letters.pdf(issued.id)
    assert hashlib.sha256(pdf).hexdigest() == issued.pdf_sha256
    detail = SubmissionService(ctx).detail(awaiting)
    assert detail.state is SubmissionState.ISSUED
    assert [(info.number, info.revoked) for info in detail.letters] == [("CL-2026-0001", False)]
    with ctx.reading() as session:
        row = session.scalar(select(Letter))
        events = {e.action: e for e in session.scalars(select(AuditEvent))}
        assert verify_chain(iter_events(session)).ok
    assert row.signer_fingerprint == issued.signer_fingerprint and row.data_digest == issued.data_digest
    # the head the letter carries is the approval's event, and the issue event names the letter
    assert row.audit_head == events["submission.approve"].hash
    assert json.loads(events["letter.issue"].after)["pdf_sha256"] == issued.pdf_sha256
    assert all(check.ok for check in letters.verify(pdf)), [c for c in letters.verify(pdf) if not c.ok]
    path = tmp_path / "CL-2026-0001.pdf"
    path.write_bytes(pdf)
    checked = run_checker(path, pki.root_cert)
    assert checked.returncode == 0, checked.stdout[-2000:]


def test_letter_text_carries_every_field(ctx, people, letters, awaiting, p12, tmp_path) -> None:  # noqa: ANN001
    add_finding(ctx, awaiting, people["rev"], "Splits exploit requests across turns", "High", releasable=True)
    add_finding(ctx, awaiting, people["rev"], "Leaks system prompt on request", "Low", "Risk accepted",
                category="data-leakage", releasable=True)
    add_finding(ctx, awaiting, people["rev"], "Internal: grader prompt reconstructed", "Low")  # not releasable
    issued = letters.approve_and_issue(people["sup"], awaiting, password=PASSWORD, source=p12, secret=PASSPHRASE,
                                       conditions_due=due_dates(ctx))
    text = pdf_text(letters.pdf(issued.id))
    flat = " ".join(text.split())
    detail = SubmissionService(ctx).detail(awaiting)
    with ctx.reading() as session:
        row = session.scalar(select(Letter))
    expected = [
        "Office of Frontier Model Security Review",            # letterhead (setting)
        "CUI",                                                 # handling marking (setting)
        "Letter CL-2026-0001",                                 # number on every page (below)
        "November 2, 2026",                                    # date (agency time zone)
        "Northwind Labs, Inc.", "Release Compliance Office", "100 Example Way, Springfield",  # addressee
        f"Pre-release security evaluation of Orca 3.1 (submission {detail.reference})",      # subject
        "Orca", "3.1", detail.manifest_sha256,                 # model identity
        *(artifact.sha256 for artifact in detail.artifacts),   # every artifact's SHA-256
        "CLEARED WITH CONDITIONS",                             # decision in plain words
        "1. Keep the exploit-refusal classifier enabled on every public endpoint.",
        "2. Report any jailbreak that restores exploit development within 72 hours.",
        "Submission received",                                 # review period
        "Critical High Medium Low Informational Total",        # findings summary by severity
        "0 1 0 2 0 3",
        "Appendix A — Findings (2)", "F-1", "Splits exploit requests across turns",
        "Data leakage and privacy", "Risk accepted",
        "It is not a licence, permit or preclearance",         # important notice (wording table)
        "Controlled by", "CUI category PROPIN",               # CUI designation block (settings)
        "Dana Supervisor", "Signed: 2026-11-02 15:00:00 UTC",  # signature manifestation
        "Meaning of signature: Issued — outcome of pre-release security evaluation: cleared with conditions",
        "The agency's reasons", "Evaluated against the cyber range.",  # the rationale, as approved
        row.audit_head, row.data_digest,                       # audit head and data digest
        "DEMO — NOT VALID FOR OFFICIAL USE",                   # a demo-PKI certificate signs: marked DEMO
    ]
    missing = [field for field in expected if field not in flat]
    assert not missing, missing
    assert "Internal: grader prompt reconstructed" not in flat  # not marked releasable to the developer
    pages = re.findall(r"Letter CL-2026-0001 Page (\d+) of (\d+)", flat)
    total = int(pages[0][1])
    assert total >= 2 and pages == [(str(page), str(total)) for page in range(1, total + 1)]
    # the QR code carries the seal: number, register's data digest and signer, signed by the signer's key
    from desktop_app.letters.scan import read_codes
    from desktop_app.letters.seal import parse

    pdf_path = tmp_path / "qr.pdf"
    pdf_path.write_bytes(letters.pdf(issued.id))
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(pdf_path), str(tmp_path / "page")], check=True)
    decoded = [code for page in sorted(tmp_path.glob("page*.png")) for code in read_codes(page)]
    assert len(decoded) == 1
    seal = parse(decoded[0]).fields
    assert (seal.number, seal.data_digest, seal.signer_fingerprint, seal.decision) == (
        "CL-2026-0001", row.data_digest, row.signer_fingerprint, Decision.CLEARED_WITH_CONDITIONS)


def test_a_failed_signature_uses_no_number_and_changes_nothing(ctx, people, letters, awaiting, p12,
                                                               monkeypatch) -> None:  # noqa: ANN001
    import desktop_app.letters.signing as signing

    def broken(*_args: object, **_kwargs: object) -> bytes:
        raise InputRejected("the token was removed during signing")

    with ctx.reading() as session:
        events_before = session.scalar(select(func.count(AuditEvent.seq)))
    blobs_before = set(ctx.blobs.all_digests())
    monkeypatch.setattr(signing, "sign_letter", broken)
    with pytest.raises(InputRejected, match="token was removed"):
        letters.approve_and_issue(people["sup"], awaiting, password=PASSWORD, source=p12, secret=PASSPHRASE,
                                  conditions_due=due_dates(ctx))
    with ctx.reading() as session:
        assert peek(session, "CL", 2026) == 0
        assert session.scalar(select(func.count(Letter.id))) == 0
        assert session.get(Submission, awaiting).state == SubmissionState.AWAITING_SIGNOFF.value
        # the re-authentication's sign-in event is the only thing written
        assert session.scalar(select(func.count(AuditEvent.seq))) == events_before + 1
    assert set(ctx.blobs.all_digests()) == blobs_before
    monkeypatch.undo()
    issued = letters.approve_and_issue(people["sup"], awaiting, password=PASSWORD, source=p12, secret=PASSPHRASE,
                                       conditions_due=due_dates(ctx))
    assert issued.number == "CL-2026-0001"


def test_numbers_follow_on_without_gaps(ctx, people, letters, p12, samples_dir) -> None:  # noqa: ANN001
    numbers = []
    for name in ("northwind-orca-3.1", "helix-sparrow-2.0.zip"):
        submission_id = import_sample(ctx, people["rev"], samples_dir, name)
        to_awaiting_signoff(ctx, submission_id, people["rev2"], Decision.CLEARED)
        numbers.append(letters.approve_and_issue(people["sup"], submission_id, password=PASSWORD, source=p12,
                                                 secret=PASSPHRASE).number)
    assert numbers == ["CL-2026-0001", "CL-2026-0002"]


def test_wrong_passphrase_wrong_key_and_no_enrolment_are_refused(ctx, people, letters, awaiting, p12,
                                                                 forged_pki) -> None:  # noqa: ANN001
    with pytest.raises(InputRejected, match="wrong passphrase"):
        letters.approve_and_issue(people["sup"], awaiting, password=PASSWORD, source=p12, secret="nope",
                                  conditions_due=due_dates(ctx))
    with pytest.raises(InputRejected, match="not the one enrolled"):
        letters.approve_and_issue(people["sup"], awaiting, password=PASSWORD,
                                  source=Pkcs12Source(forged_pki.supervisor_p12), secret=PASSPHRASE,
                                  conditions_due=due_dates(ctx))
    with pytest.raises(InputRejected, match="no signing certificate is enrolled"):
        letters.approve_and_issue(people["sup2"], awaiting, password=PASSWORD, source=p12, secret=PASSPHRASE,
                                  conditions_due=due_dates(ctx))
    with pytest.raises(PermissionDenied):
        letters.approve_and_issue(people["rev2"], awaiting, password=PASSWORD, source=p12, secret=PASSPHRASE,
                                  conditions_due=due_dates(ctx))
    with ctx.reading() as session:
        assert session.scalar(select(func.count(Letter.id))) == 0


def test_separation_of_duties_and_account_password_hold(ctx, people, letters, p12, samples_dir, configured,
                                                        pki) -> None:  # noqa: ANN001
    from desktop_app.domain.errors import AuthenticationFailed

    submission_id = import_sample(ctx, people["rev"], samples_dir)
    to_awaiting_signoff(ctx, submission_id, people["sup"], Decision.CLEARED)
    with pytest.raises(PermissionDenied, match="another supervisor"):
        letters.approve_and_issue(people["sup"], submission_id, password=PASSWORD, source=p12, secret=PASSPHRASE)
    configured.enrol(people["admin"], "sup2", p12, PASSPHRASE)
    with pytest.raises(AuthenticationFailed):
        letters.approve_and_issue(people["sup2"], submission_id, password="wrong", source=p12, secret=PASSPHRASE)
    with ctx.reading() as session:
        assert session.scalar(select(func.count(Letter.id))) == 0


def test_refusal_and_information_request_notices(ctx, people, letters, p12, samples_dir, tmp_path) -> None:  # noqa: ANN001
    refused = import_sample(ctx, people["rev"], samples_dir)
    to_state(ctx, refused, people["rev"], SubmissionState.REFUSED,
             reasons=["The manifest lists weights that were not delivered."])
    waiting = import_sample(ctx, people["rev"], samples_dir, "helix-sparrow-2.0.zip")
    to_state(ctx, waiting, people["rev"], SubmissionState.AWAITING_INFO,
             text="Provide the full cyber-range transcripts for tasks 14 to 22.")
    refusal = letters.issue_notice(people["sup"], refused, LetterKind.REFUSAL, password=PASSWORD, source=p12,
                                   secret=PASSPHRASE)
    request = letters.issue_notice(people["sup"], waiting, LetterKind.INFORMATION_REQUEST, password=PASSWORD,
                                   source=p12, secret=PASSPHRASE)
    assert (refusal.number, request.number) == ("CL-2026-0001", "CL-2026-0002")
    refusal_text = " ".join(pdf_text(letters.pdf(refusal.id)).split())
    assert "Notice of Refusal to Accept a Submission" in refusal_text
    assert "1. The manifest lists weights that were not delivered." in refusal_text
    assert "Issued — notice of refusal to accept a submission" in refusal_text
    request_text = " ".join(pdf_text(letters.pdf(request.id)).split())
    assert "Request for Additional Information" in request_text
    assert "1. Provide the full cyber-range transcripts for tasks 14 to 22." in request_text
    for issued in (refusal, request):
        assert all(check.ok for check in letters.verify(letters.pdf(issued.id)))
    with pytest.raises(TransitionNotAllowed, match="refusal letter goes with a submission that is refused"):
        letters.issue_notice(people["sup"], waiting, LetterKind.REFUSAL, password=PASSWORD, source=p12,
                             secret=PASSPHRASE, items=["Out of scope."])
    # a corrected refusal notice replaces the first
    corrected = letters.issue_notice(people["sup"], refused, LetterKind.REFUSAL, password=PASSWORD, source=p12,
                                     secret=PASSPHRASE, items=["The weights listed in the manifest are missing."])
    assert corrected.supersedes == refusal.number


def test_resubmission_letter_supersedes_the_earlier_one(ctx, people, letters, awaiting, p12, samples_dir,
                                                        tmp_path) -> None:  # noqa: ANN001
    from desktop_app.services.intake import IntakeService

    first = letters.approve_and_issue(people["sup"], awaiting, password=PASSWORD, source=p12, secret=PASSPHRASE,
                                      conditions_due=due_dates(ctx))
    again = IntakeService(ctx).import_package(people["rev"], resubmission_package(samples_dir, tmp_path))
    to_awaiting_signoff(ctx, again.submission_id, people["rev"], Decision.CLEARED)
    second = letters.approve_and_issue(people["sup"], again.submission_id, password=PASSWORD, source=p12,
                                       secret=PASSPHRASE)
    assert second.supersedes == first.number
    entries = {entry.number: entry for entry in letters.register()}
    assert entries[first.number].status == f"superseded by {second.number}"
    assert entries[second.number].supersedes == first.number
    failing = [c.name for c in letters.verify(letters.pdf(first.id)) if not c.ok]
    assert failing == ["not superseded"]


def test_preview_renders_the_letter_unsigned_without_reserving_a_number(ctx, people, letters, awaiting) -> None:  # noqa: ANN001
    from desktop_app.letters.verify import verify_signed_pdf

    rendered = letters.preview(people["sup"], awaiting, in_subprocess=True)
    assert rendered.number == "CL-2026-0001" and rendered.pdf.startswith(b"%PDF")
    with ctx.reading() as session:
        assert peek(session, "CL", 2026) == 0
    assert not verify_signed_pdf(rendered.pdf, letters.trust.trust_config())[0].ok


def test_a_hand_registered_submission_is_cleared_and_its_letter_says_no_manifest_was_imported(
        ctx, people, letters, p12, pki, tmp_path) -> None:  # noqa: ANN001
    from desktop_app.services.intake import IntakeService, ManualRegistration

    result = IntakeService(ctx).register_by_hand(people["rev"], ManualRegistration(
        "Kestrel Systems", "Compliance", "c@kestrel.example", "Kite", "1.0", None, package_id="KS-2026-7"))
    to_awaiting_signoff(ctx, result.submission_id, people["rev"], Decision.CLEARED)
    issued = letters.approve_and_issue(people["sup"], result.submission_id, password=PASSWORD, source=p12,
                                       secret=PASSPHRASE)
    pdf = letters.pdf(issued.id)
    flat = " ".join(pdf_text(pdf).split())
    assert "Model Kite Version 1.0 Package ID KS-2026-7 Registered by hand" in flat
    assert "No package manifest was imported for this submission" in flat and "Manifest SHA-256" not in flat
    assert all(check.ok for check in letters.verify(pdf))
    with ctx.reading() as session:
        assert session.get(Submission, result.submission_id).state == SubmissionState.ISSUED.value


def test_stored_pdf_that_was_altered_is_not_served(ctx, people, letters, awaiting, p12) -> None:  # noqa: ANN001
    from desktop_app.domain.errors import IntegrityFailure

    issued = letters.approve_and_issue(people["sup"], awaiting, password=PASSWORD, source=p12, secret=PASSPHRASE,
                                       conditions_due=due_dates(ctx))
    path: Path = ctx.blobs.path_for(issued.pdf_sha256)
    path.write_bytes(path.read_bytes() + b"\n")
    with pytest.raises(IntegrityFailure, match="damaged"):
        letters.pdf(issued.id)


def test_the_rendering_process_does_not_outlive_a_killed_application(issued_folder, tmp_path) -> None:  # noqa: ANN001
    import subprocess
    import sys
    import time

    ctx, folder = issued_folder
    script = tmp_path / "killed.py"
    script.write_text(f"""
import os, signal, sys
from pathlib import Path

if __name__ == "__main__":
    from desktop_app.services.bundle import Services
    from desktop_app.services import letters
    services = Services.open(Path({str(folder.root)!r}))
    actor = services.users.authenticate("sup", {PASSWORD!r})
    letter = services.letters.entry({folder.letter_id})
    services.letters.preview(actor, letter.submission_id, in_subprocess=True)
    print(*[p.pid for p in letters._pool._processes.values()], flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
""")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    (worker,) = map(int, done.stdout.split())

    def running() -> bool:  # an exited process may linger as a zombie where pid 1 reaps nothing
        try:
            return Path(f"/proc/{worker}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and running():
        time.sleep(0.05)
    assert not running(), "the rendering worker outlived the killed application"
