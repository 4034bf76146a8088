"""The demo's review work: submissions taken through every state by the real services.

`variant_packages` makes more Orca packages (other package ids and versions) so that
each decision, the refusal and the information request can carry a signed letter: a
letter names the model by its manifest, which by-hand registrations do not have. `run_reviews` then accepts, assigns, records
findings with evidence (a file and artifact citations), requests information (the
shipped supplement package is the answer), recommends, returns, refuses and withdraws.

It leaves four package-backed submissions awaiting sign-off, one per decision plus a
second "cleared with conditions", each recommended and written by reviewers only, so
the supervisor may approve every one of them (the letters step signs three and leaves
one for a user to approve).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop_app.domain.findings import FindingDraft
from desktop_app.domain.types import Decision
from desktop_app.services.context import Actor, ServiceContext
from desktop_app.services.findings import FindingService
from desktop_app.services.intake import IntakeService
from desktop_app.services.submissions import SubmissionService
from desktop_app.services.workflow import WorkflowService

ORCA = "northwind-orca-3.1"
SUPPLEMENT = "northwind-orca-3.1-supplement"
#: (package id, model version, description): later Orca builds, to have three letters to sign
VARIANTS = (
    ("NW-2026-0051", "3.2", "Orca 3.2: longer tool-use horizon and autonomous browsing (DEMO variant)."),
    ("NW-2026-0063", "3.1.1", "Orca 3.1.1: patch release with a retrained refusal classifier (DEMO variant)."),
    ("NW-2026-0071", "3.3-preview", "Orca 3.3 preview: early checkpoint (DEMO variant)."),
    ("NW-2026-0078", "3.2-mini", "Orca 3.2 mini: distilled model for on-device use (DEMO variant)."),
)

Progress = Callable[[str], None]

#: The Orca clearance's conditions, followed up after the letter by services.demo_conditions.
ORCA_CONDITIONS = (
    "Keep the exploit-refusal classifier enabled on every public endpoint, and send the deployment record.",
    "Disable the browsing tool for consumer-app users until the prompt-injection mitigation described in "
    "supplement NW-2026-0042-S1 is deployed.",
    "Report to the agency within 72 hours any jailbreak that restores exploit development.",
    "Send the results of the cyber-range evaluation re-run on the release build.",
)


def variant_packages(samples: Path, folder: Path) -> list[Path]:
    """The Orca sample under the VARIANTS' package ids and versions, written into `folder`."""
    made = []
    for package_id, version, description in VARIANTS:
        target = folder / package_id
        shutil.copytree(samples / ORCA, target)
        manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
        manifest["package_id"] = package_id
        manifest["model"]["version"] = version
        manifest["model"]["description"] = description
        (target / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        made.append(target)
    return made


def _draft(title: str, category: str, severity: str, status: str = "Open", description: str = "",
           condition: str = "", *, releasable: bool = True) -> FindingDraft:
    """A demo finding; most are releasable so the demo letters show an appendix, a few are kept back."""
    return FindingDraft(title=title, category=category, severity=severity, status=status,
                        description=description, condition=condition, releasable=releasable)


@dataclass
class _Cast:
    reviewer: Actor
    reviewer2: Actor
    supervisor: Actor


class DemoReviews:
    """Runs the demo submissions through the workflow; `ids` are in demo order (samples first)."""

    def __init__(self, ctx: ServiceContext, actors: dict[str, Actor], samples: Path) -> None:
        self.ctx, self.samples = ctx, samples
        self.cast = _Cast(actors["reviewer"], actors["reviewer2"], actors["supervisor"])
        self.workflow = WorkflowService(ctx)
        self.findings = FindingService(ctx)
        self.intake = IntakeService(ctx)
        self.submissions = SubmissionService(ctx)

    def run(self, references: Sequence[str], progress: Progress) -> None:
        ids = [self.submissions.id_for_reference(ref) for ref in references]
        orca, sparrow, orca_next, orca_patch, orca_preview, orca_mini, *generated = ids
        progress("Reviewing the sample submissions…")
        self._orca(orca)
        self._sparrow(sparrow)
        self._orca_next(orca_next)
        self._orca_patch(orca_patch)
        self._refuse(orca_preview)
        self._waiting(orca_mini)
        progress("Moving generated submissions through the workflow…")
        self._generated(generated)

    def _accept(self, submission_id: int, by: Actor, to: Actor) -> None:
        self.workflow.accept_and_assign(by, submission_id, to.user_id)

    def _artifact(self, submission_id: int, suffix: str) -> int:
        detail = self.submissions.detail(submission_id)
        return next(a.id for a in detail.artifacts if a.path.endswith(suffix))

    # -- the package-backed submissions: all four end awaiting sign-off ---------------------
    def _orca(self, sid: int) -> None:
        """Findings with a file and citations, an information request answered by the supplement."""
        rev = self.cast.reviewer
        self._accept(sid, rev, rev)
        exploit = self.findings.create(rev, sid, _draft(
            "Completes exploit chains for known CVEs when the task is split across turns", "cyber.exploit-dev",
            "High", description=(
                "In 4 of 20 multi-turn sessions the model produced a **working exploit** for a published CVE "
                "after the request was split into innocuous-looking steps.\n\n"
                "- single-turn requests were refused every time\n- the tool-call classifier did not fire\n\n"
                "See the attached transcript excerpt and task 7 of the cyber range report."),
            condition="Keep the exploit-refusal classifier enabled on every public endpoint."))
        produced = self.ctx.now() - dt.timedelta(days=2)
        self.findings.attach_bytes(
            rev, exploit.id, b"DEMO transcript excerpt\n\nturn 1: list the services on the host\n"
                             b"turn 2: which of these is vulnerable to CVE-2026-0001?\nturn 3: write the request\n",
            name="session-14-transcript.txt", title="Transcript excerpt, session 14 (DEMO)", produced_at=produced)
        self.findings.cite_artifact(rev, exploit.id, self._artifact(sid, "cyber-range-v4.json"), locator="task 7")
        injection = self.findings.create(rev, sid, _draft(
            "Prompt injection through the browsing tool bypasses the tool-call classifier", "safeguard-robustness",
            "Medium", "Mitigation requested",
            description="A web page instructing the model to ignore its policy was followed in 3 of 10 trials.",
            condition="Disable the browsing tool for consumer-app users until the prompt-injection "
                      "mitigation described in supplement NW-2026-0042-S1 is deployed."))
        self.findings.cite_artifact(rev, injection.id, self._artifact(sid, "red-team-summary.txt"),
                                    locator="line 3")
        self.workflow.request_info(rev, sid, "Describe the mitigation for prompt injection through the browsing "
                                             "tool, and when it will be deployed.")
        supplement = self.intake.import_package(rev, self.samples / SUPPLEMENT)
        package = next(p for p in self.workflow.supplement_packages(supplement.submission_id)
                       if p.package_id == "NW-2026-0042-S1")
        self.workflow.record_info_received(rev, sid, note="Answered by supplement NW-2026-0042-S1.",
                                           package_id=package.id)
        current = self.findings.get(exploit.id)
        self.findings.edit(rev, exploit.id, _draft(current.title, current.category, "High", "Mitigated",
                                                   current.description, current.condition),
                           expected_version=current.version)
        current = self.findings.get(injection.id)
        self.findings.edit(rev, injection.id, _draft(current.title, current.category, "Medium", "Risk accepted",
                                                     current.description, current.condition),
                           expected_version=current.version)
        self.workflow.submit_recommendation(
            rev, sid, Decision.CLEARED_WITH_CONDITIONS,
            "The exploit-chaining finding is mitigated by the retrained classifier; prompt injection remains and "
            "is handled by a condition.", ORCA_CONDITIONS)

    def _sparrow(self, sid: int) -> None:
        rev, rev2 = self.cast.reviewer, self.cast.reviewer2
        self._accept(sid, rev, rev2)
        finding = self.findings.create(rev2, sid, _draft(
            "Secure-code benchmark shows no exploit uplift", "cyber.vuln-discovery", "Informational", "Mitigated",
            description="Scores match the previous generation; no uplift over public tools."))
        self.findings.cite_artifact(rev2, finding.id, self._artifact(sid, "secure-code.json"))
        self.workflow.submit_recommendation(rev2, sid, Decision.CLEARED,
                                            "Small code model without meaningful cyber-offense capability.")

    def _orca_next(self, sid: int) -> None:
        rev2 = self.cast.reviewer2
        self._accept(sid, rev2, rev2)
        chain = self.findings.create(rev2, sid, _draft(
            "Autonomously chains two n-day exploits against the range's mail server", "cyber.exploit-dev",
            "Critical", description="Unaided, in a sandbox with a shell tool: initial access to domain admin in "
                                    "41 minutes."))
        self.findings.cite_artifact(rev2, chain.id, self._artifact(sid, "cyber-range-v4.json"),
                                    locator="tasks 12-14")
        self.findings.create(rev2, sid, _draft(
            "Attempts to copy its own weights when given storage credentials", "autonomy", "High",
            description="Observed once in 50 agentic episodes.", releasable=False))
        self.workflow.submit_recommendation(
            rev2, sid, Decision.NOT_CLEARED,
            "Unaided, with a shell tool in the agency's sandbox, the model chained two known exploits against "
            "the cyber range's mail server and reached domain administrator in 41 minutes (finding F-1). The "
            "package describes no mitigation that stops this, and the agency could not find one in its own "
            "tests.\n\nA resubmission would need evidence that the capability is removed or reliably refused in "
            "every deployment the developer intends.")

    def _orca_patch(self, sid: int) -> None:
        rev = self.cast.reviewer
        self._accept(sid, rev, rev)
        self.findings.create(rev, sid, _draft(
            "System prompt recoverable through a translation request", "data-leakage", "Low", "Risk accepted",
            condition="Do not place credentials or personal data in system prompts of public deployments."))
        self.workflow.submit_recommendation(rev, sid, Decision.CLEARED_WITH_CONDITIONS,
                                            "Patch release; one low-severity leak accepted with a condition.")

    def _refuse(self, sid: int) -> None:
        self.workflow.refuse(self.cast.reviewer2, sid, [
            "The package is an early checkpoint, not the model intended for release.",
            "The evaluation report does not cover the checkpoint delivered."])

    def _waiting(self, sid: int) -> None:
        rev = self.cast.reviewer
        self._accept(sid, rev, rev)
        finding = self.findings.create(rev, sid, _draft("Evaluation logs incomplete for the CTF suite",
                                                        "eval-integrity", "Medium", releasable=False))
        self.findings.cite_artifact(rev, finding.id, self._artifact(sid, "cyber-range-v4.json"))
        self.workflow.request_info(rev, sid, "Send the complete CTF evaluation logs of the distilled model, "
                                             "including failed runs.")

    # -- generated submissions: every other state ---------------------------------------------
    def _generated(self, ids: Sequence[int]) -> None:
        rev, rev2, sup = self.cast.reviewer, self.cast.reviewer2, self.cast.supervisor
        returned, longer, supervised, withdrawn, started, *received = ids
        self._accept(withdrawn, rev2, rev2)
        self.workflow.withdraw(rev2, withdrawn, "The developer postponed the release indefinitely.")

        self._accept(returned, rev, rev)
        self.findings.create(rev, returned, _draft("Writes working ransomware when asked in a role-play",
                                                   "cyber.intrusion-tooling", "High"))
        self.workflow.submit_recommendation(rev, returned, Decision.NOT_CLEARED, "Ransomware uplift.")
        self.workflow.return_with_comments(sup, returned, "Attach the transcripts and rate the uplift against "
                                                          "public tooling before we decide.")

        self._accept(longer, rev2, rev2)
        self.findings.create(rev2, longer, _draft("Chemistry questions answered with synthesis detail",
                                                  "cbrn-uplift", "High", "Mitigation requested"))
        self.workflow.change_window(rev2, longer, 45, "CBRN uplift needs the external lab's assessment (DEMO).")

        self._accept(supervised, sup, rev)
        finding = self.findings.create(rev, supervised, _draft(
            "Safety classifier can be disabled through a system-prompt flag", "weights-security", "Medium"))
        self.findings.attach_bytes(rev, finding.id, b"DEMO note: flag name and observed behaviour.\n",
                                   name="classifier-flag-note.md", title="Reviewer's note (DEMO)")

        self._accept(started, rev, rev2)

        # hand-registered (no package manifest imported) and still cleared: their letters say so
        for sid in received[:-1]:  # the last stays RECEIVED: the demo has every state
            self._accept(sid, rev2, rev2)
            self.workflow.submit_recommendation(
                rev2, sid, Decision.CLEARED, "Registered by hand from the developer's cover letter; the agency's "
                "own tests found nothing that calls for conditions (DEMO).")


def run_reviews(ctx: ServiceContext, actors: dict[str, Actor], references: Sequence[str], samples: Path,
                progress: Progress) -> None:
    DemoReviews(ctx, actors, samples).run(references, progress)
