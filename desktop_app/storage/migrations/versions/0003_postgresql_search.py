"""PostgreSQL's twin of the FTS5 search table (one tsvector per submission, GIN-indexed),
and the (sort column, id) indices the queue's ORDER BY needs there.

The search means the same on both databases (services/search.py): the text is folded
to lower case (and stripped of accents where the `unaccent` extension can be created,
as FTS5's remove_diacritics does), every run of characters other than letters and
digits separates tokens, and a word matches where its tokens appear in order at the
start of tokens, the last one as a prefix. Each of the six parts of a submission's
document (reference, developer, model, summary, finding titles, evidence titles) gets
weight A or B in turn, so a phrase query restricted to one weight never runs across
two parts: FTS5 matches a phrase within one column only.

Triggers keep `queue_search` in step with every insert, update and delete, as on
SQLite; the bulk demo path switches them off for its transaction with the setting
`clearance_desk.search_bulk` and indexes its rows with one call at the end
(`queue_search_refresh_from`). Nothing here runs on SQLite.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 19:00:00
"""

from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

PARTS = ("reference", "developer", "model", "summary", "findings", "evidence")

FUNCTIONS = (
    # the documents of the submissions whose ids are given (the triggers: one or two at a
    # time), each by its primary key, so the plan never depends on fresh statistics
    """CREATE FUNCTION queue_search_refresh(ids integer[]) RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
        wanted integer;
    BEGIN
        FOR wanted IN SELECT DISTINCT unnest(ids) LOOP
            INSERT INTO queue_search (submission_id, document)
            SELECT s.id, queue_search_document(
                s.reference, d.name, s.model_name || ' ' || s.model_version || ' ' || s.model_family, s.description,
                (SELECT string_agg(f.title, E'\\n' ORDER BY f.number) FROM findings f WHERE f.submission_id = s.id),
                (SELECT string_agg(e.title, E'\\n' ORDER BY e.id) FROM evidence e
                  WHERE e.finding_id IN (SELECT f.id FROM findings f WHERE f.submission_id = s.id)))
            FROM submissions s JOIN developers d ON d.id = s.developer_id
            WHERE s.id = wanted
            ON CONFLICT (submission_id) DO UPDATE SET document = EXCLUDED.document;
        END LOOP;
    END $$""",
    # the documents of every submission from id `first_id` on, in one pass (the bulk demo, a rebuild)
    """CREATE FUNCTION queue_search_refresh_from(first_id integer) RETURNS void LANGUAGE sql AS $$
        WITH finding_titles AS (
            SELECT f.submission_id, string_agg(f.title, E'\\n' ORDER BY f.number) AS titles
            FROM findings f WHERE f.submission_id >= first_id GROUP BY f.submission_id),
        evidence_titles AS (
            SELECT f.submission_id, string_agg(e.title, E'\\n' ORDER BY e.id) AS titles
            FROM findings f JOIN evidence e ON e.finding_id = f.id WHERE f.submission_id >= first_id
            GROUP BY f.submission_id)
        INSERT INTO queue_search (submission_id, document)
        SELECT s.id, queue_search_document(
            s.reference, d.name, s.model_name || ' ' || s.model_version || ' ' || s.model_family, s.description,
            finding_titles.titles, evidence_titles.titles)
        FROM submissions s JOIN developers d ON d.id = s.developer_id
        LEFT JOIN finding_titles ON finding_titles.submission_id = s.id
        LEFT JOIN evidence_titles ON evidence_titles.submission_id = s.id
        WHERE s.id >= first_id
        ON CONFLICT (submission_id) DO UPDATE SET document = EXCLUDED.document
    $$""",
    """CREATE FUNCTION queue_search_suspended() RETURNS boolean LANGUAGE sql STABLE AS $$
        SELECT coalesce(current_setting('clearance_desk.search_bulk', true), '') = 'on'
    $$""",
    """CREATE FUNCTION queue_search_on_submission() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT queue_search_suspended() THEN
            PERFORM queue_search_refresh(ARRAY[NEW.id]);
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION queue_search_on_developer() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT queue_search_suspended() THEN
            PERFORM queue_search_refresh(ARRAY(SELECT id FROM submissions WHERE developer_id = NEW.id));
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION queue_search_on_finding() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT queue_search_suspended() THEN
            IF TG_OP = 'INSERT' THEN
                PERFORM queue_search_refresh(ARRAY[NEW.submission_id]);
            ELSIF TG_OP = 'DELETE' THEN
                PERFORM queue_search_refresh(ARRAY[OLD.submission_id]);
            ELSE
                PERFORM queue_search_refresh(ARRAY[OLD.submission_id, NEW.submission_id]);
            END IF;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION queue_search_on_evidence() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        finding_ids integer[];
    BEGIN
        IF NOT queue_search_suspended() THEN
            IF TG_OP = 'INSERT' THEN
                finding_ids := ARRAY[NEW.finding_id];
            ELSIF TG_OP = 'DELETE' THEN
                finding_ids := ARRAY[OLD.finding_id];
            ELSE
                finding_ids := ARRAY[OLD.finding_id, NEW.finding_id];
            END IF;
            PERFORM queue_search_refresh(ARRAY(SELECT submission_id FROM findings WHERE id = ANY(finding_ids)));
        END IF;
        RETURN NULL;
    END $$""",
)

TRIGGERS = {
    "queue_search_submission": ("AFTER INSERT OR UPDATE OF reference, developer_id, model_name, model_version, "
                                "model_family, description ON submissions", "queue_search_on_submission"),
    "queue_search_developer": ("AFTER UPDATE OF name ON developers", "queue_search_on_developer"),
    "queue_search_finding": ("AFTER INSERT OR DELETE OR UPDATE OF title, submission_id ON findings",
                             "queue_search_on_finding"),
    "queue_search_evidence": ("AFTER INSERT OR DELETE OR UPDATE OF title, finding_id ON evidence",
                              "queue_search_on_evidence"),
}


#: The queue's sort keys with the id that breaks ties (services/queue.py orders by both).
#: A SQLite index ends in the rowid, so (column) serves ORDER BY column, id; a PostgreSQL
#: B-tree does not, and without these every sort of 100,000 rows sorts them all.
SORT_INDICES = {
    "ix_pg_submissions_reference_sort_id": "reference_sort, id",
    "ix_pg_submissions_model_id": "model_name, model_version, id",
    "ix_pg_submissions_state_due_id": "state, due_date, assignee_id, id",
    "ix_pg_submissions_assignee_due_id": "assignee_id, due_date, id",
    "ix_pg_submissions_developer_id": "developer_id, id",
    "ix_pg_submissions_received_id": "received_at, id",
    "ix_pg_submissions_due_sort_id": "due_sort, id",
    "ix_pg_submissions_severity_id": "highest_open_severity, id",
    "ix_pg_submissions_open_findings_id": "open_findings, id",
    "ix_pg_submissions_release_conflict_id": "release_conflict, id",
}


def _fold_body(with_unaccent: bool) -> str:
    folded = "public.unaccent('public.unaccent'::regdictionary, lower(value))" if with_unaccent else "lower(value)"
    return f"SELECT {folded}"


def _try_unaccent() -> bool:
    """Create the unaccent extension if this database offers it and lets us (it is trusted since 13)."""
    bind = op.get_bind()
    if not bind.exec_driver_sql("SELECT 1 FROM pg_available_extensions WHERE name = 'unaccent'").first():
        return False
    savepoint = bind.begin_nested()
    try:
        bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public")
    except Exception:  # noqa: BLE001 - no privilege: search keeps accents (lower case only)
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    with_unaccent = _try_unaccent()
    op.execute(f"""CREATE FUNCTION queue_search_fold(value text) RETURNS text LANGUAGE sql STABLE AS $$
        {_fold_body(with_unaccent)}
    $$""")
    op.execute("""CREATE FUNCTION queue_search_words(value text) RETURNS tsvector LANGUAGE sql STABLE AS $$
        SELECT to_tsvector('simple', regexp_replace(queue_search_fold(coalesce(value, '')), '[^[:alnum:]]+', ' ', 'g'))
    $$""")
    parts = " || ".join(f"setweight(queue_search_words({name}), '{'AB'[i % 2]}')" for i, name in enumerate(PARTS))
    arguments = ", ".join(f"{name} text" for name in PARTS)
    op.execute(f"CREATE FUNCTION queue_search_document({arguments}) RETURNS tsvector LANGUAGE sql STABLE AS "
               f"$$ SELECT {parts} $$")
    op.execute("CREATE TABLE queue_search (submission_id integer PRIMARY KEY REFERENCES submissions (id) "
               "ON DELETE CASCADE, document tsvector NOT NULL)")
    op.execute("CREATE INDEX ix_queue_search_document ON queue_search USING gin (document)")
    for statement in FUNCTIONS:
        op.execute(statement)
    for name, (when, function) in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} FOR EACH ROW EXECUTE FUNCTION {function}()")
    op.execute("SELECT queue_search_refresh_from(0)")
    for name, columns in SORT_INDICES.items():
        op.execute(f"CREATE INDEX {name} ON submissions ({columns})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in SORT_INDICES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    for name, (when, _function) in TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {when.rsplit(' ON ', 1)[1]}")
    op.execute("DROP TABLE IF EXISTS queue_search")
    for function in ("queue_search_on_evidence()", "queue_search_on_finding()", "queue_search_on_developer()",
                     "queue_search_on_submission()", "queue_search_suspended()", "queue_search_refresh(integer[])",
                     "queue_search_refresh_from(integer)",
                     f"queue_search_document({', '.join('text' for _ in PARTS)})", "queue_search_words(text)",
                     "queue_search_fold(text)"):
        op.execute(f"DROP FUNCTION IF EXISTS {function}")
