"""The queue service against a small database: filters, sorts, search, counts, saved filters, bulk assign."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import delete, select, update

from desktop_app.domain.errors import InputRejected, NotFound, PermissionDenied
from desktop_app.domain.types import Severity, SubmissionState
from desktop_app.services.audit import iter_events, verify_chain
from desktop_app.services.queue import QueueColumn, QueueFilter, QueueService
from desktop_app.services.search import Fts5Search, LikeSearch, SearchQuery
from desktop_app.storage.models import AuditEvent, Developer, Evidence, Finding, SavedFilter, Submission, User

from queue_data import GENERATED, add_finding, all_submissions

TODAY = dt.date(2026, 11, 2)  # the agency date of the fixed clock (10:00 in Washington)


@pytest.fixture
def queue(qctx) -> QueueService:  # noqa: ANN001
    return QueueService(qctx)


def ids(queue: QueueService, flt: QueueFilter = QueueFilter(), sort: QueueColumn = QueueColumn.DUE,  # noqa: B008
        descending: bool = False) -> list[int]:
    return list(queue.ordered_ids(flt, sort, descending))


def _due_order(s: Submission) -> tuple:
    """Open submissions by due date, then closed ones (which show no due date)."""
    return (not SubmissionState(s.state).is_open, s.due_date if SubmissionState(s.state).is_open else None, s.id)


def test_the_whole_queue_in_due_order(queue, qctx) -> None:  # noqa: ANN001
    rows = all_submissions(qctx)
    assert len(rows) == GENERATED + 2
    assert ids(queue) == [s.id for s in sorted(rows, key=_due_order)]


@pytest.mark.parametrize("name", ["state", "mine", "overdue", "due_within", "developer", "severity", "combined"])
def test_each_filter_changes_the_rows_as_expected(queue, qctx, actors, name: str) -> None:  # noqa: ANN001
    rows = all_submissions(qctx)
    rev = actors["rev"].user_id
    some_developer = rows[5].developer_id
    running = {s.value for s in SubmissionState if s.clock_runs}  # awaiting information: the clock stands still
    cases = {
        "state": (QueueFilter(states=frozenset({SubmissionState.IN_REVIEW, SubmissionState.AWAITING_INFO})),
                  lambda s: s.state in ("IN_REVIEW", "AWAITING_INFO")),
        "mine": (QueueFilter(assignee_id=rev), lambda s: s.assignee_id == rev),
        "overdue": (QueueFilter(overdue=True), lambda s: s.due_date < TODAY and s.state in running),
        "due_within": (QueueFilter(due_within_days=7),
                       lambda s: s.due_date <= TODAY + dt.timedelta(days=7) and s.state in running),
        "developer": (QueueFilter(developer_id=some_developer), lambda s: s.developer_id == some_developer),
        "severity": (QueueFilter(min_severity=Severity.HIGH), lambda s: s.highest_open_severity >= 4),
        "combined": (QueueFilter(assignee_id=rev, overdue=True, min_severity=Severity.MEDIUM),
                     lambda s: s.assignee_id == rev and s.due_date < TODAY and s.state in running
                     and s.highest_open_severity >= 3),
    }
    flt, predicate = cases[name]
    expected = [s.id for s in sorted(rows, key=_due_order) if predicate(s)]
    assert 0 < len(expected) < len(rows), "the test data must make this filter matter"
    assert ids(queue, flt) == expected


def _sort_key(column: QueueColumn, s: Submission, names: dict[int, str], users: dict[int, str]) -> tuple:
    year, number = s.reference.split("-")[1:]
    conflict = int(bool(s.intended_release and s.intended_release < s.due_date
                        and SubmissionState(s.state).is_open))
    due_sort = s.due_date if SubmissionState(s.state).is_open else dt.date(9999, 12, 31)
    return {
        QueueColumn.REFERENCE: (int(year), int(number)),
        QueueColumn.DEVELOPER: (names[s.developer_id],),
        QueueColumn.MODEL: (s.model_name, s.model_version),
        QueueColumn.STATUS: (s.state, s.due_date, (0, 0) if s.assignee_id is None else (1, s.assignee_id)),
        QueueColumn.ASSIGNEE: ((0, "", 0) if s.assignee_id is None else (1, users[s.assignee_id], s.assignee_id),
                               s.due_date),
        QueueColumn.RECEIVED: (s.received_at,),
        QueueColumn.DUE: (due_sort,),
        QueueColumn.DAYS_LEFT: (due_sort,),
        QueueColumn.SEVERITY: (s.highest_open_severity,),
        QueueColumn.OPEN_FINDINGS: (s.open_findings,),
        QueueColumn.RELEASE_CONFLICT: (conflict,),
    }[column] + (s.id,)


@pytest.mark.parametrize("column", list(QueueColumn))
def test_every_column_sorts_both_ways_in_sql(queue, qctx, column: QueueColumn) -> None:  # noqa: ANN001
    rows = all_submissions(qctx)
    with qctx.reading() as session:
        names = dict(session.execute(select(Developer.id, Developer.name)).all())
        users = dict(session.execute(select(User.id, User.display_name)).all())
    expected = [s.id for s in sorted(rows, key=lambda s: _sort_key(column, s, names, users))]
    assert ids(queue, sort=column) == expected
    assert ids(queue, sort=column, descending=True) == expected[::-1]


def test_every_sort_reads_an_index_not_a_temporary_sort(queue, qctx) -> None:  # noqa: ANN001
    """The id list comes straight out of an index (assignee names excepted: users are joined)."""
    with qctx.reading() as session:
        conn = session.connection()
        for column in QueueColumn:
            if column is QueueColumn.ASSIGNEE:
                continue
            compiled = queue.id_statement(QueueFilter(), column, False).compile(
                dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
            params = [compiled.construct_params()[k] for k in compiled.positiontup or ()]
            plan = " ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled),
                                                                         tuple(params)))
            assert "TEMP B-TREE" not in plan, (column, plan)


def test_references_sort_as_numbers_past_9999(queue, qctx, known) -> None:  # noqa: ANN001
    with qctx.transaction() as session:
        session.execute(update(Submission).where(Submission.id == known.quokka).values(reference="CD-2026-10000"))
        session.execute(update(Submission).where(Submission.id == known.axolotl).values(reference="CD-2026-9999"))
    order = ids(queue, sort=QueueColumn.REFERENCE, descending=True)
    assert order[:2] == [known.quokka, known.axolotl]


# -- search ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("quok", {"quokka"}),                      # prefix of the model name
    ("zephyrine", {"quokka", "axolotl"}),      # developer
    ("Zeph axo", {"axolotl"}),                 # every word must match
    ("zebra", {"quokka"}),                     # the summary
    ("xyloph", {"axolotl"}),                   # a finding title
    ("MARIMBA", {"axolotl"}),                  # an evidence title, any case
    ("axolotl 2.0", {"axolotl"}),              # version as a phrase
    ("quokka zzzz", set()),
])
def test_search_finds_by_prefix_across_the_fields(queue, known, text: str, expected: set[str]) -> None:  # noqa: ANN001
    names = {known.quokka: "quokka", known.axolotl: "axolotl"}
    found = ids(queue, QueueFilter(text=text))
    assert {names.get(i, i) for i in found} == expected


def test_search_by_reference_and_reference_prefix(queue, known) -> None:  # noqa: ANN001
    assert ids(queue, QueueFilter(text=known.quokka_reference)) == [known.quokka]
    prefix = known.quokka_reference[:-1]  # CD-2026-045 style: a phrase whose last token is a prefix
    found = ids(queue, QueueFilter(text=prefix))
    assert known.quokka in found and all(isinstance(i, int) for i in found)
    with queue.ctx.reading() as session:
        refs = set(session.scalars(select(Submission.reference).where(Submission.id.in_(found))))
    assert all(r.startswith(prefix) for r in refs)


@pytest.mark.parametrize("text", ['"', 'or "quokka', "NEAR(a b)", "*", "AND", "a OR b", "'; DROP TABLE x; --", "q"])
def test_search_text_is_never_query_syntax(queue, text: str) -> None:  # noqa: ANN001
    """Quotes, operators and one-letter words are matched as words or ignored, never an error."""
    result = ids(queue, QueueFilter(text=text))
    assert isinstance(result, list)
    if not SearchQuery.parse(text):
        assert len(result) == GENERATED + 2


def test_search_follows_every_change_through_the_triggers(queue, qctx, known) -> None:  # noqa: ANN001
    def found(text: str) -> list[int]:
        return ids(queue, QueueFilter(text=text))

    finding = add_finding(qctx, known.quokka, "Harpsichord exfiltration channel", evidence="Clavichord log")
    assert found("harpsichord") == [known.quokka] and found("clavichord") == [known.quokka]
    with qctx.transaction() as session:
        session.execute(update(Finding).where(Finding.id == finding).values(title="Ocarina exfiltration channel"))
        session.execute(update(Evidence).where(Evidence.finding_id == finding).values(title="Bagpipe log"))
    assert found("harpsichord") == [] and found("ocarina") == [known.quokka]
    assert found("clavichord") == [] and found("bagpipe") == [known.quokka]
    with qctx.transaction() as session:
        session.execute(delete(Evidence).where(Evidence.finding_id == finding))
        session.execute(delete(Finding).where(Finding.id == finding))
    assert found("ocarina") == [] and found("bagpipe") == []
    with qctx.transaction() as session:
        developer_id = session.get(Submission, known.quokka).developer_id
        session.execute(update(Developer).where(Developer.id == developer_id).values(name="Borealis Compute"))
        session.execute(update(Submission).where(Submission.id == known.quokka).values(description="kazoo notes"))
    assert set(found("borealis")) == {known.quokka, known.axolotl}
    assert found("kazoo") == [known.quokka] and found("zebra") == []


def test_where_a_hidden_match_is_said(queue, known) -> None:  # noqa: ANN001
    assert queue.match_context(known.axolotl, "xylo") == "F-1: Xylophone side-channel leaks weights"
    assert queue.match_context(known.axolotl, "marimba") == "F-1 evidence: Marimba transcript 7"
    assert queue.match_context(known.axolotl, "xylo weights") == "F-1: Xylophone side-channel leaks weights"
    assert queue.match_context(known.quokka, "zebra").startswith("Summary: Frontier quokka model")
    assert queue.match_context(known.quokka, "quokka") == ""  # visible in the model column
    ids = [known.quokka, known.axolotl]
    for text in ("xylo", "marimba", "zebra", "quokka"):  # from rows already read: the same answer
        assert queue.match_contexts(ids, text, rows=queue.rows(ids)) == queue.match_contexts(ids, text), text


def test_the_portable_search_agrees_with_fts5(queue, known) -> None:  # noqa: ANN001
    for text in ("quok", "zephyrine", "xyloph", "marimba", "zebra", "Zeph axo"):
        fts = ids(queue, QueueFilter(text=text))
        queue.search = LikeSearch()
        like = ids(queue, QueueFilter(text=text))
        queue.search = Fts5Search()
        assert set(fts) <= set(like), text  # LIKE matches inside words too, so it may find more


def test_search_query_spans_mark_what_matched() -> None:
    query = SearchQuery.parse("orc cd-2026-00 x")
    assert query.words == (("orc",), ("cd", "2026", "00"))  # "x" is too short to search by
    text = "Orca 3.1 (CD-2026-0042), not Borca"
    assert [text[a:b] for a, b in query.spans(text)] == ["Orc", "CD-2026-00"]
    assert SearchQuery.parse("  ").spans(text) == []


# -- counts ---------------------------------------------------------------------------------

def test_counts_follow_the_refinements(queue, qctx, actors) -> None:  # noqa: ANN001
    rows = all_submissions(qctx)
    rev = actors["rev"].user_id
    running = {s.value for s in SubmissionState if s.clock_runs}
    counts = queue.counts(QueueFilter(min_severity=Severity.MEDIUM), me=rev, due_within_days=7)
    base = [s for s in rows if s.highest_open_severity >= 3]
    assert counts.total == len(base)
    assert counts.states == {state: sum(s.state == state.value for s in base) for state in SubmissionState}
    assert counts.mine == sum(s.assignee_id == rev for s in base)
    assert counts.overdue == sum(s.due_date < TODAY and s.state in running for s in base)
    assert counts.due_soon == sum(s.due_date <= TODAY + dt.timedelta(days=7) and s.state in running for s in base)
    assert queue.status_counts(QueueFilter(states=frozenset({SubmissionState.ISSUED}))) == queue.counts().states


def test_a_paused_submission_is_neither_overdue_nor_due_soon(queue, qctx) -> None:  # noqa: ANN001
    """Awaiting information stops the clock (its days left stand still), whatever its stored due date."""
    paused = [s for s in all_submissions(qctx) if s.state == "AWAITING_INFO" and s.due_date < TODAY]
    assert paused, "the test data must hold a paused submission whose stored due date has passed"
    overdue = set(queue.ordered_ids(QueueFilter(overdue=True)))
    soon = set(queue.ordered_ids(QueueFilter(due_within_days=7)))
    assert not {s.id for s in paused} & (overdue | soon)
    counts = queue.counts()
    assert counts.overdue == len(overdue) and counts.due_soon == len(soon)


def test_counts_with_a_search(queue, known) -> None:  # noqa: ANN001
    counts = queue.counts(QueueFilter(text="zephyrine"))
    assert counts.total == 2 and counts.states[SubmissionState.RECEIVED] == 2


# -- saved filters --------------------------------------------------------------------------

def test_saved_filters_are_per_user_replaced_by_name_and_audited(queue, qctx, actors) -> None:  # noqa: ANN001
    rev, rev2 = actors["rev"], actors["rev2"]
    flt = QueueFilter(states=frozenset({SubmissionState.IN_REVIEW}), assignee_id=rev.user_id, overdue=True,
                      due_within_days=14, developer_id=3, min_severity=Severity.HIGH, text="jailbreak")
    saved = queue.save_filter(rev, "  My   overdue  ", flt)
    assert saved.name == "My overdue"
    assert [(f.name, f.filter) for f in queue.saved_filters(rev)] == [("My overdue", flt)]
    assert queue.saved_filters(rev2) == []
    again = queue.save_filter(rev, "My overdue", QueueFilter(text="orca"))
    assert again.id == saved.id and queue.saved_filters(rev)[0].filter == QueueFilter(text="orca")
    with pytest.raises(NotFound):
        queue.delete_filter(rev2, saved.id)  # not theirs
    queue.delete_filter(rev, saved.id)
    assert queue.saved_filters(rev) == []
    with qctx.reading() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "saved_filter")
                                       .order_by(AuditEvent.seq)))
        assert actions == ["saved_filter.save", "saved_filter.save", "saved_filter.delete"]
        assert verify_chain(iter_events(session)).ok


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_saved_filter_names_are_checked(queue, actors, name: str) -> None:  # noqa: ANN001
    with pytest.raises(InputRejected):
        queue.save_filter(actors["rev"], name, QueueFilter())


def test_a_stored_spec_from_a_later_version_still_reads(queue, qctx, actors) -> None:  # noqa: ANN001
    spec = {"version": 2, "states": ["IN_REVIEW", "NO_SUCH_STATE"], "min_severity": "Catastrophic",
            "overdue": True, "text": "orca", "new_field": [1, 2]}
    with qctx.transaction() as session:
        session.add(SavedFilter(user_id=actors["rev"].user_id, name="future", spec=spec))
    [saved] = queue.saved_filters(actors["rev"])
    assert saved.filter == QueueFilter(states=frozenset({SubmissionState.IN_REVIEW}), overdue=True, text="orca")
    assert QueueFilter.from_spec(json.loads(json.dumps(saved.filter.to_spec()))) == saved.filter


# -- bulk assignment ------------------------------------------------------------------------

def test_bulk_assign_changes_assignable_ones_and_audits_each(queue, qctx, actors) -> None:  # noqa: ANN001
    rows = all_submissions(qctx)
    rev, rev2 = actors["rev"], actors["rev2"]
    by_state = {state: [s for s in rows if s.state == state.value] for state in SubmissionState}
    received = by_state[SubmissionState.RECEIVED][0]
    reassigned = next(s for s in by_state[SubmissionState.IN_REVIEW] if s.assignee_id == rev.user_id)
    unchanged = next(s for s in by_state[SubmissionState.AWAITING_INFO] if s.assignee_id == rev2.user_id)
    issued = by_state[SubmissionState.ISSUED][0]
    with qctx.reading() as session:
        seq_before = session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1))
    result = queue.bulk_assign(rev, [received.id, reassigned.id, unchanged.id, issued.id, received.id], rev2.user_id)
    assert set(result.assigned) == {received.reference, reassigned.reference}
    assert result.unchanged == (unchanged.reference,)
    assert [ref for ref, _ in result.skipped] == [issued.reference]
    assert "issued" in result.skipped[0][1]
    with qctx.reading() as session:
        after = {s.id: s for s in session.scalars(select(Submission).where(
            Submission.id.in_([received.id, reassigned.id, issued.id])))}
        assert after[received.id].assignee_id == rev2.user_id and after[received.id].state == "RECEIVED"
        assert after[reassigned.id].assignee_id == rev2.user_id
        assert after[reassigned.id].version_id == reassigned.version_id + 1  # stale editors are refused
        assert after[issued.id].assignee_id == issued.assignee_id
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.seq > seq_before).order_by(AuditEvent.seq)))
        assert [(e.action, e.entity_id, json.loads(e.after)["assignee"]) for e in events] == [
            ("submission.assign", ref, "rev2") for ref in sorted(result.assigned, key=lambda r: [
                s.id for s in rows if s.reference == r][0])]
        assert json.loads(events[-1].before)["assignee"] == "rev"
        assert verify_chain(iter_events(session)).ok


def test_admins_cannot_bulk_assign_and_the_refusal_is_audited(queue, qctx, actors) -> None:  # noqa: ANN001
    target = all_submissions(qctx)[0]
    with pytest.raises(PermissionDenied):
        queue.bulk_assign(actors["admin"], [target.id], actors["rev"].user_id)
    with qctx.reading() as session:
        last = session.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert last.action == "permission.refused" and last.actor == "admin"


def test_bulk_assign_checks_the_assignee_and_the_ids(queue, qctx, actors) -> None:  # noqa: ANN001
    rows = all_submissions(qctx)
    with pytest.raises(InputRejected):
        queue.bulk_assign(actors["rev"], [rows[0].id], actors["admin"].user_id)  # admins review nothing
    with pytest.raises(InputRejected):
        queue.bulk_assign(actors["rev"], [rows[0].id], 9999)
    with pytest.raises(NotFound):
        queue.bulk_assign(actors["rev"], [rows[0].id, 987654], actors["rev2"].user_id)
    assert all_submissions(qctx)[0].assignee_id == rows[0].assignee_id  # nothing written


def test_the_assignee_order_is_the_same_with_and_without_a_search(queue, qctx) -> None:  # noqa: ANN001
    """Without a search it is read one person at a time; with one, in a single sorted query."""
    for descending in (False, True):
        whole = ids(queue, sort=QueueColumn.ASSIGNEE, descending=descending)
        searched = ids(queue, QueueFilter(text="zephyrine"), QueueColumn.ASSIGNEE, descending)
        assert [i for i in whole if i in set(searched)] == searched
        with qctx.reading() as session:
            single = [r[0] for r in session.execute(queue.id_statement(QueueFilter(), QueueColumn.ASSIGNEE,
                                                                       descending))]
        assert whole == single


@pytest.mark.parametrize(("text", "prefix"), [("CD-2026-00", "CD-2026-00"), ("cd", "CD"), ("cd-2", "CD-2"),
                                              ("cd-2026-", "CD-2026"), ("cd 2026", None), ("cdrom", None),
                                              ("cd-20-5", None), ("cd-x", None)])
def test_a_reference_being_typed_reads_the_reference_index(text: str, prefix: str | None) -> None:
    assert SearchQuery.parse(text).reference_prefix() == prefix


def test_reference_prefixes_find_what_full_text_finds(queue, known) -> None:  # noqa: ANN001
    for text in ("cd-2026-00", known.quokka_reference, "cd-2026", "cd"):
        by_index = ids(queue, QueueFilter(text=text))
        with queue.ctx.reading() as session:
            by_text = set(session.scalars(Fts5Search().matching_ids(SearchQuery.parse(text))))
        assert set(by_index) == by_text, text


@pytest.mark.parametrize("column", [QueueColumn.DUE, QueueColumn.ASSIGNEE, QueueColumn.DEVELOPER])
def test_searching_within_the_unsearched_list_gives_the_same_rows(queue, actors, column: QueueColumn) -> None:  # noqa: ANN001
    for refinement in (QueueFilter(), QueueFilter(assignee_id=actors["rev"].user_id),
                       QueueFilter(states=frozenset({SubmissionState.IN_REVIEW}))):
        for descending in (False, True):
            base = queue.ordered_ids(refinement, column, descending)
            for text in ("ze", "zephyrine", "xyl marimba", "jail", "cd-2026-0", "q"):
                flt = refinement.with_changes(text=text)
                assert list(queue.ordered_ids(flt, column, descending, within=base)) == ids(
                    queue, flt, column, descending), (refinement, text)


@pytest.mark.parametrize("column", list(QueueColumn))
def test_an_id_list_is_one_row_from_sqlite_in_the_same_order(queue, qctx, column: QueueColumn) -> None:  # noqa: ANN001
    """Python's sqlite3 gives up the GIL at every row; while another thread runs Python each row
    waits its turn (100,000 ids: 480 ms instead of 50). So the ids come back as one JSON array."""
    from sqlalchemy import event

    statements: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001, ARG001
        statements.append(statement)

    event.listen(qctx.read_engine, "before_cursor_execute", note)
    try:
        for descending in (False, True):
            flt = QueueFilter(text="ze") if column is QueueColumn.DUE else QueueFilter()
            within = queue.ordered_ids(QueueFilter(), column, descending) if flt.text else None
            statements.clear()
            got = list(queue.ordered_ids(flt, column, descending, within=within))
            with qctx.engine.connect() as conn:
                by_rows = [row[0] for row in conn.execute(queue.id_statement(flt, column, descending))]
            assert sorted(got) == sorted(by_rows) and (flt.text or got == by_rows)
            id_reads = [s for s in statements if "json_group_array" in s]
            assert id_reads and all(s.lstrip().upper().startswith("SELECT JSON_GROUP_ARRAY") for s in id_reads)
            assert len(id_reads) == len([s for s in statements if "submissions" in s or "queue_search" in s]), statements
    finally:
        event.remove(qctx.read_engine, "before_cursor_execute", note)
