"""A supplement that answers a condition (`responds_to_condition`), and `clearance-desk conditions list`."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from desktop_app.app import main
from desktop_app.domain import clock as review_clock
from desktop_app.domain.conditions import ConditionStatus
from desktop_app.domain.errors import InputRejected
from desktop_app.services.conditions import ConditionsService
from desktop_app.services.intake import IntakeService
from desktop_app.services.packages.manifest import manifest_problems
from desktop_app.services.packages.model import PackageLimits
from desktop_app.services.settings import SettingsService
from desktop_app.storage.models import AuditEvent, Package

SUPPLEMENT = "northwind-orca-3.1-supplement"


def answer(samples_dir: Path, folder: Path, cited: object, *, package_id: str = "NW-2026-0042-C1",
           kind: str = "supplement") -> Path:
    """The sample supplement under a new id, citing `cited` (None: the field left out)."""
    target = folder / package_id
    shutil.copytree(samples_dir / SUPPLEMENT, target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest.update(package_id=package_id, kind=kind)
    if cited is not None:
        manifest["responds_to_condition"] = cited
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return target


def blob_count(ctx) -> int:  # noqa: ANN001
    return sum(1 for p in ctx.blobs.root.rglob("*") if p.is_file())


def test_a_supplement_citing_a_condition_becomes_its_evidence(ctx, people, issued, samples_dir, tmp_path) -> None:  # noqa: ANN001
    path = answer(samples_dir, tmp_path, {"letter": issued.number, "condition": 2})
    result = IntakeService(ctx).import_package(people["rev2"], path)   # the submission is closed (issued)
    assert result.submission_id == issued.submission_id
    second = ConditionsService(ctx).get(issued.condition_ids[1])
    assert second.status is ConditionStatus.EVIDENCE_RECEIVED
    (evidence,) = second.evidence
    assert (evidence.kind, evidence.artifact_path, evidence.package_id) == (
        "artifact", "responses/prompt-injection-mitigation.md", "NW-2026-0042-C1")
    assert evidence.sha256 == "6a3fc6dfb76b6f05daa0e764f77e4c968820b72c8201485934c8f8e0d69d308c"
    assert ctx.blobs.read_bytes(evidence.sha256)
    with ctx.reading() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "condition.supplement"))
    assert event.entity_id == f"{issued.number}#2" and json.loads(event.after)["package_id"] == "NW-2026-0042-C1"


@pytest.mark.parametrize(("cited", "expected"), [
    ({"letter": "CL-2026-0999", "condition": 1},
     "manifest.json: responds_to_condition.letter: 'CL-2026-0999' is not a letter issued for CD-2026-0001"),
    ({"letter": "{letter}", "condition": 9},
     "manifest.json: responds_to_condition.condition: {letter} has no condition 9"),
])
def test_an_unknown_condition_is_refused_with_one_line_and_nothing_written(ctx, people, issued, samples_dir,  # noqa: ANN001
                                                                           tmp_path, cited, expected) -> None:
    cited = {key: value.format(letter=issued.number) if isinstance(value, str) else value
             for key, value in cited.items()}
    before = blob_count(ctx)
    with pytest.raises(InputRejected) as refused:
        IntakeService(ctx).import_package(people["rev"], answer(samples_dir, tmp_path, cited))
    assert [str(p) for p in refused.value.problems] == [expected.format(letter=issued.number)]
    with ctx.reading() as session:
        assert session.scalar(select(func.count()).select_from(Package)) == 1
    assert blob_count(ctx) == before
    assert ConditionsService(ctx).get(issued.condition_ids[0]).status is ConditionStatus.OPEN


def test_a_condition_already_closed_takes_no_supplement(ctx, people, issued, samples_dir, tmp_path) -> None:  # noqa: ANN001
    ConditionsService(ctx).waive(people["sup"], issued.condition_ids[0], "No longer relevant.")
    with pytest.raises(InputRejected, match=r"condition 1 is already waived; it takes no more evidence"):
        IntakeService(ctx).import_package(people["rev"], answer(samples_dir, tmp_path,
                                                                {"letter": issued.number, "condition": 1}))


@pytest.mark.parametrize(("cited", "field"), [
    ({"letter": "../../etc/passwd", "condition": 1}, "responds_to_condition.letter"),
    ({"letter": "CL-2026-0001", "condition": "1; DROP TABLE conditions"}, "responds_to_condition.condition"),
    ({"letter": "CL-2026-0001", "condition": 0}, "responds_to_condition.condition"),
    ({"letter": "CL-2026-0001", "condition": True}, "responds_to_condition.condition"),
    ({"letter": "CL-2026-0001"}, "responds_to_condition.condition"),
    ({"letter": "CL-2026-0001", "condition": 1, "script": "x"}, "responds_to_condition.script"),
    ("CL-2026-0001#1", "responds_to_condition"),
])
def test_hostile_condition_references_fail_the_schema(samples_dir, cited, field) -> None:  # noqa: ANN001
    manifest = json.loads((samples_dir / SUPPLEMENT / "manifest.json").read_text())
    manifest["responds_to_condition"] = cited
    problems = manifest_problems(manifest, PackageLimits())
    assert len(problems) == 1 and problems[0].field == field and problems[0].file == "manifest.json", problems


def test_old_manifests_still_pass_and_only_supplements_cite_conditions(samples_dir) -> None:  # noqa: ANN001
    manifest = json.loads((samples_dir / SUPPLEMENT / "manifest.json").read_text())
    assert manifest_problems(manifest, PackageLimits()) == []
    manifest.update(kind="resubmission", responds_to_condition={"letter": "CL-2026-0001", "condition": 1})
    (problem,) = manifest_problems(manifest, PackageLimits())
    assert problem.field == "responds_to_condition" and "only a supplement" in problem.message


def test_cli_lists_conditions_and_writes_a_marked_csv(ctx, people, issued, data_dir, tmp_path, capsys) -> None:  # noqa: ANN001
    # the fixture's clock is 2026-11-02, so its due dates (+10, +20, +30 days) have passed in real time;
    # the third is moved to five days after the real today, in the agency's time zone as the CLI counts it
    zone = str(SettingsService(ctx).get("agency_time_zone"))
    real_today = review_clock.agency_date(dt.datetime.now(dt.UTC), zone)
    ConditionsService(ctx).change_due(people["sup"], issued.condition_ids[2], real_today + dt.timedelta(days=5),
                                      "Agreed with the developer.")
    assert main(["--data-dir", str(data_dir), "conditions", "list"]) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0] == "CUI" and len(lines) == 4 and out.err.strip() == "3 conditions"
    assert lines[1].startswith(f"{issued.number} #1  CD-2026-0001  open") and "overdue by" in lines[1]
    assert "due in 5 days" in lines[3]
    target = tmp_path / "overdue.csv"
    assert main(["--data-dir", str(data_dir), "conditions", "list", "--overdue", "--csv", str(target)]) == 0
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert rows[0] == ["CUI"] and rows[-1] == ["CUI"] and rows[1][:3] == ["letter", "condition", "submission"]
    assert [(r[0], r[1], r[10]) for r in rows[2:-1]] == [(issued.number, "1", "yes"), (issued.number, "2", "yes")]
    capsys.readouterr()
    assert main(["--data-dir", str(data_dir), "conditions", "list", "--csv", str(target)]) == 1
    assert capsys.readouterr().err.strip() == f"error: {target}: already exists; nothing was overwritten"


def test_cli_import_of_an_unknown_condition_reference_prints_one_line(ctx, people, issued, samples_dir, data_dir,  # noqa: ANN001
                                                                      tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("CLEARANCE_DESK_PASSWORD", "correct horse battery staple 7")
    path = answer(samples_dir, tmp_path, {"letter": issued.number, "condition": 42})
    assert main(["--data-dir", str(data_dir), "import", str(path), "--as", "rev"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {path}: manifest.json: responds_to_condition.condition: {issued.number} has no "
                   f"condition 42"]
