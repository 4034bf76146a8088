"""The wording table: every kind × decision rendered and read back, and nothing in it claims an authority.

A signed letter cannot be corrected, only revoked and reissued, so each row of
`resources/templates/letter.json` is checked here as the developer would read it:
rendered, turned back into text with poppler's pdftotext, and searched for what it
must and must not say.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from reportlab.platypus import Table

from desktop_app.domain.types import Decision, LetterKind
from desktop_app.infra.wording import authority_claims
from desktop_app.letters import _layout
from desktop_app.letters.content import Designation, LetterContent, LetterReference, ModelIdentity
from desktop_app.letters.render import render_letter
from desktop_app.letters.wording import Wording, rows, template

from .samples import REASONS, findings_appendix, make_content, pdftotext

EARLIER = LetterReference("CL-2026-0007", date(2026, 3, 2))
WHY = "The letter named the wrong model version (3.0 instead of 3.1.0-rc2)."


def content_for(row: Wording, **changes: Any) -> LetterContent:
    """A complete letter of the row's kind and decision."""
    fields: dict[str, Any] = {"kind": row.kind, "decision": row.decision, "conditions": (), "reasons": (),
                              "disclaimer": "", "body": ()}
    if row.decision is Decision.CLEARED_WITH_CONDITIONS:
        fields |= {"conditions": ("Keep the refusal classifier enabled on every public endpoint.",),
                   "reasons": (REASONS,)}
    elif row.decision is Decision.NOT_CLEARED:
        fields["reasons"] = (REASONS,)
    if row.kind is LetterKind.CORRECTED:
        fields |= {"refers_to": EARLIER, "body": (WHY,)}
    elif row.kind is LetterKind.REVOCATION:
        fields |= {"refers_to": EARLIER, "body": (WHY,)}
    elif row.kind is LetterKind.CONDITIONS_MET:
        fields |= {"refers_to": EARLIER,
                   "body": ("Condition 1 of letter CL-2026-0007 — keep the refusal classifier enabled: met.",)}
    elif row.kind is LetterKind.REFUSAL:
        fields["body"] = ("The manifest does not list the SHA-256 of each weight shard.",)
    elif row.kind is LetterKind.INFORMATION_REQUEST:
        fields |= {"body": ("Full transcripts of the cyber-range runs.",), "paused_on": date(2026, 3, 10),
                   "respond_by": date(2026, 3, 20)}
    return make_content(**(fields | changes))


def _flat(text: str) -> str:
    return " ".join(text.split())


def _row_id(row: Wording) -> str:
    return f"{row.kind.value}-{row.decision.value if row.decision else 'notice'}"


def test_the_table_has_every_kind_and_every_decision_once() -> None:
    keys = [(row.kind, row.decision) for row in rows()]
    assert len(keys) == len(set(keys))
    decided = {(kind, decision) for kind in (LetterKind.CLEARANCE, LetterKind.CORRECTED) for decision in Decision}
    notices = {(kind, None) for kind in LetterKind if kind not in (LetterKind.CLEARANCE, LetterKind.CORRECTED)}
    assert set(keys) == decided | notices


@pytest.mark.parametrize("row", rows(), ids=_row_id)
def test_no_row_claims_an_authority_and_none_says_approved(row: Wording) -> None:
    for field in dataclasses.fields(row):
        value = getattr(row, field.name)
        if isinstance(value, str):
            assert authority_claims(value) == [], f"{_row_id(row)}.{field.name}"
    assert row.meaning.startswith("Issued — ")
    assert "approv" not in row.meaning.lower()


def test_the_claims_list_catches_what_the_issue_found_and_lets_denials_through() -> None:
    assert authority_claims("This letter authorises the public release of the model.") == ["authorises release"]
    assert authority_claims("Licence granted") == ["licence"]
    assert authority_claims("Approved — pre-release security clearance")
    assert authority_claims("The agency grants approval to deploy the model.")
    assert authority_claims("This is no test; the model is precleared.") == ["preclearance"]
    assert authority_claims("It is not a licence, permit or preclearance, and it does not authorise the release.") \
        == []


@pytest.mark.parametrize("row", rows(), ids=_row_id)
def test_every_row_renders_and_reads_back(row: Wording, tmp_path: Path) -> None:
    content = content_for(row)
    rendered = render_letter(content)
    pages = pdftotext(rendered.pdf, tmp_path).split("\f")
    text, first_page = _flat("".join(pages)), _flat(pages[0])
    for sentence in (row.title, content.text(row.opening), content.text(row.notice), content.text(row.closing)):
        assert _flat(sentence) in text, sentence
    meaning = content.text(row.meaning)
    assert f"Meaning of signature: {meaning}" in text
    assert rendered.signatory.meaning == meaning
    assert "Approved" not in text and "Dear " not in text
    evaluated = row.kind in (LetterKind.CLEARANCE, LetterKind.CORRECTED)
    assert ("Outcome of the evaluation" in text) is evaluated
    assert ("Findings summary" in text) is evaluated
    if evaluated:
        assert _flat(row.outcome) in text
        assert f"Outcome: {content.decision.label.upper()}" in text  # type: ignore[union-attr]
    if row.decision in (Decision.NOT_CLEARED, Decision.CLEARED_WITH_CONDITIONS):
        assert "The agency's reasons" in text and _flat(REASONS) in text
    if row.decision is Decision.CLEARED_WITH_CONDITIONS:
        assert "1. Keep the refusal classifier enabled" in text
    if row.kind in (LetterKind.REFUSAL, LetterKind.INFORMATION_REQUEST):
        assert "records the outcome" not in text and "evaluation ended with" not in text
    if row.kind in (LetterKind.CORRECTED, LetterKind.REVOCATION, LetterKind.CONDITIONS_MET):
        assert "CL-2026-0007" in first_page and "March 2, 2026" in first_page
    if row.kind in (LetterKind.CORRECTED, LetterKind.REVOCATION):
        assert _flat(WHY) in text
    if row.kind is LetterKind.INFORMATION_REQUEST:
        assert "paused since March 10, 2026" in text and "Response due by March 20, 2026" in text


def test_cleared_gives_no_assurance_of_no_risk(tmp_path: Path) -> None:
    row = next(r for r in rows() if r.kind is LetterKind.CLEARANCE and r.decision is Decision.CLEARED)
    text = _flat(pdftotext(render_letter(content_for(row)).pdf, tmp_path))
    assert "found no security risk" not in text and "warrants conditions" not in text
    assert "not an assurance that the model is free of security risk" in text


def test_not_cleared_is_issued_never_approved_in_text_reason_and_stamp(tmp_path: Path) -> None:
    from desktop_app.letters.signing import stamp_text

    row = next(r for r in rows() if r.kind is LetterKind.CLEARANCE and r.decision is Decision.NOT_CLEARED)
    rendered = render_letter(content_for(row))
    assert rendered.signatory.meaning == "Issued — outcome of pre-release security evaluation: not cleared"
    assert "Approved" not in stamp_text(rendered) and "not cleared" in stamp_text(rendered)


def test_letterhead_address_attention_line_and_cui_designation(tmp_path: Path) -> None:
    content = make_content(agency_address=("1800 Example Avenue NW", "Washington, DC 20405"),
                           designation=Designation("Office of Frontier Model Security Evaluation", "PROPIN",
                                                   "Records Officer, records@agency.example"),
                           addressee=dataclasses.replace(make_content().addressee, contact_name="Trust and Safety",
                                                         address_lines=()))
    first_page = _flat(pdftotext(render_letter(content).pdf, tmp_path).split("\f")[0])
    assert "1800 Example Avenue NW Washington, DC 20405" in first_page
    assert "Controlled by Office of Frontier Model Security Evaluation" in first_page
    assert "CUI category PROPIN" in first_page and "POC Records Officer" in first_page
    assert "Attention: Trust and Safety" in first_page
    assert "Dear" not in first_page and "To Northwind Intelligence Labs, Inc.:" in first_page


def test_a_hand_registered_submission_is_identified_by_its_registration(tmp_path: Path) -> None:
    model = ModelIdentity("Kestrel Falcon", "2.4", "", package_id="GEN-000003-1234", registered_on=date(2026, 2, 20))
    text = _flat(pdftotext(render_letter(make_content(model=model)).pdf, tmp_path))
    assert "Package ID GEN-000003-1234" in text and "Registered by hand February 20, 2026" in text
    assert "No package manifest was imported for this submission" in text
    assert "Manifest SHA-256" not in text


def test_every_drawn_table_stays_inside_the_text_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[tuple[float, float]] = []
    original = Table.drawOn

    def recording(self: Table, canvas: Any, x: float, y: float, _sW: float = 0) -> Any:
        drawn.append((x, self._width))
        return original(self, canvas, x, y, _sW)

    monkeypatch.setattr(Table, "drawOn", recording)
    for row in rows():
        render_letter(content_for(row, **({"findings": findings_appendix(30)}
                                          if row.kind in (LetterKind.CLEARANCE, LetterKind.CORRECTED) else {})))
    assert drawn
    left, right = _layout._TEXT_LEFT, _layout._PAGE_WIDTH - _layout._TEXT_LEFT
    frame_width = right - left
    for x, width in drawn:
        assert width <= frame_width + 0.01
        if x >= left - 0.01:  # a table in the frame (nested tables are placed relative to their cell)
            assert x + width <= right + 0.01


@pytest.mark.parametrize("count", [20, 21, 22, 23, 60, 61, 62, 63])
def test_the_appendix_never_leaves_one_or_two_rows_alone_on_its_last_page(count: int, tmp_path: Path) -> None:
    pages = pdftotext(render_letter(make_content(findings=findings_appendix(count))).pdf, tmp_path).split("\f")[:-1]
    rows_per_page = [len(re.findall(r"^F-\d+ ", page, flags=re.M)) for page in pages]
    appendix = [n for n in rows_per_page if n]
    assert sum(appendix) == count
    assert appendix[-1] >= min(_layout._MIN_ROWS_ON_A_PAGE, count)


def test_wording_placeholders_are_all_known() -> None:
    known = {"developer", "received_on", "number", "refers_to", "refers_to_date", "paused_on", "respond_by"}
    for row in rows():
        for field in dataclasses.fields(row):
            value = getattr(row, field.name)
            if isinstance(value, str):
                assert set(re.findall(r"{(\w+)}", value)) <= known, f"{_row_id(row)}.{field.name}"
    assert set(re.findall(r"{(\w+)}", template()["supersedes_note"])) <= known
