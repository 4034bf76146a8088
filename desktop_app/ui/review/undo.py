"""Undo and redo of saved finding edits within the session (QUndoStack, Ctrl+Z / Ctrl+Shift+Z).

An undo is not a rollback: it saves the earlier values as a new version of the finding,
audited like any edit, carrying the version this session last saved. The save is an
operation (ui.operations): it runs on a worker and announces its `Changes` on the bus.
If someone else changed the finding meanwhile, the undo is refused (ConcurrentEdit,
shown to the user) and the command leaves the stack, so nothing is ever silently
overwritten.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QUndoCommand

from desktop_app.domain.findings import FindingDraft
from desktop_app.ui.operations import ChangeKind, Changes, Operation

if TYPE_CHECKING:
    from desktop_app.ui.review.workflow import WorkflowController

FIELDS = ("title", "category", "severity", "status", "description", "condition")


def changed_fields(before: FindingDraft, after: FindingDraft) -> list[str]:
    return [name for name in FIELDS if getattr(before, name) != getattr(after, name)]


class EditFindingCommand(QUndoCommand):
    """One saved edit of a finding. Pushed after the save, so the first redo does nothing."""

    def __init__(self, controller: WorkflowController, submission_id: int, finding_id: int, label: str,
                 before: FindingDraft, after: FindingDraft, version: int) -> None:
        changed = changed_fields(before, after)
        super().__init__(f"edit of {label} ({', '.join(changed) or 'no change'})")
        self.controller = controller
        self.submission_id, self.finding_id, self.label = submission_id, finding_id, label
        self.before, self.after = before, after
        self.version = version  # the version this session last saved
        self._pushed = True

    def redo(self) -> None:
        if self.isObsolete():  # being dropped after a refused save (see _drop)
            return
        if self._pushed:  # QUndoStack.push() calls redo(); the edit was saved already
            self._pushed = False
            return
        self._save(self.after, "Redo")

    def undo(self) -> None:
        if self.isObsolete():
            return
        self._save(self.before, "Undo")

    def _save(self, values: FindingDraft, verb: str) -> None:
        controller, finding_id, version = self.controller, self.finding_id, self.version
        findings, actor = controller.services.findings, controller.actor

        def saved(info: object) -> Changes:
            self.version = info.version  # type: ignore[attr-defined]
            return Changes(self.submission_id, ChangeKind.FINDING, f"{verb}: {self.text()}")

        def failed(error: Exception) -> None:
            self._drop()
            controller.report(f"{verb} failed", error)

        Operation(controller.window, lambda: findings.edit(actor, finding_id, values, expected_version=version),
                  title=f"{verb} failed").success(saved).failure(failed).run()

    def _drop(self) -> None:
        """Take this command off the stack: it can no longer be applied. The save failed after the
        stack had moved, so step once more over it (a no-op for an obsolete command), and Qt deletes it."""
        self.setObsolete(True)
        stack = self.controller.undo_stack
        index = stack.index()
        if index < stack.count() and stack.command(index) is self:
            stack.redo()
        elif index > 0 and stack.command(index - 1) is self:
            stack.undo()
