"""A second (third, fourth) workstation for the concurrency tests: one process, one action.

    python tests/backends/worker.py --data-dir DIR [--db-url URL] --go FILE ACTION [options]

The worker opens the data folder, prepares, prints "ready", waits until FILE exists (so
every worker starts its action within a millisecond of the others), acts, and prints
one JSON line per result. A refused action (ConcurrentEdit and the other expected
errors) prints one line on stderr and exits 1, as the command line does; anything else
is a traceback and exit 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

from desktop_app.domain.errors import ClearanceDeskError
from desktop_app.domain.findings import FindingDraft
from desktop_app.services.context import Actor, open_data_folder
from desktop_app.services.users import UserService


def actor(ctx, username: str) -> Actor:  # noqa: ANN001
    info = UserService(ctx).get(username)
    return Actor(info.id, info.username, info.role, info.display_name)


def wait_for(go: Path) -> None:
    print("ready", flush=True)
    deadline = time.monotonic() + 60
    while not go.exists():
        if time.monotonic() > deadline:
            raise SystemExit("worker: nobody said go")
        time.sleep(0.0005)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--db-url")
    parser.add_argument("--go", type=Path, required=True)
    parser.add_argument("--as", dest="user", default="rev")
    sub = parser.add_subparsers(dest="action", required=True)
    edit = sub.add_parser("edit-finding")
    edit.add_argument("--finding", type=int, required=True)
    edit.add_argument("--version", type=int, required=True)
    edit.add_argument("--severity", required=True)
    move = sub.add_parser("transition")
    move.add_argument("--submission", type=int, required=True)
    move.add_argument("--version", type=int, required=True)
    move.add_argument("--kind", choices=["request-info", "reassign", "window"], required=True)
    append = sub.add_parser("audit-append")
    append.add_argument("--count", type=int, required=True)
    append.add_argument("--tag", required=True)
    numbers = sub.add_parser("numbers")
    numbers.add_argument("--count", type=int, required=True)
    issue = sub.add_parser("issue-letter")
    issue.add_argument("--submission", type=int, required=True)
    issue.add_argument("--p12", type=Path, required=True)
    args = parser.parse_args()

    ctx = open_data_folder(args.data_dir, db_url=args.db_url)
    try:
        who = actor(ctx, args.user)
        try:
            return act(ctx, who, args)
        except ClearanceDeskError as error:
            print(f"{type(error).__name__}: {error}", file=sys.stderr, flush=True)
            return 1
    finally:
        ctx.close()


def act(ctx, who: Actor, args: argparse.Namespace) -> int:  # noqa: ANN001
    if args.action == "edit-finding":
        from desktop_app.services.findings import FindingService

        service = FindingService(ctx)
        current = service.get(args.finding)
        wanted = FindingDraft(title=current.title, category=current.category, severity=args.severity,
                              status=current.status, description=current.description, condition=current.condition)
        wait_for(args.go)
        saved = service.edit(who, args.finding, wanted, expected_version=args.version)
        print(json.dumps({"saved": saved.version, "severity": saved.severity.value}), flush=True)
    elif args.action == "transition":
        from desktop_app.services.workflow import WorkflowService

        workflow = WorkflowService(ctx)
        wait_for(args.go)
        if args.kind == "request-info":
            result = workflow.request_info(who, args.submission, f"Question from {who.username}",
                                           expected_version=args.version)
        elif args.kind == "reassign":
            result = workflow.reassign(who, args.submission, actor(ctx, "rev2").user_id,
                                       expected_version=args.version)
        else:
            result = workflow.change_window(who, args.submission, 45, f"extended by {who.username}",
                                            expected_version=args.version)
        print(json.dumps({"done": result.action, "state": result.state.value}), flush=True)
    elif args.action == "audit-append":
        from desktop_app.services import audit

        wait_for(args.go)
        for n in range(args.count):
            with ctx.transaction() as session:
                event = audit.record(session, actor=who.username, action="test.append", entity_type="test",
                                     entity_id=f"{args.tag}-{n}", after={"n": n})
                seq = event.seq
            print(json.dumps({"seq": seq}), flush=True)
    elif args.action == "numbers":
        from desktop_app.services.references import next_number

        wait_for(args.go)
        for _ in range(args.count):
            with ctx.transaction() as session:
                number, _sequence = next_number(session, "CL", 2026)
            print(json.dumps({"number": number}), flush=True)
    elif args.action == "issue-letter":
        from desktop_app.letters.signing import Pkcs12Source
        from desktop_app.services.conditions import ConditionsService
        from desktop_app.services.letters import LetterService

        letters = LetterService(ctx)
        due = ConditionsService(ctx).today() + dt.timedelta(days=90)
        wait_for(args.go)
        issued = letters.approve_and_issue(who, args.submission, password="correct horse battery staple 7",
                                           source=Pkcs12Source(args.p12), secret="clearance-demo", conditions_due=due)
        print(json.dumps({"number": issued.number, "submission": issued.submission_id}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
