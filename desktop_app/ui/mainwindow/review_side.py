"""The review half: its build after the first paint, the wiring of letters, workflow and
findings actions, and the one listener of the change bus.

A mixin of `MainWindow` (ui.mainwindow.window): it uses the window's attributes.
"""

from __future__ import annotations

import importlib
import logging

from desktop_app.ui.common.layouts import after_first_paint
from desktop_app.ui.operations import ChangeKind, Changes
from desktop_app.ui.startup import freeze_start_up_objects


log = logging.getLogger("clearance_desk.ui")

#: The modules of the review half (Qt and Core, no ORM), imported off the GUI thread when the build is deferred.
REVIEW_MODULES = ("desktop_app.ui.review.detail_pane", "desktop_app.ui.review.workflow", "desktop_app.ui.letters.actions",
                  "desktop_app.ui.reports.actions", "desktop_app.services.submissions")


def import_review_modules() -> None:
    """Import the review half's modules (any thread; a no-op once done)."""
    for name in REVIEW_MODULES:
        importlib.import_module(name)


class ReviewMixin:
    """The review half: deferred build, letters, workflow and findings actions, the change bus's listener."""

    def _build_review_later(self) -> None:
        """Import the review half's modules on a worker thread, then build it here.

        The same worker then reads the current submission's detail (its first read compiles
        the statements); once the half is built, the ORM-based services load. (Started with
        the window instead, the worker's Python slows the first paint by as much as it saves:
        laying out and painting the window runs Python too.)
        """
        if self.ready or self._review_importing:
            return
        from desktop_app.ui.threads import run_task

        self._review_importing = True
        wanted = self.current_id()

        def work() -> tuple[int, tuple[object, ...]] | None:
            import_review_modules()  # at once if the sign-in dialog's wait loaded them already
            if wanted is None:
                return None
            try:
                return wanted, self._detail_parts(wanted)
            except Exception as error:  # noqa: BLE001 - read again on the GUI thread, which reports it
                log.warning("reading the first detail in the background failed (%s)", error)
                return None

        def imported(first_detail: tuple[int, tuple[object, ...]] | None) -> None:
            self._review_importing = False
            self.finish_setup(first_detail)  # unless a command built it meanwhile
            # Once the pane is drawn: beside a worker's imports each of the paint's calls into
            # Python waits for the interpreter lock, and the pane's first paint took 130 ms.
            after_first_paint(self.detail, self._load_record_services)

        def failed(error: Exception) -> None:
            log.warning("loading the review modules in the background failed (%s); loading them now", error)
            imported(None)

        run_task(work, on_done=imported, on_error=failed, owner=self)

    def _load_record_services(self) -> None:
        """The ORM-based services on a worker, then what they set up frozen out of the collector's passes."""
        from desktop_app.services.bundle import load_record_services
        from desktop_app.ui.threads import run_task

        def loaded(_none: None) -> None:
            self._records_loaded = True
            freeze_start_up_objects("review")

        run_task(load_record_services, on_done=loaded,
                 on_error=lambda error: log.warning("loading the record services in the background: %s", error),
                 owner=self)

    def _connect_letters(self) -> None:
        """The Letters tab's buttons and the letter menu entries (ui.letters.actions)."""
        from desktop_app.ui.letters.actions import LetterActions

        self.letter_actions = LetterActions(self, self.services, self.actor)
        self.detail.set_letter_signing(self.letter_actions.can_sign)
        self.detail.letter_open_requested.connect(self.letter_actions.open_letter)
        self.detail.letter_save_requested.connect(self.letter_actions.save_letter)
        self.detail.letter_print_requested.connect(self.letter_actions.print_letter)
        self.detail.letter_verify_requested.connect(self.letter_actions.verify_letter)
        self.detail.letter_revoke_requested.connect(self.letter_actions.revoke_letter)
        self.detail.letter_correct_requested.connect(self.letter_actions.correct_letter)
        self.detail.notice_requested.connect(self.letter_actions.issue_notice)

    def approve_and_sign(self, submission_id: int) -> bool:
        """Approve with the letter: preview, sign, then the letter is in the Letters tab."""
        return self.letter_actions.approve(submission_id)

    def _connect_review(self) -> None:
        from desktop_app.ui.review.workflow import WorkflowController

        from desktop_app.ui.review.findings import FindingActions

        self.review = WorkflowController(self, self.services, self.actor, self.undo_stack)
        self.review.findings = FindingActions(self.review)
        self.review.approver = self.approve_and_sign
        findings, page = self.review.findings, self.detail.findings_page
        self.detail.action_panel.action_requested.connect(
            lambda key: self.detail.detail and self.review.perform(key, self.detail.detail))
        page.new_requested.connect(lambda: self.detail.detail and findings.new(self.detail.detail))
        page.edit_requested.connect(lambda fid: self.detail.detail and findings.edit(self.detail.detail, fid))
        page.withdraw_requested.connect(lambda fid: self.detail.detail and findings.withdraw(self.detail.detail, fid))
        page.attach_requested.connect(lambda fid: self.detail.detail and findings.attach_file(self.detail.detail, fid))
        page.cite_requested.connect(lambda fid: self.detail.detail and findings.cite_artifact(self.detail.detail, fid))
        page.detach_requested.connect(
            lambda fid, eid: self.detail.detail and findings.detach_evidence(self.detail.detail, fid, eid))
        page.save_evidence_requested.connect(self._save_evidence)
        page.open_evidence_requested.connect(self.open_evidence)
        self.detail.finding_version_requested.connect(findings.show_version)

    def _review_changed(self, change: Changes) -> None:
        """After any saved change (the bus, from the first load on): the window refreshes what it shows of it.

        Submissions: the queue and the detail, keeping the selection (a new one is selected);
        saved filters: the sidebar. Other kinds (accounts, trust, settings) only say so.
        """
        if change.message:
            self.statusBar().showMessage(change.message, 8000)
        if change.what is ChangeKind.SAVED_FILTERS:
            select, self._saved_to_select = getattr(self, "_saved_to_select", None), None
            self.sidebar.set_saved(self.services.queue.saved_filters(self.actor), select_id=select)
            return
        if change.what is ChangeKind.INTAKE and change.submission_id is not None:
            self.select_submission(change.submission_id)  # a new submission: show it
            return
        if not change.touches_submissions:
            return
        shown = self.detail.detail.id if self.ready and self.detail.detail is not None else None
        self.reload()  # re-shows the current row's detail; the pane keeps its tab and finding
        if shown == change.submission_id and self.current_id() != shown:
            self._show_submission(shown)  # it left the filtered view: keep showing what was acted on

    def _show_submission(self, submission_id: int) -> None:
        self.detail.show_submission(*self.services.submissions.view(self.actor, submission_id))
        self._shown_id = submission_id

    def _save_evidence(self, evidence_id: int) -> None:
        self.review.findings.save_evidence(
            evidence_id, lambda target: self.statusBar().showMessage(f"Saved a copy as {target}", 8000))

    def open_my_work(self) -> None:
        from desktop_app.ui.queue.my_work import MyWorkDialog

        if self.my_work is None:
            self.my_work = MyWorkDialog(self.services, self.actor, self)
            self.my_work.open_requested.connect(self._open_from_my_work)
        self.my_work.show()  # shown again, it reads what changed meanwhile
        self.my_work.raise_()
        self.my_work.activateWindow()

    def open_conditions(self) -> None:
        """The Conditions window (ui.letters.conditions), one per main window."""
        from desktop_app.ui.letters.conditions import ConditionsWindow

        window = getattr(self, "conditions_window", None)
        if window is None:
            window = self.conditions_window = ConditionsWindow(self.services, self.actor, self)
            window.open_requested.connect(self._open_from_my_work)
        window.show()  # shown again, it reads what changed meanwhile
        window.raise_()
        window.activateWindow()

    def _open_from_my_work(self, submission_id: int) -> None:
        self.select_submission(submission_id)
        self.activateWindow()
        self.detail.setCurrentIndex(0)
