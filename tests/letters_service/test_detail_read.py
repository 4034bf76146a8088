"""The detail pane's one Core read (`submissions.view`) against the services' own reads.

On the demo folder, which has every kind of record the pane shows: findings with evidence,
information requests, returned and approved recommendations, issued, corrected and
revoked letters, conditions and their history.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from desktop_app.services.bundle import Services
from desktop_app.storage import tables

PASSWORD = "clearance-demo"


def test_the_detail_pane_s_one_read_is_the_services_reads(demo: Path) -> None:
    services = Services.open(demo)
    try:
        with services.ctx.connect() as conn:
            ids = list(conn.scalars(select(tables.submissions.c.id).order_by(tables.submissions.c.id)))
        seen = {"evidence": 0, "letters": 0, "revoked": 0, "superseded": 0, "requests": 0, "signed off": 0}
        for username in ("reviewer", "supervisor"):
            actor = services.users.authenticate(username, PASSWORD)
            for submission_id in ids:
                detail, history, choices = services.submissions.view(actor, submission_id)
                assert detail == services.submissions.detail(submission_id)
                assert history == services.submissions.history(submission_id)  # its findings named by the detail
                assert choices == services.workflow.choices(actor, submission_id)
                seen["evidence"] += sum(len(f.evidence) for f in detail.findings)
                seen["letters"] += len(detail.letters)
                seen["revoked"] += sum(letter.revoked for letter in detail.letters)
                seen["superseded"] += sum(letter.superseded_by is not None for letter in detail.letters)
                seen["requests"] += len(detail.requests)
                seen["signed off"] += sum(r.signed_off_at is not None for r in detail.recommendations)
        assert all(seen.values()), seen  # the demo covers every part of the read
    finally:
        services.close()
