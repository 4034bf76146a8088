"""Letter content: refused when it would make a misleading letter; its digest covers every field."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import date, datetime, timedelta, timezone

import pytest

from desktop_app.domain.errors import InputRejected
from desktop_app.domain.types import Decision, LetterKind, Severity
from desktop_app.letters.content import LetterContent, LetterReference, canonical_json
from desktop_app.letters.wording import wording

from .samples import make_content


def _fields_named(error: pytest.ExceptionInfo[InputRejected]) -> set[str | None]:
    return {problem.field for problem in error.value.problems}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"number": "CL-26-1"}, "number"),
        ({"audit_head": "XYZ"}, "audit_head"),
        ({"decision": None}, "decision"),
        ({"decision": Decision.CLEARED}, "conditions"),
        ({"kind": LetterKind.REFUSAL}, "decision"),
        ({"kind": LetterKind.INFORMATION_REQUEST, "decision": None, "conditions": ()}, "body"),
        ({"handling_marking": " "}, "handling_marking"),
        ({"decision": Decision.NOT_CLEARED, "conditions": (), "reasons": ()}, "reasons"),
        ({"kind": LetterKind.CORRECTED, "body": ("The address was wrong.",)}, "refers_to"),
        ({"kind": LetterKind.REVOCATION, "decision": None, "conditions": (), "reasons": (), "body": ("Why.",)},
         "refers_to"),
        ({"kind": LetterKind.INFORMATION_REQUEST, "decision": None, "conditions": (), "reasons": (),
          "body": ("Transcripts.",)}, "respond_by"),
        ({"disclaimer": "This letter authorises the public release of the model."}, "disclaimer"),
        ({"disclaimer": "Licence granted."}, "disclaimer"),
    ],
)
def test_misleading_content_is_refused_naming_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InputRejected) as error:
        make_content(**changes)
    assert field in _fields_named(error)


def test_naive_signing_time_is_refused() -> None:
    base = make_content()
    with pytest.raises(InputRejected) as error:
        make_content(signatory=dataclasses.replace(base.signatory, signed_at=datetime(2026, 3, 14, 12, 0)))
    assert "signatory.signed_at" in _fields_named(error)


def test_signing_time_is_kept_in_utc() -> None:
    base = make_content()
    eastern = base.signatory.signed_at.astimezone(timezone(timedelta(hours=-5)))
    content = make_content(signatory=dataclasses.replace(base.signatory, signed_at=eastern))
    assert content.signatory.signed_at.utcoffset() == timedelta(0)
    assert content.data_digest() == base.data_digest()


def test_findings_summary_lists_every_severity() -> None:
    content = make_content(findings_summary={Severity.CRITICAL: 2})
    assert list(content.findings_summary) == list(Severity)
    assert content.findings_summary[Severity.CRITICAL] == 2 and content.findings_summary[Severity.LOW] == 0


def test_digest_is_sha256_of_the_canonical_json() -> None:
    content = make_content()
    encoded = canonical_json(content)
    assert content.data_digest() == hashlib.sha256(encoded).hexdigest()
    assert encoded == json.dumps(json.loads(encoded), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )
    assert "Zoë Ångström-Łukasiewicz 李雷".encode() in encoded


@pytest.mark.parametrize(
    "changes",
    [
        {"number": "CL-2026-0043"},
        {"issued_on": date(2026, 3, 15)},
        {"conditions": ("Another condition.",)},
        {"audit_head": "ee" * 32},
        {"demo": False},
        {"agency_logo": b"\x89PNG..."},
        {"findings_summary": {Severity.HIGH: 2}},
    ],
)
def test_digest_changes_with_any_field(changes: dict[str, object]) -> None:
    assert make_content(**changes).data_digest() != make_content().data_digest()


def test_qr_payload_carries_number_and_digest() -> None:
    content: LetterContent = make_content()
    assert content.qr_payload == f"CL-2026-0042|sha256:{content.data_digest()}"


def test_meaning_of_the_signature_comes_from_the_wording_table_and_no_other_is_accepted() -> None:
    not_cleared = make_content(decision=Decision.NOT_CLEARED, conditions=())
    assert not_cleared.signatory.meaning == wording(LetterKind.CLEARANCE, Decision.NOT_CLEARED).meaning
    assert not_cleared.signatory.meaning == "Issued — outcome of pre-release security evaluation: not cleared"
    revocation = make_content(kind=LetterKind.REVOCATION, decision=None, conditions=(), reasons=(),
                              body=("Issued in error.",), refers_to=LetterReference("CL-2026-0007", date(2026, 3, 1)))
    assert revocation.signatory.meaning == "Issued — notice of revocation of letter CL-2026-0007"
    approved = dataclasses.replace(not_cleared.signatory, meaning="Approved — pre-release security clearance")
    with pytest.raises(InputRejected) as error:
        dataclasses.replace(not_cleared, signatory=approved)
    assert "signatory.meaning" in _fields_named(error)
