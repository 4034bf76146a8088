"""Every change a user makes, as one operation — after Anki's `CollectionOp`.

An `Operation` runs one service call on a worker (ui.threads), shows a failure in one
place (ui.common.errors) unless the caller handles it, and on success announces a typed
`Changes` value on the one bus, `bus().changed`. Views listen to that bus and decide from
the `Changes` whether they need to refresh; nothing calls another view's `reload()`.

    Operation(window, lambda: services.findings.edit(actor, fid, draft, expected_version=v),
              title="Save finding").success(lambda info: Changes(sid, ChangeKind.FINDING, f"{info.label} saved")).run()

`OperationDialog` (ui.operations.dialog) is the same thing behind a form: its OK runs the
call, failures stay in the dialog, and the busy state and cancel are written once;
`ProgressDialog` is it without a form, for long work that reports progress and can be
cancelled (imports, backups).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QWidget

from desktop_app.ui.common.errors import show_failure
from desktop_app.ui.threads import GENERAL, alive, run_task

log = logging.getLogger("clearance_desk.ui")
T = TypeVar("T")


class ChangeKind(Enum):
    """What kind of data a saved change touched; each view refreshes only for the kinds it shows."""

    WORKFLOW = "workflow"  # a submission's state, assignee or review window
    FINDING = "finding"
    EVIDENCE = "evidence"
    LETTERS = "letters"  # issued, revoked or superseded letters
    CONDITIONS = "conditions"  # conditions after clearance
    INTAKE = "intake"  # a submission or package imported or registered
    ASSIGNMENT = "assignment"  # many submissions assigned at once
    SAVED_FILTERS = "saved_filters"  # the user's saved queue filters
    USERS = "users"  # accounts: added, roles, passwords, active flags
    TRUST = "trust"  # trust anchors, CRLs, enrolled signing certificates
    SETTINGS = "settings"


#: The kinds that change what the queue and a submission's detail show.
SUBMISSION_KINDS = frozenset({ChangeKind.WORKFLOW, ChangeKind.FINDING, ChangeKind.EVIDENCE, ChangeKind.LETTERS,
                              ChangeKind.CONDITIONS, ChangeKind.INTAKE, ChangeKind.ASSIGNMENT})


@dataclass(frozen=True)
class Changes:
    """What a saved change touched: the submission (None: not one submission) and what of it.

    `message` is the sentence for the status bar. `what` is a `ChangeKind`; its value
    ("finding") is accepted too and turned into the kind, so a misspelt kind fails at once.
    """

    submission_id: int | None
    what: ChangeKind
    message: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.what, ChangeKind):
            object.__setattr__(self, "what", ChangeKind(self.what))

    @property
    def touches_submissions(self) -> bool:
        """True when the queue or a submission's detail may show something else now."""
        return self.what in SUBMISSION_KINDS

    def touches(self, submission_id: int | None) -> bool:
        return self.submission_id is None or self.submission_id == submission_id


class ChangeBus(QObject):
    """The one "something changed" signal (Anki's `operation_did_execute`)."""

    changed = Signal(object)  # Changes

    def announce(self, changes: Changes) -> None:
        self.changed.emit(changes)


_bus: ChangeBus | None = None


def bus() -> ChangeBus:
    global _bus
    if _bus is None:
        _bus = ChangeBus()
    return _bus


class _Listener(QObject):
    """Calls `handler(changes)` for each announced change; a child of its view, so it dies with it."""

    def __init__(self, view: QObject, handler: Callable[[Changes], None]) -> None:
        super().__init__(view)
        self.handler = handler
        bus().changed.connect(self._changed)

    @Slot(object)
    def _changed(self, changes: Changes) -> None:
        self.handler(changes)


def follow_changes(view: QObject, handler: Callable[[Changes], None]) -> None:
    """Call `handler(changes)` after every saved change, for as long as `view` lives.

    The handler decides from the `Changes` whether the view shows anything that changed;
    it is the only place a view refreshes itself after a change.
    """
    _Listener(view, handler)


class Operation(Generic[T]):
    """One service call off the GUI thread; failures shown in one place; `Changes` announced."""

    def __init__(self, parent: QWidget | None, call: Callable[[], T], *, title: str = "Could not save") -> None:
        self.parent, self.call, self.title = parent, call, title
        self._success: Callable[[T], Changes | None] | None = None
        self._failure: Callable[[Exception], None] | None = None

    def success(self, handler: Callable[[T], Changes | None]) -> Operation[T]:
        """`handler(result)` on the GUI thread; the `Changes` it returns go on the bus."""
        self._success = handler
        return self

    def failure(self, handler: Callable[[Exception], None]) -> Operation[T]:
        """Handle a failure yourself (after it is logged) instead of the standard message box."""
        self._failure = handler
        return self

    def run(self, *, pool_name: str = GENERAL) -> None:
        run_task(self.call, on_done=self._done, on_error=self._failed, pool_name=pool_name)

    def _done(self, result: Any) -> None:
        if not alive(self.parent):  # closed meanwhile: its handler would touch deleted widgets; the
            return  # change is committed, and the windows' poll for changes finds it (ui.mainwindow)
        changes = self._success(result) if self._success is not None else None
        if changes is not None:
            bus().announce(changes)

    def _failed(self, error: Exception) -> None:
        log.info("%s: %s", self.title, error)
        if not alive(self.parent):
            show_failure(None, self.title, error)  # nothing was saved: say so even though its dialog is gone
        elif self._failure is not None:
            self._failure(error)
        else:
            show_failure(self.parent, self.title, error)


__all__ = ["SUBMISSION_KINDS", "ChangeBus", "ChangeKind", "Changes", "Operation", "bus", "follow_changes"]
