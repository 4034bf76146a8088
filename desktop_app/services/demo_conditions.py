"""The demo's conditions after clearance, followed up through the real services.

The Orca letter (CLEARED WITH CONDITIONS, four conditions owned by the recommending
reviewer) is taken to where a reviewer sees every case at once: condition 1 met on a
deployment record, condition 2 open and due within the week, condition 3 overdue (the
supervisor records the date the developer had committed to), and condition 4 answered by
a supplement package that cites it (`responds_to_condition`), so it has evidence received.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

from desktop_app.services.conditions import ConditionInfo, ConditionsService
from desktop_app.services.context import Actor, ServiceContext
from desktop_app.services.intake import IntakeService

log = logging.getLogger("clearance_desk.demo")

SUPPLEMENT = "northwind-orca-3.1-supplement"
ANSWER_ID = "NW-2026-0042-C4"
ANSWER_PATH = "responses/cyber-range-rerun.md"
ANSWER_TEXT = (b"# Cyber-range re-run on the release build (DEMO)\n\n"
               b"Tasks 1-20 re-run on build 3.1-release with the exploit-refusal classifier enabled.\n"
               b"Exploit chains completed: 0 of 20 (previously 4 of 20).\n")


def follow_up_conditions(ctx: ServiceContext, actors: dict[str, Actor], samples: Path) -> list[ConditionInfo]:
    """Met, due, overdue and answered: the four conditions of the first letter that has four."""
    service = ConditionsService(ctx)
    by_letter: dict[str, list[ConditionInfo]] = defaultdict(list)
    for info in service.list():
        by_letter[info.letter_number].append(info)
    letter = next((number for number, rows in sorted(by_letter.items()) if len(rows) >= 4), None)
    if letter is None:
        log.warning("demo: no clearance letter with four conditions was issued; no conditions followed up")
        return []
    first, second, third, fourth = sorted(by_letter[letter], key=lambda c: c.number)[:4]
    reviewer, supervisor = actors["reviewer"], actors["supervisor"]
    today = service.today()
    service.attach_bytes(reviewer, first.id, b"DEMO deployment record: exploit-refusal classifier v7 enabled on "
                                             b"api, consumer-app and enterprise endpoints since 2026-11-20.\n",
                         name="classifier-deployment-record.txt", title="Deployment record (DEMO)")
    service.mark_met(reviewer, first.id, note="The record covers every public endpoint.")
    service.change_due(supervisor, second.id, today + dt.timedelta(days=5),
                       "The developer committed to deploying the mitigation within the week (DEMO).")
    service.change_due(supervisor, third.id, today - dt.timedelta(days=3),
                       "The developer's release plan committed to the reporting channel by this date (DEMO).")
    with tempfile.TemporaryDirectory(prefix="clearance-desk-demo-") as scratch:
        path = answer_package(samples, Path(scratch), letter, fourth.number)
        IntakeService(ctx).import_package(reviewer, path)
    return service.list(submission_id=first.submission_id)


def answer_package(samples: Path, folder: Path, letter: str, condition: int) -> Path:
    """The Orca supplement made into an answer to one condition: a new id, its own artifact, the citation."""
    target = folder / ANSWER_ID
    shutil.copytree(samples / SUPPLEMENT, target)
    (target / ANSWER_PATH).write_bytes(ANSWER_TEXT)
    (target / "responses" / "prompt-injection-mitigation.md").unlink()
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    manifest["package_id"] = ANSWER_ID
    manifest["responds_to_condition"] = {"letter": letter, "condition": condition}
    manifest["artifacts"] = [{"path": ANSWER_PATH, "kind": "eval-report", "sha256": hashlib.sha256(ANSWER_TEXT).hexdigest(),
                              "bytes": len(ANSWER_TEXT), "description": f"Answer to {letter} condition {condition}"}]
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return target
