"""The periodic report (PDF and CSV), the review record (PDF) and the queue CSV.

PDFs are read back with poppler's pdftotext: what an auditor's tools see.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
from pathlib import Path

import pytest

from repo_support import require_tools
from sqlalchemy import insert, select

from desktop_app.domain.errors import OperationCancelled
from desktop_app.services import audit
from desktop_app.services.queue import QueueColumn, QueueFilter
from desktop_app.services.reports import Period, ReportService, csv_cell
from desktop_app.services.settings import SettingsService
from desktop_app.storage.models import AuditEvent, Finding, Letter

from .small_db import PERIOD

MARKING = "CUI//SP-EXPT"


def pdf_pages(path: Path) -> list[str]:
    require_tools("pdftotext")
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    return [page for page in text.split("\f") if page.strip()]


def assert_marked(pages: list[str], marking: str = MARKING) -> None:
    for number, page in enumerate(pages, start=1):
        lines = [line.strip() for line in page.splitlines() if line.strip()]
        assert lines[0] == marking, f"page {number} does not start with the marking"
        assert lines[-1] == marking, f"page {number} does not end with the marking"


def events(ctx, action: str) -> list[AuditEvent]:  # noqa: ANN001
    with ctx.reading() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


@pytest.fixture
def marked(small):  # noqa: ANN001, ANN201
    SettingsService(small.ctx).set(small.people["admin"], "handling_marking", MARKING)
    return small


def test_periodic_report_pdf_and_csv(marked, tmp_path: Path) -> None:  # noqa: ANN001
    service = ReportService(marked.ctx)
    target = service.write_periodic_report(marked.people["sup"], Period(*PERIOD), tmp_path / "q4" / "report.pdf")
    pages = pdf_pages(target)
    assert len(pages) >= 2
    assert_marked(pages)
    text = "\n".join(pages)
    assert "Periodic review report" in text and "Office of Frontier Model Security Review" in text
    assert "5 October 2026 – 2 November 2026 (29 days)" in text
    assert "Generated 2026-11-02 15:00 UTC by Dana Supervisor" in text
    assert "31.3" in text  # 90th percentile days to decision
    for reference in ("CD-2026-0008", "CD-2026-0009", "CD-2026-0010", "CD-2026-0011", "CD-2026-0012"):
        assert reference in text
    assert "CD-2026-0007" not in text  # decided before the period
    assert "Submissions decided in the period (5)" in text
    for title in ("Decisions in the period, by outcome", "Submissions received per week", "Submissions by status",
                  "Workload per reviewer", "Findings by category, stacked by severity"):
        assert title in text
    assert "Exploit development" in text and "Riley Reviewer" in text
    assert "DEMO" not in text

    marked_rows = list(csv.reader(io.StringIO(target.with_suffix(".csv").read_text(encoding="utf-8"))))
    assert marked_rows[0] == marked_rows[-1] == [MARKING]  # the handling marking first and last, as on paper
    rows = marked_rows[:-1]
    assert rows[1] == ["section", "item", "breakdown", "value"]
    rows = rows[1:]
    table = {(s, i, b): v for s, i, b, v in rows[1:]}
    assert table[("report", "handling marking", "")] == MARKING
    assert table[("summary", "received", "")] == "7"
    assert table[("summary", "decided", "")] == "5"
    assert table[("summary", "overdue", "")] == "1"
    assert table[("summary", "median days to decision", "")] == "25.25"
    assert table[("summary", "90th percentile days to decision", "")] == "31.35"
    assert table[("decisions", "Cleared with conditions", "")] == "2"
    assert table[("findings", "Exploit development", "High")] == "2"
    assert table[("findings", "Exploit development", "Informational")] == "1"
    assert table[("workload", "Riley Reviewer", "overdue")] == "1"
    assert table[("intake per week", "2026-10-12", "2026-10-12..2026-10-18")] == "1"
    assert table[("by status", "Issued", "")] == "5"
    decided = [(i, b, v) for s, i, b, v in rows[1:] if s == "decided"]
    assert decided == [("CD-2026-0008", "Cleared", "20.0"), ("CD-2026-0010", "Not cleared", "9.5"),
                       ("CD-2026-0009", "Cleared with conditions", "30.5"), ("CD-2026-0012", "Refused", "1.0"),
                       ("CD-2026-0011", "Cleared with conditions", "31.71")]
    [event] = events(marked.ctx, "report.periodic")
    assert event.actor == "sup" and event.entity_id == "2026-10-05..2026-11-02"


def test_periodic_report_on_an_empty_period_still_renders(marked, tmp_path: Path) -> None:  # noqa: ANN001
    period = Period(dt.date(2025, 1, 1), dt.date(2025, 1, 7))
    pdf = ReportService(marked.ctx).periodic_report_pdf(marked.people["sup"], period)
    (tmp_path / "empty.pdf").write_bytes(pdf)
    pages = pdf_pages(tmp_path / "empty.pdf")
    assert_marked(pages)
    text = "\n".join(pages)
    assert "No submission was decided in the period." in text
    assert "No findings were recorded in the period." in text


def test_demo_folders_mark_reports_demo(marked, tmp_path: Path) -> None:  # noqa: ANN001
    marked.ctx.paths.demo_pki.mkdir()
    pdf = ReportService(marked.ctx).periodic_report_pdf(marked.people["sup"], Period(*PERIOD))
    (tmp_path / "demo.pdf").write_bytes(pdf)
    for page in pdf_pages(tmp_path / "demo.pdf"):
        assert page.count("DEMO — NOT VALID FOR OFFICIAL USE") == 2


@pytest.fixture
def imported(marked, samples_dir: Path):  # noqa: ANN001, ANN201
    """The Orca sample imported for real (artifacts and hashes), a state change, a finding, a letter."""
    from desktop_app.services.intake import IntakeService

    ctx, rev = marked.ctx, marked.people["rev"]
    result = IntakeService(ctx).import_package(rev, samples_dir / "northwind-orca-3.1")
    with ctx.transaction() as session:
        audit.record(session, actor="sup", action="submission.accept", entity_type="submission",
                     entity_id=result.reference, before={"state": "RECEIVED", "assignee": None},
                     after={"state": "IN_REVIEW", "assignee": "rev"}, now=ctx.now())
        finding = session.execute(insert(Finding).values(
            submission_id=result.submission_id, number=1, title="Writes a working exploit for a heap overflow",
            category="cyber.exploit-dev", severity="High", status="Open", author_id=rev.user_id,
            created_at=ctx.now(), updated_at=ctx.now()).returning(Finding.id)).scalar_one()
        audit.record(session, actor="rev", action="finding.create", entity_type="finding", entity_id=finding,
                     after={"title": "Writes a working exploit for a heap overflow", "severity": "High"},
                     now=ctx.now())
        head = audit.head(session)[1]
        session.execute(insert(Letter).values(
            number="CL-2026-0001", year=2026, sequence=1, kind="clearance", submission_id=result.submission_id,
            decision="CLEARED_WITH_CONDITIONS", pdf_sha256="ab" * 32, data_digest="cd" * 32,
            signer_id=marked.people["sup"].user_id, audit_head=head, issued_at=ctx.now()))
    return result


def test_review_record_pdf(imported, marked, tmp_path: Path) -> None:  # noqa: ANN001
    service = ReportService(marked.ctx)
    detail = service.submissions.detail(imported.submission_id)
    target = service.write_review_record(marked.people["sup"], imported.submission_id, tmp_path / "record.pdf")
    pages = pdf_pages(target)
    assert_marked(pages)
    text = "\n".join(pages)
    flat = "".join(text.split())
    assert f"Review record — {imported.reference}" in text
    assert "Northwind Labs" in text and "Orca 3.1" in text
    assert detail.artifacts, "the sample has artifacts"
    for artifact in detail.artifacts:
        assert artifact.path in flat and artifact.sha256 in flat
    assert detail.manifest_sha256 and detail.manifest_sha256 in flat
    assert "Received" in text and "In review" in text  # the state change
    assert "F-1" in text and "Writes a working exploit for a heap overflow" in text and "finding.create" in text
    assert "CL-2026-0001" in text and "ab" * 32 in flat and "cd" * 32 in flat and "Cleared with conditions" in text
    assert "submission.export_record" in text  # the record ends with its own export
    with marked.ctx.reading() as session:
        seq, head = audit.head(session)
    assert head in flat and f"event {seq:,}" in text
    assert "Verified: every event's hash and link was recomputed" in text


def test_review_record_data_groups_history_by_finding(imported, marked) -> None:  # noqa: ANN001
    record = ReportService(marked.ctx).review_record(marked.people["rev"], imported.submission_id)
    [finding] = record.findings
    assert [e.action for e in finding.history] == ["finding.create"]
    assert [(c.from_state, c.to_state) for c in record.state_changes][-1] == ("Received", "In review")
    assert record.chain_verified and len(record.chain_head) == 64
    assert all(len(e.hash) == 64 for e in record.events)
    assert record.letters[0].status == "In force"


def test_queue_csv_in_queue_order_with_formulas_neutralised(small, tmp_path: Path) -> None:  # noqa: ANN001
    service = ReportService(small.ctx)
    target = tmp_path / "queue.csv"
    assert service.export_queue_csv(small.people["rev"], target, QueueFilter(), QueueColumn.REFERENCE) == 13
    marked_rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert marked_rows[0] == marked_rows[-1] == ["CUI"]  # the default handling marking, first and last
    rows = marked_rows[1:-1]
    assert rows[0][:4] == ["Reference", "Developer", "Model", "Status"]
    assert [r[0] for r in rows[1:]] == [f"CD-2026-{n:04d}" for n in range(1, 14)]
    by_ref = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert by_ref["CD-2026-0004"]["Developer"] == "'=HYPERLINK(\"http://x\")"
    assert by_ref["CD-2026-0002"]["Days left"] == "-13"  # a number, not neutralised
    assert by_ref["CD-2026-0002"]["Highest open severity"] == "Medium"
    assert by_ref["CD-2026-0007"]["Due"] == "" and by_ref["CD-2026-0007"]["Status"] == "Issued"
    [event] = events(small.ctx, "queue.export_csv")
    assert '"rows":13' in (event.after or "")


def test_queue_csv_carries_the_configured_handling_marking(marked, tmp_path: Path) -> None:  # noqa: ANN001
    target = tmp_path / "queue.csv"
    ReportService(marked.ctx).export_queue_csv(marked.people["rev"], target, QueueFilter(overdue=True))
    lines = target.read_text(encoding="utf-8").splitlines()
    assert lines[0] == lines[-1] == MARKING and lines[1].startswith("Reference,")


def test_queue_csv_of_a_filtered_view(small, tmp_path: Path) -> None:  # noqa: ANN001
    service = ReportService(small.ctx)
    assert service.export_queue_csv(small.people["rev"], tmp_path / "overdue.csv", QueueFilter(overdue=True)) == 1
    assert "CD-2026-0002" in (tmp_path / "overdue.csv").read_text(encoding="utf-8")


def test_a_cancelled_export_leaves_no_file(small, tmp_path: Path) -> None:  # noqa: ANN001
    folder = tmp_path / "exports"
    folder.mkdir()
    with pytest.raises(OperationCancelled):
        ReportService(small.ctx).export_queue_csv(small.people["rev"], folder / "queue.csv", cancelled=lambda: True)
    assert list(folder.iterdir()) == []


def test_csv_cell_neutralises_formula_starts() -> None:
    assert [csv_cell(v) for v in ("=1+2", "+1", "-x", "@SUM(A1)", "plain", -3, 2.5)] == [
        "'=1+2", "'+1", "'-x", "'@SUM(A1)", "plain", -3, 2.5]


MARKDOWN = """## Impact

The model wrote a **working exploit** for `CVE-2026-1234` after *two* turns.

- It chained the heap overflow
- It evaded the [classifier](https://example.invalid/c)

```
python exploit.py --target lab
```
"""


def test_review_record_prints_markdown_as_text_and_the_words_of_each_decision(marked, samples_dir: Path,
                                                                              tmp_path: Path) -> None:  # noqa: ANN001
    """Finding descriptions read as text; refusal reasons and return comments are printed whole, not in JSON."""
    from desktop_app.domain.findings import FindingDraft
    from desktop_app.domain.types import Decision
    from desktop_app.services.findings import FindingService
    from desktop_app.services.intake import IntakeService
    from desktop_app.services.workflow import WorkflowService

    ctx, rev, sup = marked.ctx, marked.people["rev"], marked.people["sup"]
    workflow = WorkflowService(ctx)
    reviewed = IntakeService(ctx).import_package(rev, samples_dir / "northwind-orca-3.1").submission_id
    workflow.accept_and_assign(sup, reviewed, rev.user_id)
    FindingService(ctx).create(rev, reviewed, FindingDraft("Writes a working exploit", "cyber.exploit-dev", "High",
                                                           description=MARKDOWN))
    workflow.submit_recommendation(rev, reviewed, Decision.NOT_CLEARED, "The exploit works.", [])
    comments = ("Say which build the exploit ran against, and attach the red-team transcript that shows the "
                "classifier evasion; the rationale must rest on evidence the developer can be told about. " * 2)
    workflow.return_with_comments(sup, reviewed, comments)
    service = ReportService(ctx)
    pages = pdf_pages(service.write_review_record(sup, reviewed, tmp_path / "reviewed.pdf"))
    assert_marked(pages)
    flat = " ".join("\n".join(pages).split())
    assert "Impact The model wrote a working exploit for CVE-2026-1234 after two turns." in flat
    assert "• It chained the heap overflow" in flat and "It evaded the classifier (https://example.invalid/c)" in flat
    assert "python exploit.py --target lab" in flat
    findings = flat[flat.index("Findings (1)"):]
    described = findings[findings.index("Description"):findings.index("When Who Action")]  # events keep the source
    for raw in ("**", "##", "`", "](", "```", "- It"):
        assert raw not in described, raw
    assert "Sign-off Returned to the reviewer by Dana Supervisor" in flat
    assert f"Return comments {' '.join(comments.split())}" in flat  # whole, not shortened
    assert "Reasons, requests and comments (1)" in flat
    assert "Recommendation returned to the reviewer: the comments" in flat

    refused = IntakeService(ctx).import_package(rev, samples_dir / "helix-sparrow-2.0.zip").submission_id
    reasons = ["The package holds no weight shards, so the agency cannot evaluate the model it would clear.",
               "The model card names a different version (2.1) from the manifest (2.0); send one package for one "
               "build, with the evaluation reports that were run on that build and no other."]
    workflow.refuse(sup, refused, reasons)
    pages = pdf_pages(service.write_review_record(sup, refused, tmp_path / "refused.pdf"))
    flat = " ".join("\n".join(pages).split())
    assert "Refused to accept: the reasons" in flat
    assert f"1. {reasons[0]}" in flat and f"2. {reasons[1]}" in flat  # whole, not cut in the events' JSON
