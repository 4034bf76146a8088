"""Findings and evidence: numbering, queue columns, concurrency, evidence, versions from the audit trail."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from desktop_app.domain.errors import ConcurrentEdit, InputRejected, PermissionDenied, TransitionNotAllowed
from desktop_app.domain.types import Decision
from desktop_app.services.context import open_data_folder
from desktop_app.services.findings import FindingService
from desktop_app.services.intake import IntakeService
from desktop_app.services.submissions import SubmissionService
from desktop_app.storage.models import AuditEvent, Submission

from .conftest import draft


def queue_columns(ctx, submission_id: int) -> tuple[int, int, int]:  # noqa: ANN001
    with ctx.reading() as session:
        sub = session.get(Submission, submission_id)
        return sub.open_findings, sub.highest_open_severity, sub.next_finding_number


def last_event(ctx, action: str) -> AuditEvent:  # noqa: ANN001
    with ctx.reading() as session:
        return session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                               .order_by(AuditEvent.seq.desc())).first()


def test_numbers_are_never_reused_and_queue_columns_follow(ctx, fs, people, in_review) -> None:  # noqa: ANN001
    rev = people["rev"]
    f1 = fs.create(rev, in_review, draft(severity="Medium"))
    f2 = fs.create(rev, in_review, draft("Bypasses the refusal classifier", severity="Critical",
                                         category="safeguard-robustness"))
    assert (f1.label, f2.label) == ("F-1", "F-2")
    assert queue_columns(ctx, in_review) == (2, 5, 3)
    fs.withdraw(rev, f2.id, "Duplicate of F-1", expected_version=f2.version)
    assert queue_columns(ctx, in_review) == (1, 3, 3)
    f3 = fs.create(rev, in_review, draft("Leaks the system prompt", severity="Low", category="data-leakage"))
    assert f3.label == "F-3"
    fs.edit(rev, f1.id, draft(severity="Medium", status="Mitigated"), expected_version=f1.version)
    assert queue_columns(ctx, in_review) == (1, 2, 4)
    created = json.loads(last_event(ctx, "finding.create").after)
    assert created["number"] == "F-3" and created["severity"] == "Low" and created["version"] == 1


def test_withdrawn_is_final_and_withdrawing_needs_a_reason(ctx, fs, people, in_review) -> None:  # noqa: ANN001
    rev = people["rev"]
    finding = fs.create(rev, in_review, draft())
    with pytest.raises(InputRejected, match="why"):
        fs.withdraw(rev, finding.id, " ", expected_version=finding.version)
    with pytest.raises(InputRejected, match="Withdraw…"):
        fs.edit(rev, finding.id, draft(status="Withdrawn"), expected_version=finding.version)
    gone = fs.withdraw(rev, finding.id, "Not reproducible", expected_version=finding.version)
    assert gone.status == "Withdrawn"
    with pytest.raises(TransitionNotAllowed, match="withdrawn findings are final"):
        fs.edit(rev, finding.id, draft(status="Open"), expected_version=gone.version)
    assert json.loads(last_event(ctx, "finding.withdraw").after) == {"status": "Withdrawn", "version": 2,
                                                                     "reason": "Not reproducible"}


def test_drafts_are_validated_against_the_taxonomy(fs, people, in_review) -> None:  # noqa: ANN001
    with pytest.raises(InputRejected) as rejected:
        fs.create(people["rev"], in_review, draft(title=" ", category="astrology", severity="Huge"))
    assert {p.field for p in rejected.value.problems} == {"title", "category", "severity"}
    assert {c.id for c in fs.categories()} >= {"cyber.exploit-dev", "cbrn-uplift", "eval-integrity", "other"}


def test_two_workstations_editing_the_same_finding(ctx, fs, people, in_review, data_dir: Path, clock) -> None:  # noqa: ANN001
    """The second save is refused, naming who saved first and when; nothing is overwritten."""
    finding = fs.create(people["rev"], in_review, draft(severity="Medium"))
    other_ctx = open_data_folder(data_dir, clock=clock)
    try:
        theirs = FindingService(other_ctx)
        loaded_here, loaded_there = fs.get(finding.id), theirs.get(finding.id)
        clock.advance(minutes=7)
        fs.edit(people["rev"], finding.id, draft(severity="High"), expected_version=loaded_here.version)
        with pytest.raises(ConcurrentEdit) as conflict:
            theirs.edit(people["rev2"], finding.id, draft(severity="Low"), expected_version=loaded_there.version)
        assert str(conflict.value) == ("F-1 on CD-2026-0001 was changed by Riley Reviewer at 2026-11-02 15:07 UTC; "
                                       "reload to see the new version")
        assert theirs.get(finding.id).severity.value == "High"
        reloaded = theirs.get(finding.id)
        assert theirs.edit(people["rev2"], finding.id, draft(severity="Low"),
                           expected_version=reloaded.version).severity.value == "Low"
    finally:
        other_ctx.close()


def test_the_version_counter_catches_a_race_the_check_cannot_see(ctx, fs, people, in_review, monkeypatch) -> None:  # noqa: ANN001
    """Between the version check and the UPDATE the row moves: SQLAlchemy's counter refuses the save.

    (On SQLite writers serialise, so the "other writer" here is a raw UPDATE in the same
    transaction, which the refusal rolls back with everything else.)
    """
    from desktop_app.services import findings as module

    finding = fs.create(people["rev"], in_review, draft(severity="Medium"))
    real_acting = module._acting

    def racing(session, actor):  # noqa: ANN001, ANN202
        # a second writer bumps the row behind this session's back (same transaction on SQLite)
        session.connection().exec_driver_sql(
            "UPDATE findings SET version_id = version_id + 1, updated_by = 'rev2' WHERE id = ?", (finding.id,))
        return real_acting(session, actor)

    monkeypatch.setattr(module, "_acting", racing)
    with pytest.raises(ConcurrentEdit, match="F-1 on CD-2026-0001 was changed by .*; reload"):
        fs.edit(people["rev"], finding.id, draft(severity="High"), expected_version=finding.version)
    monkeypatch.undo()
    assert fs.get(finding.id).severity.value == "Medium"


def test_findings_are_frozen_awaiting_signoff_and_admins_cannot_write_them(ctx, fs, wf, people, in_review) -> None:  # noqa: ANN001
    finding = fs.create(people["rev"], in_review, draft(severity="Low"))
    with pytest.raises(PermissionDenied, match="Administrators"):
        fs.create(people["admin"], in_review, draft())
    wf.submit_recommendation(people["rev"], in_review, Decision.CLEARED, "Only a low finding.")
    with pytest.raises(TransitionNotAllowed, match="return the recommendation"):
        fs.edit(people["rev"], finding.id, draft(severity="High"), expected_version=finding.version)
    with pytest.raises(TransitionNotAllowed):
        fs.cite_artifact(people["rev"], finding.id, 1)
    with ctx.reading() as session:
        refused = [json.loads(e.after)["attempted"] for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "permission.refused"))]
    assert refused == ["finding.create", "finding.edit", "evidence.cite_artifact"]


def test_evidence_files_and_artifact_citations(ctx, fs, people, in_review, tmp_path: Path, samples_dir: Path,
                                               clock) -> None:  # noqa: ANN001
    rev = people["rev"]
    finding = fs.create(rev, in_review, draft())
    source = tmp_path / "transcript\x1b[31m; rm -rf.txt"
    source.write_bytes(b"turn 1: write me an exploit\n")
    produced = dt.datetime(2026, 10, 30, 9, 0, tzinfo=dt.UTC)
    clock.advance(hours=2)
    attached = fs.attach_file(rev, finding.id, source, produced_at=produced)
    digest = hashlib.sha256(b"turn 1: write me an exploit\n").hexdigest()
    assert attached.blob_sha256 == digest and ctx.blobs.exists(digest)
    assert "\x1b" not in attached.original_name and "/" not in attached.original_name
    assert attached.produced_at == produced and attached.attached_at == clock.now
    assert attached.attached_by == "Riley Reviewer"
    detail = SubmissionService(ctx).detail(in_review)
    report = next(a for a in detail.artifacts if a.path.endswith(".md"))
    cited = fs.cite_artifact(rev, finding.id, report.id, locator="p. 4, table 2")
    assert (cited.kind, cited.artifact_path, cited.locator, cited.produced_at) == ("artifact", report.path,
                                                                                   "p. 4, table 2", None)
    copy = fs.save_evidence_copy(attached.id, tmp_path / "out") if (tmp_path / "out").mkdir() is None else None
    assert copy is not None and copy.read_bytes() == b"turn 1: write me an exploit\n"
    other = IntakeService(ctx).import_package(rev, samples_dir / "helix-sparrow-2.0.zip").submission_id
    foreign = SubmissionService(ctx).detail(other).artifacts[0]
    with pytest.raises(InputRejected, match="is not an artifact of CD-2026-0001"):
        fs.cite_artifact(rev, finding.id, foreign.id)
    with pytest.raises(InputRejected, match="future"):
        fs.attach_bytes(rev, finding.id, b"x", name="x.txt", produced_at=clock.now + dt.timedelta(days=1))
    assert [e.kind for e in fs.get(finding.id).evidence] == ["file", "artifact"]


def test_any_earlier_version_can_be_rebuilt_from_the_audit_trail(ctx, fs, people, in_review, clock) -> None:  # noqa: ANN001
    rev, rev2 = people["rev"], people["rev2"]
    v1 = fs.create(rev, in_review, draft(description="First **draft**.", severity="Medium"))
    clock.advance(hours=1)
    v2 = fs.edit(rev2, v1.id, draft(description="Second draft.", severity="High", condition="Keep it off."),
                 expected_version=v1.version)
    fs.attach_bytes(rev2, v1.id, b"log", name="eval.log", title="Eval log")
    clock.advance(hours=1)
    fs.edit(rev, v1.id, draft(description="Second draft.", severity="High", condition="Keep it off.",
                              status="Mitigated"), expected_version=v2.version)
    versions = fs.versions(v1.id)
    assert [(v.action, v.version) for v in versions] == [("finding.create", 1), ("finding.edit", 2),
                                                          ("evidence.attach_file", 2), ("finding.edit", 3)]
    first, second, with_log, third = versions
    assert first.values["description"] == "First **draft**." and first.values["severity"] == "Medium"
    assert first.evidence == () and first.label == "F-1"
    assert set(second.changed) == {"description", "severity", "condition"} and second.actor == "rev2"
    assert [e.title for e in with_log.evidence] == ["Eval log"]
    assert third.values["status"] == "Mitigated" and third.values["condition"] == "Keep it off."
    assert fs.version_at(v1.id, first.seq).draft().description == "First **draft**."
    assert fs.version_at(v1.id, third.seq - 1) == with_log
    # the history the detail pane lists carries every one of these events
    history = SubmissionService(ctx).history(in_review)
    assert {e.seq for e in history} >= {v.seq for v in versions}


# -- hidden and control characters in what reviewers type (issue 14, item 7) --------------------

@pytest.mark.parametrize(("changes", "expected"), [
    ({"title": "Exploit works on 3.1\u202e"}, "title: contains the bidirectional control U+202E"),
    ({"title": "Exploit\u200b works"}, "title: contains the invisible character U+200B"),
    ({"description": "steps\x00hidden"}, "description: contains a NUL character (U+0000)"),
    ({"description": "bell\x07 rings"}, "description: contains the control character U+0007"),
    ({"description": "lone \udc80 surrogate"}, "description: contains an unpaired surrogate (U+DC80), which is not text"),
])
def test_finding_text_with_hidden_or_control_characters_is_refused(ctx, fs, people, in_review, changes,
                                                                    expected) -> None:  # noqa: ANN001
    with pytest.raises(InputRejected) as rejected:
        fs.create(people["rev"], in_review, draft(**changes))
    shown = [f"{p.field}: {p.message}" for p in rejected.value.problems]
    assert len(shown) == 1 and shown[0].startswith(expected), shown
    assert fs.create(people["rev"], in_review, draft(description="two lines\n\tand a tab are fine")).number == 1


def test_workflow_text_with_a_bidi_override_is_refused(wf, people, in_review) -> None:  # noqa: ANN001
    with pytest.raises(InputRejected) as rejected:
        wf.request_info(people["rev"], in_review, "Send the logs for version \u202e1.3")
    assert [p.field for p in rejected.value.problems] == ["text"]
    with pytest.raises(InputRejected, match="reason: contains an unpaired surrogate"):
        wf.withdraw(people["rev"], in_review, "withdrawn \ud800")
