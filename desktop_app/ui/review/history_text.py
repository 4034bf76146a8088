"""The History tab in sentences: one line per audit event, the actor by full name.

The audit trail keeps codes (`submission.return`) and JSON before/after values, which
is right for the chain and wrong for a reviewer. `describe(entry)` turns one event into
"Returned to review by Dana Whitfield: <comment>"; anything it does not know yet still
reads as words ("Condition supplement by …"), never as a code or JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from desktop_app.domain.conditions import ConditionAction
from desktop_app.domain.types import Decision
from desktop_app.services.detail import HistoryEntry

_FIELD_NAMES = {"title": "title", "category": "category", "severity": "severity", "status": "status",
                "description": "description", "condition": "condition"}


def _decision(value: object) -> str:
    try:
        return Decision(str(value)).label
    except ValueError:
        return str(value or "")


def _quoted(text: object) -> str:
    return f"“{text}”" if text else ""


def _with(sentence: str, detail: object) -> str:
    """`sentence: detail`, the detail shortened to one readable line."""
    if isinstance(detail, list | tuple):
        detail = "; ".join(str(d) for d in detail if d)
    text = " ".join(str(detail or "").split())
    if len(text) > 300:
        text = text[:299] + "…"
    return f"{sentence}: {text}" if text else sentence


def _finding_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    parts = []
    for key, name in _FIELD_NAMES.items():
        if key in after:
            if key in ("description", "condition"):
                parts.append(f"{name} changed")
            else:
                parts.append(f"{name} {before.get(key) or '—'} → {after.get(key) or '—'}")
    return ", ".join(parts)


Sentence = Callable[[HistoryEntry, str, Callable[[object], str]], str]

_SENTENCES: dict[str, Sentence] = {
    "submission.import": lambda e, by, who: f"Imported from the developer's package by {by}",
    "submission.resubmit": lambda e, by, who: f"Imported as a resubmission by {by}",
    "submission.supplement": lambda e, by, who: f"Supplementary package imported by {by}",
    "submission.register_by_hand": lambda e, by, who: f"Registered by hand by {by}",
    "submission.generate_demo": lambda e, by, who: "Generated as demo data",
    "submission.attach_by_hand": lambda e, by, who: _with(
        f"Files attached by hand by {by}", [f.get("name") for f in e.after.get("files", []) if isinstance(f, dict)]),
    "submission.accept_and_assign": lambda e, by, who: f"Accepted for review and assigned to "
                                                       f"{who(e.after.get('assignee'))} by {by}",
    "submission.reassign": lambda e, by, who: f"Reassigned to {who(e.after.get('assignee'))} by {by}",
    "submission.assign": lambda e, by, who: f"Assigned to {who(e.after.get('assignee'))} by {by}",
    "submission.refuse": lambda e, by, who: _with(f"Refused by {by}", e.after.get("reasons")),
    "submission.request_info": lambda e, by, who: _with(
        f"Information requested from the developer by {by}", e.after.get("text")),
    "submission.record_info_received": lambda e, by, who: _with(
        f"Information received, recorded by {by}", e.after.get("note")),
    "submission.submit_recommendation": lambda e, by, who: _with(
        f"Recommended {_decision(e.after.get('decision'))} by {by}", e.after.get("rationale")),
    "submission.approve": lambda e, by, who: _with(
        f"Approved ({_decision(e.after.get('decision'))}) by {by}", e.after.get("comment")),
    "submission.return": lambda e, by, who: _with(f"Returned to review by {by}", e.after.get("comments")),
    "submission.withdraw": lambda e, by, who: _with(
        f"Withdrawn by the developer, recorded by {by}", e.after.get("reason")),
    "submission.change_window": lambda e, by, who: _with(
        f"Review window changed to {e.after.get('window_days')} days by {by}", e.after.get("reason")),
    "submission.export_record": lambda e, by, who: f"Review record exported by {by}",
    "finding.create": lambda e, by, who: f"Finding {e.after.get('number', '')} "
                                         f"{_quoted(e.after.get('title'))} recorded by {by}",
    "finding.carry_over": lambda e, by, who: f"Finding {e.after.get('number', '')} "
                                             f"{_quoted(e.after.get('title'))} carried over by {by}",
    "finding.edit": lambda e, by, who: _with(f"Finding edited by {by}", _finding_changes(e.before, e.after)),
    "finding.withdraw": lambda e, by, who: _with(f"Finding withdrawn by {by}", e.after.get("reason")),
    "evidence.attach_file": lambda e, by, who: f"Evidence {_quoted(e.after.get('title'))} attached to "
                                               f"{e.after.get('finding', 'a finding')} by {by}",
    "evidence.cite_artifact": lambda e, by, who: f"Artifact cited as evidence {_quoted(e.after.get('title'))} for "
                                                 f"{e.after.get('finding', 'a finding')} by {by}",
    "evidence.cite_sample": lambda e, by, who: f"Evaluation sample {e.after.get('locator', '')} cited as evidence "
                                               f"for {e.after.get('finding', 'a finding')} by {by}",
    "evidence.detach": lambda e, by, who: _with(f"Evidence {_quoted(e.before.get('title'))} detached from "
                                                f"{e.before.get('finding', 'a finding')} by {by}", e.after.get("reason")),
    "letter.issue": lambda e, by, who: f"Letter {e.entity_id} signed and issued by {by}",
    "letter.revoke": lambda e, by, who: _with(f"Letter {e.entity_id} revoked by {by}", e.after.get("reason")),
    "permission.refused": lambda e, by, who: _with(f"An action by {by} was refused", e.after.get("reason")),
}


def describe(entry: HistoryEntry, names: Mapping[str, str] | None = None) -> str:
    """One sentence for one audit event; `names` maps user names to full names."""
    names = names or {}

    def who(username: object) -> str:
        return names.get(str(username), str(username)) if username else "nobody"

    by = entry.actor_name or who(entry.actor)
    sentence = _SENTENCES.get(entry.action)
    if sentence is not None:
        view = HistoryEntry(entry.seq, entry.occurred_at, entry.actor, entry.action, entry.entity_type,
                            entry.entity_id, entry.before or {}, entry.after or {}, entry.actor_name)
        return sentence(view, by, who)
    record, _, verb = entry.action.partition(".")
    try:
        words = ConditionAction(verb).label.lower() if record == "condition" else verb.replace("_", " ")
    except ValueError:
        words = verb.replace("_", " ")
    subject = f"{record.replace('_', ' ').capitalize()} {entry.entity_id}".strip()
    return _with(f"{subject}: {words or 'changed'} by {by}", (entry.after or {}).get("reason"))


__all__ = ["describe"]
