"""The intake service: database rows, blobs and audit event together, or nothing at all."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import event, select

from desktop_app.domain.errors import InputRejected, OperationCancelled, PermissionDenied
from desktop_app.services.audit import iter_events, verify_chain
from desktop_app.services.intake import IntakeService, ManualRegistration
from desktop_app.services.submissions import ArtifactFiles, SubmissionService, safe_file_name
from desktop_app.storage.models import Artifact, AuditEvent, Submission


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under the data folder with its digest (WAL and SHM included)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix != ".log"}


def quiesce(ctx) -> None:  # noqa: ANN001
    """Checkpoint the WAL so that a later snapshot compares settled files."""
    ctx.engine.dispose()
    if ctx._read_engine is not None:
        ctx._read_engine.dispose()


def test_sample_folder_imports_with_artifacts_blobs_and_an_audit_event(ctx, people, samples_dir) -> None:  # noqa: ANN001
    result = IntakeService(ctx).import_package(people["rev"], samples_dir / "northwind-orca-3.1")
    assert result.reference == "CD-2026-0001" and result.artifacts == 4
    detail = SubmissionService(ctx).detail(result.submission_id)
    assert detail.developer_name == "Northwind Labs, Inc." and detail.model_label == "Orca 3.1"
    assert detail.state.value == "RECEIVED"
    assert str(detail.intended_release) == "2026-12-15"
    for artifact in detail.artifacts:
        assert ctx.blobs.exists(artifact.sha256)
        ctx.blobs.verify(artifact.sha256)
    with ctx.reading() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "submission.import")))
    assert len(events) == 1 and events[0].entity_id == "CD-2026-0001"
    assert json.loads(events[0].after)["package_id"] == "NW-2026-0042"


def test_zip_with_non_ascii_names_imports(ctx, people, samples_dir) -> None:  # noqa: ANN001
    result = IntakeService(ctx).import_package(people["rev"], samples_dir / "helix-sparrow-2.0.zip")
    paths = {a.path for a in SubmissionService(ctx).detail(result.submission_id).artifacts}
    assert "card/Sparrow 2.0 — model card.md" in paths


def test_duplicate_package_is_refused_naming_the_holder_and_writes_nothing(ctx, people, samples_dir) -> None:  # noqa: ANN001
    intake = IntakeService(ctx)
    intake.import_package(people["rev"], samples_dir / "northwind-orca-3.1")
    quiesce(ctx)
    before = snapshot(ctx.paths.root)
    with pytest.raises(InputRejected) as error:
        intake.import_package(people["rev"], samples_dir / "northwind-orca-3.1")
    problem = error.value.problems[0]
    assert problem.field == "package_id" and "CD-2026-0001" in problem.message
    quiesce(ctx)
    assert snapshot(ctx.paths.root) == before


def test_supplement_attaches_to_the_open_submission(ctx, people, samples_dir) -> None:  # noqa: ANN001
    intake = IntakeService(ctx)
    first = intake.import_package(people["rev"], samples_dir / "northwind-orca-3.1")
    supplement = intake.import_package(people["rev2"], samples_dir / "northwind-orca-3.1-supplement")
    assert supplement.submission_id == first.submission_id and supplement.reference == first.reference
    detail = SubmissionService(ctx).detail(first.submission_id)
    assert len(detail.artifacts) == 5
    assert detail.package_ids == ("NW-2026-0042", "NW-2026-0042-S1")


def test_supplement_for_an_unknown_package_is_refused(ctx, people, samples_dir) -> None:  # noqa: ANN001
    with pytest.raises(InputRejected) as error:
        IntakeService(ctx).import_package(people["rev"], samples_dir / "northwind-orca-3.1-supplement")
    assert error.value.problems[0].field == "refers_to"
    assert "NW-2026-0042" in error.value.problems[0].message


def test_supplement_for_a_closed_submission_is_refused(ctx, people, samples_dir) -> None:  # noqa: ANN001
    intake = IntakeService(ctx)
    first = intake.import_package(people["rev"], samples_dir / "northwind-orca-3.1")
    with ctx.transaction() as session:
        session.get(Submission, first.submission_id).state = "ISSUED"
    with pytest.raises(InputRejected, match="resubmission"):
        intake.import_package(people["rev"], samples_dir / "northwind-orca-3.1-supplement")


def test_resubmission_opens_a_new_linked_submission(ctx, people, samples_dir, tmp_path) -> None:  # noqa: ANN001
    intake = IntakeService(ctx)
    first = intake.import_package(people["rev"], samples_dir / "northwind-orca-3.1")
    package = tmp_path / "resub"
    shutil.copytree(samples_dir / "northwind-orca-3.1", package)
    manifest = json.loads((package / "manifest.json").read_text())
    manifest.update(package_id="NW-2026-0042-R1", kind="resubmission", refers_to="NW-2026-0042")
    manifest["model"]["version"] = "3.1.1"
    (package / "manifest.json").write_text(json.dumps(manifest))
    second = intake.import_package(people["rev"], package)
    assert second.submission_id != first.submission_id
    detail = SubmissionService(ctx).detail(second.submission_id)
    assert detail.previous_reference == first.reference and detail.model_version == "3.1.1"


def test_admins_do_not_import(ctx, people, samples_dir) -> None:  # noqa: ANN001
    with pytest.raises(PermissionDenied):
        IntakeService(ctx).import_package(people["admin"], samples_dir / "northwind-orca-3.1")


def test_a_failed_commit_takes_back_the_promoted_blobs(ctx, people, samples_dir) -> None:  # noqa: ANN001
    quiesce(ctx)
    before = snapshot(ctx.paths.root)

    def explode(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.startswith("INSERT INTO audit_events"):  # the last write of the import's transaction
            raise RuntimeError("disk full")

    event.listen(ctx.engine, "before_cursor_execute", explode)
    try:
        with pytest.raises(RuntimeError):
            IntakeService(ctx).import_package(people["rev"], samples_dir / "northwind-orca-3.1")
    finally:
        event.remove(ctx.engine, "before_cursor_execute", explode)
    quiesce(ctx)
    assert snapshot(ctx.paths.root) == before
    assert list(ctx.blobs.all_digests()) == []


def test_cancelling_mid_hash_leaves_the_data_folder_byte_for_byte_unchanged(ctx, people, tmp_path) -> None:  # noqa: ANN001
    package = tmp_path / "big"
    (package / "weights").mkdir(parents=True)
    shard = (package / "weights" / "shard.bin")
    shard.write_bytes(b"\x5a" * (24 * 1024 * 1024))
    digest = hashlib.sha256(shard.read_bytes()).hexdigest()
    manifest = {"format": "clearance-desk/submission-v1", "package_id": "BIG-1", "submitted_at": "2026-11-20T10:00:00Z",
                "developer": {"name": "Big Weights Co", "contact": {"name": "A", "email": "a@big.example"}},
                "model": {"name": "Heavy", "version": "1", "intended_release": "2026-12-20"},
                "artifacts": [{"path": "weights/shard.bin", "kind": "weights", "sha256": digest,
                               "bytes": shard.stat().st_size}]}
    (package / "manifest.json").write_text(json.dumps(manifest))
    quiesce(ctx)
    before = snapshot(ctx.paths.root)
    seen = []

    def progress(update) -> None:  # noqa: ANN001
        seen.append(update.bytes_done)

    with pytest.raises(OperationCancelled):
        IntakeService(ctx).import_package(people["rev"], package, progress=progress,
                                          cancelled=lambda: len(seen) >= 2)
    quiesce(ctx)
    assert 0 < seen[-1] < shard.stat().st_size  # really cancelled mid-hash
    assert snapshot(ctx.paths.root) == before


def test_register_by_hand_and_attach_files_are_audited_as_such(ctx, people, tmp_path) -> None:  # noqa: ANN001
    intake = IntakeService(ctx)
    with pytest.raises(InputRejected) as error:
        intake.register_by_hand(people["rev"], ManualRegistration("", "", "not-an-email", "", "", None))
    fields = {p.field for p in error.value.problems}
    assert {"developer name", "contact name", "model name", "model version", "contact email"} <= fields
    result = intake.register_by_hand(people["rev"], ManualRegistration(
        "Quarry Point Labs", "Compliance", "c@quarry.example", "Heron", "2.9", None, package_id="QP-7"))
    note = tmp_path / "..\\evil name?.txt"
    note.write_text("late model card")
    assert intake.attach_files(people["rev"], result.submission_id, [(note, "model-card")]) == 1
    detail = SubmissionService(ctx).detail(result.submission_id)
    assert detail.registered_by_hand and detail.artifacts[0].added_by_hand
    assert "/" not in detail.artifacts[0].path and "\\" not in detail.artifacts[0].path
    with ctx.reading() as session:
        actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
        assert verify_chain(iter_events(session)).ok
    assert "submission.register_by_hand" in actions and "submission.attach_by_hand" in actions


def test_text_artifacts_open_read_only_and_copies_get_safe_names(ctx, people, samples_dir, tmp_path) -> None:  # noqa: ANN001
    result = IntakeService(ctx).import_package(people["rev"], samples_dir / "helix-sparrow-2.0.zip")
    files = ArtifactFiles(ctx)
    with ctx.reading() as session:
        artifacts = {a.path: a.id for a in session.scalars(select(Artifact).where(
            Artifact.submission_id == result.submission_id))}
    card = files.read_text(artifacts["card/Sparrow 2.0 — model card.md"])
    assert card.is_markdown and card.text
    out = tmp_path / "out"
    out.mkdir()
    first = files.save_copy(artifacts["card/Sparrow 2.0 — model card.md"], out)
    second = files.save_copy(artifacts["card/Sparrow 2.0 — model card.md"], out)
    assert first.name == "Sparrow 2.0 — model card.md" and first.parent == out
    assert second.name == "Sparrow 2.0 — model card (2).md"
    assert first.read_bytes() == second.read_bytes()
    assert safe_file_name("../../etc/passwd") == "passwd"
    assert safe_file_name("..") == "artifact"
    assert safe_file_name("C:\\Windows\\evil.exe") == "evil.exe"


def test_a_developer_name_in_another_normal_form_is_the_same_developer(ctx, people, samples_dir, tmp_path) -> None:  # noqa: ANN001
    """"Société" composed and decomposed is one developer: the duplicate package is caught (issue 14, item 7)."""
    import unicodedata

    intake = IntakeService(ctx)
    copies = []
    for form in ("NFC", "NFD"):
        folder = tmp_path / form
        shutil.copytree(samples_dir / "northwind-orca-3.1", folder)
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        manifest["developer"]["name"] = unicodedata.normalize(form, "Société Northwind")
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        copies.append(folder)
    first = intake.import_package(people["rev"], copies[0])
    with pytest.raises(InputRejected) as error:
        intake.import_package(people["rev"], copies[1])
    problem = error.value.problems[0]
    assert problem.field == "package_id" and first.reference in problem.message


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("developer_name", "Northwind\u200b Labs", "developer name: contains the invisible character U+200B"),
    ("model_version", "\u202e1.3", "model version: contains the bidirectional control U+202E"),
    ("description", "bell\x07", "description: contains the control character U+0007"),
    ("model_name", "Orca\ud800", "model name: contains an unpaired surrogate (U+D800), which is not text"),
])
def test_register_by_hand_refuses_hidden_characters(ctx, people, field, value, expected) -> None:  # noqa: ANN001
    import dataclasses
    import datetime as dt

    form = ManualRegistration(developer_name="Northwind Labs", contact_name="Compliance",
                              contact_email="c@northwind.example", model_name="Orca", model_version="3.1",
                              intended_release=dt.date(2026, 12, 15))
    with pytest.raises(InputRejected) as error:
        IntakeService(ctx).register_by_hand(people["rev"], dataclasses.replace(form, **{field: value}))
    shown = [str(p) for p in error.value.problems]
    assert len(shown) == 1 and shown[0].startswith(expected), shown
    with ctx.reading() as session:
        assert session.scalar(select(Submission.id)) is None
