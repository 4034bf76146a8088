"""Conditions in the review record (PDF), the periodic report (PDF and CSV) and the submission's history."""

from __future__ import annotations

from desktop_app.services.conditions import ConditionsService
from desktop_app.services.reports import ReportService, periodic_report_rows
from desktop_app.services.submissions import SubmissionService
from repo_support import pdf_text


def test_review_record_lists_each_condition_with_its_evidence_and_history(ctx, people, issued) -> None:  # noqa: ANN001
    service = ConditionsService(ctx)
    service.attach_bytes(people["rev"], issued.condition_ids[0], b"deployment log\n", name="deploy.log")
    service.waive(people["sup"], issued.condition_ids[1], "Feature removed before release.")
    reports = ReportService(ctx)
    record = reports.review_record(people["sup"], issued.submission_id)
    assert [(c.label, c.status) for c in record.conditions] == [
        (f"{issued.number} condition 1", "Evidence received"), (f"{issued.number} condition 2", "Waived"),
        (f"{issued.number} condition 3", "Open")]
    assert "deploy.log" in record.conditions[0].evidence[0] and "SHA-256" in record.conditions[0].evidence[0]
    actions = [e.action for e in SubmissionService(ctx).history(issued.submission_id)]
    assert actions.count("condition.open") == 3 and "condition.add_evidence" in actions and "condition.waive" in actions
    text = " ".join(pdf_text(reports.review_record_pdf(people["sup"], issued.submission_id)).split())
    assert "Conditions after clearance (3)" in text and "Feature removed before release." in text


def test_periodic_report_counts_conditions_by_status_due_and_overdue(ctx, people, issued, clock) -> None:  # noqa: ANN001
    clock.advance(days=15)
    ConditionsService(ctx).waive(people["sup"], issued.condition_ids[2], "Not needed.")
    reports = ReportService(ctx)
    report = reports.periodic_report(people["sup"], reports.recent_weeks(13))
    rows = {(section, item): value for section, item, _b, value in periodic_report_rows(report)
            if section.startswith("conditions")}
    assert rows[("conditions", "due within 7 days")] == 1 and rows[("conditions", "overdue")] == 1
    assert rows[("conditions by status", "Open")] == 2 and rows[("conditions by status", "Waived")] == 1
    text = " ".join(pdf_text(reports.periodic_report_pdf(people["sup"], reports.recent_weeks(13))).split())
    assert "Conditions of issued letters, by status" in text
    assert "1 unresolved condition is due within 7 days and 1 is past the due date." in text
