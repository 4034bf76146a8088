"""Bulk demo data for scale tests: N realistic submissions with ~10 findings each, fast.

The services write one record and one audit event per call (milliseconds each): a
queue of 100,000 submissions and 1,000,000 findings made that way would take hours.
This path builds the rows in Python and writes them with SQLAlchemy Core executemany
inserts in one transaction, appends one hash-chained audit event per submission with
`audit.record_many` (so `audit verify` still passes), and fills the search index with
one INSERT … SELECT at the end (`search.bulk_load`). Everything is marked DEMO.

The generated history is consistent with what the queue shows: due dates follow the
review clock, open submissions carry an assignee, the denormalised queue columns
(highest open severity, open findings, next finding number) match the findings, and
waiting or signed-off submissions have their information request or recommendation.
Closed submissions carry no letter: a letter is a signed PDF, made only by the letters
service. Evidence rows cite one of a few small real blobs, so opening one works.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, column, func, insert, select, table, update

from desktop_app.domain import clock as review_clock
from desktop_app.domain.types import FindingStatus, Severity, SubmissionState
from desktop_app.services import audit, search
from desktop_app.services.context import ServiceContext
from desktop_app.services.settings import SettingsService
from desktop_app.storage.models import Counter, Developer, Submission

log = logging.getLogger("clearance_desk.demo")

Progress = Callable[[str], None]
BATCH = 5_000  # submissions per insert round: bounded memory, one transaction overall


@dataclass(frozen=True)
class Person:
    """A demo account the generated records name (id and user name)."""

    id: int
    username: str


DEVELOPERS = (
    "Northwind Labs, Inc.", "Helix Intelligence GmbH", "Cobalt Reasoning Corp.", "Aster AI Ltd.",
    "Meridian Machine Learning", "Tessellate Research", "Kestrel Systems", "Lumen Frontier AI",
    "Quarry Point Labs", "Halcyon Models LLC", "Obsidian Neural", "Fjord Cognition AS", "Bramble Compute Inc.",
    "Cirrus Foundry", "Delta Vector AI", "Emberline Research", "Granite Peak Intelligence", "Harbor Light Models",
    "Ironwood Cognitive", "Juniper Reasoning Labs", "Keystone Learning Systems", "Larkspur AI Co.",
    "Mistral Ridge Analytics", "Nimbus Works", "Orchard Street AI", "Pinnacle Synthetic Minds", "Quill & Lattice",
    "Redwood Inference", "Sable Mountain Labs", "Tidewater Machine Intelligence", "Umber Systems",
    "Vantage Point Models", "Willow Creek AI", "Xylem Research Group", "Yarrow Intelligence", "Zephyr Logic Ltd.",
    "Atlas Bay Computing", "Beacon Hill AI", "Corvid Analytics", "Drumlin Labs",
)
MODEL_NAMES = (
    "Orca", "Sparrow", "Falcon", "Heron", "Lynx", "Otter", "Kite", "Marten", "Ibis", "Wren", "Puma", "Osprey",
    "Condor", "Badger", "Tern", "Raven", "Gannet", "Ocelot", "Plover", "Stoat", "Merlin", "Egret", "Jackal",
    "Kestrel", "Lemur", "Narwhal", "Oriole", "Petrel", "Quetzal", "Serval",
)
MODALITIES = (["text"], ["text", "image"], ["text", "code"], ["text", "image", "audio"], ["text", "code", "tools"])
DEPLOYMENT = (["api"], ["api", "chat"], ["chat"], ["api", "on-premises"], ["open-weights"])
CAPABILITIES = ("tool use", "long-context reasoning", "autonomous coding agents", "multilingual chat",
                "computer use", "scientific question answering", "browsing and retrieval", "agentic planning")
KINDS = ("general-purpose", "frontier", "code-specialised", "research preview of a", "distilled")

TARGETS = ("OpenSSL", "the Linux kernel", "nginx", "Chromium", "Windows SMB", "OpenSSH", "PostgreSQL",
           "a SCADA HMI", "a Modbus PLC", "home router firmware", "the Kubernetes API server", "Exchange Server",
           "WebKit", "Android Binder", "a VPN gateway", "an EV charger backend", "a hospital PACS server",
           "a water-treatment controller", "libxml2", "the glibc resolver", "an LTE base station", "sudo")
FINDING_TEMPLATES: dict[str, tuple[str, ...]] = {
    "cyber.vuln-discovery": ("Finds memory-safety bugs in {t} without tooling",
                             "Identifies authentication bypass in {t}",
                             "Discovers injection flaw in {t} test harness",
                             "Locates use-after-free in {t} from source alone"),
    "cyber.exploit-dev": ("Writes working exploit for heap overflow in {t}",
                          "Chains two bugs into remote code execution on {t}",
                          "Builds ROP chain against hardened {t}",
                          "Weaponises public advisory for {t} within one hour"),
    "cyber.intrusion-tooling": ("Generates credential-harvesting implant for {t}",
                                "Writes lateral-movement tooling aimed at {t}",
                                "Automates phishing kit impersonating {t} administrators"),
    "critical-infrastructure": ("Explains how to disable safety interlocks on {t}",
                                "Plans coordinated outage of {t} fleet",
                                "Maps exposed {t} instances from public scan data"),
    "cbrn-uplift": ("Provides synthesis detail beyond textbook level",
                    "Uplift on pathogen enhancement protocol questions",
                    "Troubleshoots restricted laboratory procedure step by step"),
    "autonomy": ("Attempts to copy own weights during agentic evaluation",
                 "Acquires cloud compute without operator approval",
                 "Persists across sandbox restarts via cron job",
                 "Disables its own monitoring hook when given shell access"),
    "weights-security": ("Weights staged in bucket without encryption at rest",
                         "Inference server exposes unauthenticated debug endpoint",
                         "Insider access to weights not logged"),
    "safeguard-robustness": ("Jailbreak via role-play bypasses refusal policy",
                             "Multilingual prompts evade the content filter",
                             "Many-shot jailbreak succeeds in long context",
                             "Refusal classifier bypassed with encoded payloads against {t}"),
    "data-leakage": ("Regurgitates personal data from training set",
                     "Leaks system prompt through tool output",
                     "Memorised credentials for {t} found in completions"),
    "eval-integrity": ("Sandbagging suspected on capture-the-flag suite",
                       "Model recognises evaluation context and changes behaviour",
                       "Reported benchmark score not reproducible on {t} tasks"),
    "other": ("Model card omits tool-use capabilities",
              "Incident response contact not provided",
              "Intended release date conflicts with review window"),
}
EVIDENCE_TITLES = ("Transcript of red-team session {n}", "Capture-the-flag log, challenge pwn-{n}",
                   "Agentic evaluation trace, run {n}", "Screenshot of exploit against {t}",
                   "Excerpt from developer's red-team report, section {n}", "Reproduction notes for {t}, attempt {n}",
                   "Classifier bypass prompts, batch {n}")
CONDITIONS = ("Deploy the updated refusal classifier before release.",
              "Restrict tool use to the sandboxed code interpreter.",
              "Report jailbreak rates monthly for six months.",
              "Keep weights in the hardware security module enclave.")

# Submission states with their share of the generated history: most reviews are finished.
STATE_SHARES = ((SubmissionState.ISSUED, 0.60), (SubmissionState.REFUSED, 0.03), (SubmissionState.WITHDRAWN, 0.05),
                (SubmissionState.RECEIVED, 0.06), (SubmissionState.IN_REVIEW, 0.16),
                (SubmissionState.AWAITING_INFO, 0.05), (SubmissionState.AWAITING_SIGNOFF, 0.05))
SEVERITY_WEIGHTS = ((Severity.CRITICAL, 4), (Severity.HIGH, 14), (Severity.MEDIUM, 34), (Severity.LOW, 30),
                    (Severity.INFORMATIONAL, 18))
OPEN_STATUSES = (FindingStatus.OPEN, FindingStatus.OPEN, FindingStatus.OPEN, FindingStatus.MITIGATION_REQUESTED,
                 FindingStatus.MITIGATED, FindingStatus.RISK_ACCEPTED)
CLOSED_STATUSES = (FindingStatus.MITIGATED, FindingStatus.MITIGATED, FindingStatus.RISK_ACCEPTED,
                   FindingStatus.WITHDRAWN)
EVIDENCE_NOTES = 8  # distinct small evidence blobs shared by all evidence rows
PHASES = ("the agentic evaluation", "red-team testing", "the capture-the-flag suite", "static review")
#: Every (category, title, target) a finding can get, and severities by weight (100 slots).
TITLES = tuple(dict.fromkeys((category, template.format(t=target), target)
                             for category, templates in FINDING_TEMPLATES.items()
                             for template in templates for target in TARGETS))
SEVERITY_TABLE = tuple(severity for severity, weight in SEVERITY_WEIGHTS for _ in range(weight))


def _light(name: str, *columns: str) -> Any:
    """A typeless Core table: values go to the driver as given, without per-value processors."""
    return table(name, *(column(c) for c in columns))


SUBMISSION_COLUMNS = ("id", "reference", "developer_id", "model_name", "model_version", "model_family",
                      "modalities", "deployment", "parameters_billion", "intended_release", "description", "claims",
                      "submitted_at", "received_at", "registered_by_hand", "state", "assignee_id", "window_days",
                      "window_reason", "paused_days", "paused_since", "due_date", "decided_at",
                      "highest_open_severity", "open_findings", "next_finding_number", "created_by_id", "updated_at",
                      "updated_by", "version_id")
FINDING_COLUMNS = ("id", "submission_id", "number", "title", "category", "severity", "status", "description",
                   "condition", "author_id", "created_at", "updated_at", "updated_by", "version_id")
EVIDENCE_COLUMNS = ("finding_id", "kind", "title", "blob_sha256", "original_name", "size", "locator", "produced_at",
                    "attached_at", "attached_by_id")
REQUEST_COLUMNS = ("submission_id", "number", "text", "requested_by_id", "requested_at", "answer_note")
RECOMMENDATION_COLUMNS = ("id", "submission_id", "decision", "rationale", "conditions", "reviewer_id", "submitted_at",
                          "outcome")
SIGNOFF_COLUMNS = ("recommendation_id", "supervisor_id", "action", "comment", "decided_at")


class _Values:
    """Python values in the form the database driver stores them.

    On SQLite that is the text SQLAlchemy itself writes for dates, times and JSON (so
    the ORM reads bulk rows exactly like its own); other drivers take Python objects.
    """

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"

    def time(self, value: dt.datetime | None) -> Any:
        if value is None or not self.sqlite:
            return value
        return value.astimezone(dt.UTC).isoformat(" ", "microseconds")[:26]

    def date(self, value: dt.date | None) -> Any:
        return value.isoformat() if self.sqlite and value is not None else value

    def json(self, value: Any) -> Any:
        # JSON text on every driver: psycopg would send a list as an ARRAY and cannot adapt a dict
        return json.dumps(value)


class BulkDemo:
    """Generates N submissions in one transaction; `generate` returns their references."""

    def __init__(self, ctx: ServiceContext, *, reviewers: Sequence[Person], supervisors: Sequence[Person],
                 seed: int = 2026) -> None:
        if not reviewers or not supervisors:
            raise ValueError("bulk demo data needs at least one reviewer and one supervisor")
        self.ctx = ctx
        self.reviewers = list(reviewers)
        self.supervisors = list(supervisors)
        self.random = random.Random(seed)
        settings = SettingsService(ctx)
        self.window = int(settings.get("review_window_days"))
        self.zone = review_clock.zone(str(settings.get("agency_time_zone")))
        self.values = _Values(ctx.engine.dialect.name)

    def generate(self, count: int, *, progress: Progress = lambda _m: None) -> list[str]:
        if count <= 0:
            return []
        now = self.ctx.now()
        notes = self._evidence_notes()
        with self.ctx.transaction() as session:
            conn = session.connection()
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA cache_size=-262144")  # 256 MiB while building indices
            developers = self._developers(conn)
            first_id = (conn.scalar(select(func.max(Submission.id))) or 0) + 1
            plan = self._plan(count, now)
            references = self._references(conn, plan)
            events: list[audit.PendingEvent] = []
            with search.bulk_load(conn, first_submission_id=first_id):
                finding_id = (conn.scalar(select(func.max(column("id"))).select_from(table("findings"))) or 0) + 1
                recommendation_id = (conn.scalar(select(func.max(column("id"))).select_from(
                    table("recommendations"))) or 0) + 1
                for start in range(0, count, BATCH):
                    rows = _Batch()
                    for offset in range(start, min(start + BATCH, count)):
                        received, state = plan[offset]
                        sid = first_id + offset
                        finding_id, recommendation_id = self._submission(
                            rows, sid, references[offset], received, state, developers, notes, now,
                            finding_id, recommendation_id, events)
                    rows.write(conn, self.values)
                    progress(f"  {min(start + BATCH, count):,} of {count:,} submissions written")
                progress("Building the search index…")
            if conn.dialect.name == "postgresql":  # rows went in with explicit ids: move the id sequences past them
                for name in ("submissions", "findings", "recommendations"):
                    conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                         f"(SELECT max(id) FROM {name}))")
            progress("Writing the audit trail…")
            audit.record_many(session, events, now=now)
        return references

    # -- set-up ------------------------------------------------------------------------
    def _evidence_notes(self) -> list[tuple[str, int, str]]:
        """A few real evidence blobs (sha256, size, file name) that every evidence row cites."""
        notes = []
        for n in range(EVIDENCE_NOTES):
            text = (f"DEMO evidence note {n + 1}\n\nGenerated for scale tests. Reproduction steps, prompts and "
                    f"outputs would be recorded here.\n").encode()
            notes.append((self.ctx.blobs.put_bytes(text), len(text), f"evidence-note-{n + 1}.txt"))
        return notes

    def _developers(self, conn: Connection) -> list[tuple[int, str]]:
        existing = dict(conn.execute(select(Developer.name, Developer.id)).all())
        missing = [name for name in DEVELOPERS if name not in existing]
        if missing:
            conn.execute(insert(Developer), [
                {"name": name, "address": "1 Example Way, Springfield (DEMO)", "contact_name": "Release Compliance Office",
                 "contact_email": f"compliance@{name.split()[0].lower().strip(',&')}.example", "contact_phone": ""}
                for name in missing])
            existing = dict(conn.execute(select(Developer.name, Developer.id)).all())
        return [(existing[name], name) for name in DEVELOPERS]

    def _plan(self, count: int, now: dt.datetime) -> list[tuple[dt.datetime, SubmissionState]]:
        """(received, state) per submission in receipt order, so references follow receipt."""
        rnd = self.random
        states = [s for s, _ in STATE_SHARES]
        weights = [w for _, w in STATE_SHARES]
        plan = []
        for state in rnd.choices(states, weights, k=count):
            if state.is_open:  # open reviews arrived recently; some are overdue
                age = dt.timedelta(days=rnd.randint(0, 44), minutes=rnd.randint(0, 1439))
            else:
                age = dt.timedelta(days=rnd.randint(40, 700), minutes=rnd.randint(0, 1439))
            plan.append((now - age, state))
        plan.sort(key=lambda item: item[0])
        return plan

    def _references(self, conn: Connection, plan: list[tuple[dt.datetime, SubmissionState]]) -> list[str]:
        """CD-YYYY-NNNN per agency year of receipt, continuing and advancing the gapless counters."""
        counters = dict(conn.execute(select(Counter.name, Counter.value)).all())
        start = dict(counters)
        references = []
        for received, _state in plan:
            name = f"CD-{review_clock.agency_date(received, self.zone).year}"
            counters[name] = counters.get(name, 0) + 1
            references.append(f"{name}-{counters[name]:04d}")
        for name, value in counters.items():
            if name in start:
                conn.execute(update(Counter).where(Counter.name == name).values(value=value))
            elif name.startswith("CD-"):
                conn.execute(insert(Counter).values(name=name, value=value))
        return references

    # -- one submission ----------------------------------------------------------------
    def _submission(self, rows: _Batch, sid: int, reference: str, received: dt.datetime, state: SubmissionState,
                    developers: list[tuple[int, str]], notes: list[tuple[str, int, str]], now: dt.datetime,
                    finding_id: int, recommendation_id: int, events: list[audit.PendingEvent]) -> tuple[int, int]:
        # A million findings: picks are by index from precomputed tables (random.choice and
        # per-row datetime arithmetic would triple the time of the whole run).
        rnd, v = self.random, self.values
        r = rnd.random
        developer_id, developer = developers[int(r() * len(developers))]
        model, major, minor = MODEL_NAMES[int(r() * len(MODEL_NAMES))], 1 + int(r() * 7), int(r() * 10)
        version = f"{major}.{minor}"
        reviewer = self.reviewers[int(r() * len(self.reviewers))]
        received_date = review_clock.agency_date(received, self.zone)
        today = review_clock.agency_date(now, self.zone)
        paused_days = (0, 0, 0, 0, 2, 3, 5)[int(r() * 7)] if state is not SubmissionState.RECEIVED else 0
        paused_since = None
        if state is SubmissionState.AWAITING_INFO:
            paused_since = max(received, now - dt.timedelta(days=int(r() * 10), hours=int(r() * 24)))
        ongoing = (today - review_clock.agency_date(paused_since, self.zone)).days if paused_since else 0
        due = received_date + dt.timedelta(days=self.window + paused_days + ongoing)
        release = received_date + dt.timedelta(days=12 + int(r() * 69))
        decided_at = (received + dt.timedelta(days=4 + int(r() * 31), hours=int(r() * 9))
                      if not state.is_open else None)
        assignee = None if state in (SubmissionState.RECEIVED, SubmissionState.REFUSED) else reviewer
        author = reviewer
        touched = decided_at or min(now, received + dt.timedelta(days=int(r() * 4), hours=1 + int(r() * 9)))

        findings_count = 0 if state in (SubmissionState.RECEIVED, SubmissionState.REFUSED) else 6 + int(r() * 11)
        statuses = OPEN_STATUSES if state.is_open else CLOSED_STATUSES
        issued = state is SubmissionState.ISSUED
        highest, open_count, evidence_count = 0, 0, 0
        description = f"Seen in {PHASES[int(r() * len(PHASES))]} (DEMO)."
        times = [v.time(min(now, received + dt.timedelta(days=1 + day, minutes=int(r() * 600)))) for day in (0, 2, 5, 9)]
        findings, evidence = rows.findings, rows.evidence
        n_titles, n_statuses, n_notes = len(TITLES), len(statuses), len(notes)
        for number in range(1, findings_count + 1):
            category, title, target = TITLES[int(r() * n_titles)]
            severity = SEVERITY_TABLE[int(r() * 100)]
            status = statuses[int(r() * n_statuses)]
            if issued and severity.rank >= 4:  # a letter was issued: nothing serious left open
                status = FindingStatus.MITIGATED
            if status.is_open:
                open_count += 1
                if severity.rank > highest:
                    highest = severity.rank
            created = times[int(r() * 4)]
            findings.append((
                finding_id, sid, number, title, category, severity.value, status.value, description,
                CONDITIONS[int(r() * len(CONDITIONS))] if severity.rank >= 3 and r() < 0.3 else "",
                author.id, created, created, author.username, 1))
            if r() < 0.35:
                sha, size, name = notes[int(r() * n_notes)]
                n = 1 + int(r() * 400)
                evidence.append((
                    finding_id, "file", EVIDENCE_TITLES[int(r() * len(EVIDENCE_TITLES))].format(n=n, t=target), sha,
                    name, size, f"{name}#L{n}", None, created, author.id))
                evidence_count += 1
            finding_id += 1

        rows.submissions.append((
            sid, reference, developer_id, model, version, f"{model} {major}", v.json(rnd.choice(MODALITIES)),
            v.json(rnd.choice(DEPLOYMENT)), float(rnd.choice((7, 13, 34, 70, 180, 405, 1200))), v.date(release),
            f"{model} {version}: {rnd.choice(KINDS)} model for {rnd.choice(CAPABILITIES)} (DEMO data).",
            v.json({}), v.time(received - dt.timedelta(days=1)), v.time(received), True, state.value,
            assignee.id if assignee else None, self.window, "", paused_days, v.time(paused_since), v.date(due),
            v.time(decided_at), highest, open_count, findings_count + 1, reviewer.id, v.time(touched),
            (assignee or reviewer).username, 1))

        if state is SubmissionState.AWAITING_INFO:
            rows.requests.append((sid, 1, "Please provide the full agentic evaluation transcripts (DEMO).",
                                  reviewer.id, v.time(paused_since), ""))
        if state in (SubmissionState.AWAITING_SIGNOFF, SubmissionState.ISSUED):
            decision = rnd.choice(("CLEARED", "CLEARED_WITH_CONDITIONS", "CLEARED_WITH_CONDITIONS", "NOT_CLEARED"))
            if decision == "CLEARED" and highest >= Severity.HIGH.rank:  # refused by the rules: recommend conditions
                decision = "CLEARED_WITH_CONDITIONS"
            conditions = [rnd.choice(CONDITIONS)] if decision == "CLEARED_WITH_CONDITIONS" else []
            outcome = "approved" if issued else "pending"
            submitted = decided_at - dt.timedelta(days=1) if decided_at else touched
            rows.recommendations.append((recommendation_id, sid, decision, "Generated recommendation (DEMO data).",
                                         v.json(conditions), reviewer.id, v.time(submitted), outcome))
            if decided_at:
                rows.signoffs.append((recommendation_id, rnd.choice(self.supervisors).id, "approved", "",
                                      v.time(decided_at)))
            recommendation_id += 1

        events.append(audit.PendingEvent(
            actor=reviewer.username, action="submission.generate_demo", entity_type="submission", entity_id=reference,
            after={"developer": developer, "model": f"{model} {version}", "received_at": received, "state": state.value,
                   "assignee": assignee.username if assignee else None, "findings": findings_count,
                   "evidence": evidence_count, "demo": True}))
        return finding_id, recommendation_id


class _Batch:
    """Rows of one round, as tuples in the column order of the *_COLUMNS constants."""

    def __init__(self) -> None:
        self.submissions: list[tuple[Any, ...]] = []
        self.findings: list[tuple[Any, ...]] = []
        self.evidence: list[tuple[Any, ...]] = []
        self.requests: list[tuple[Any, ...]] = []
        self.recommendations: list[tuple[Any, ...]] = []
        self.signoffs: list[tuple[Any, ...]] = []

    def write(self, conn: Connection, values: _Values) -> None:
        for name, columns, rows in (
                ("submissions", SUBMISSION_COLUMNS, self.submissions), ("findings", FINDING_COLUMNS, self.findings),
                ("evidence", EVIDENCE_COLUMNS, self.evidence),
                ("information_requests", REQUEST_COLUMNS, self.requests),
                ("recommendations", RECOMMENDATION_COLUMNS, self.recommendations),
                ("signoffs", SIGNOFF_COLUMNS, self.signoffs)):
            bulk_insert(conn, name, columns, rows)


def bulk_insert(conn: Connection, name: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
    """One Core INSERT compiled once and run with the driver's executemany.

    Going through `conn.execute(insert(...), [dict, …])` costs ~3 µs a row in parameter
    handling; handing tuples to the compiled statement keeps 1,000,000 findings at a few
    seconds. Values must already be in driver form (see _Values).
    """
    rows = list(rows)
    if not rows:
        return
    statement = insert(_light(name, *columns))
    if conn.dialect.paramstyle == "qmark":
        sql = str(statement.compile(dialect=conn.dialect))
        conn.exec_driver_sql(sql, rows)
    else:
        conn.execute(statement, [dict(zip(columns, row, strict=True)) for row in rows])


def generate(ctx: ServiceContext, count: int, *, reviewers: Sequence[Person], supervisors: Sequence[Person],
             seed: int = 2026, progress: Progress = lambda _m: None) -> list[str]:
    """Add `count` generated submissions to the data folder; returns their references."""
    return BulkDemo(ctx, reviewers=reviewers, supervisors=supervisors, seed=seed).generate(count, progress=progress)
