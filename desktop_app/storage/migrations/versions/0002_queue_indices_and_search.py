"""The queue at scale: an index per sort column, and the full-text search table.

Three computed columns let the queue sort in SQL through an index where the order is
not a plain column: references in numeric order (CD-2026-10000 after CD-2026-9999),
the release-conflict flag, and due dates with closed submissions (which show none) last. On SQLite, `queue_search` is an FTS5 table with one
document per submission (reference, developer, model, summary, finding titles,
evidence titles); triggers keep it in step with every insert, update and delete, so
no service has to remember it. The bulk demo path suspends the triggers and fills the
table with one INSERT … SELECT (services/search.py). PostgreSQL gets its own search
twin in a later migration; the SQLite-only DDL here is guarded.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 18:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

REFERENCE_SORT_SQL = "CAST(substr(reference, 4, 4) AS INTEGER) * 1000000 + CAST(substr(reference, 9) AS INTEGER)"
RELEASE_CONFLICT_SQL = ("CASE WHEN intended_release IS NOT NULL AND intended_release < due_date AND state IN "
                        "('RECEIVED', 'IN_REVIEW', 'AWAITING_INFO', 'AWAITING_SIGNOFF') THEN 1 ELSE 0 END")
DUE_SORT_SQL = ("CASE WHEN state IN ('RECEIVED', 'IN_REVIEW', 'AWAITING_INFO', 'AWAITING_SIGNOFF') "
                "THEN due_date ELSE '9999-12-31' END")

# The search document of the submissions chosen by WHERE_CLAUSE (uses the alias s).
_DOCUMENT = (
    "INSERT INTO queue_search(rowid, reference, developer, model, summary, findings, evidence) "
    "SELECT s.id, s.reference, d.name, s.model_name || ' ' || s.model_version || ' ' || s.model_family, "
    "s.description, "
    "(SELECT group_concat(f.title, char(10)) FROM findings f WHERE f.submission_id = s.id), "
    "(SELECT group_concat(e.title, char(10)) FROM findings f JOIN evidence e ON e.finding_id = f.id "
    "WHERE f.submission_id = s.id) "
    "FROM submissions s JOIN developers d ON d.id = s.developer_id WHERE {where}"
)


def _refresh(submission_id: str) -> str:
    """Trigger body statements that rebuild one submission's document."""
    return (f"DELETE FROM queue_search WHERE rowid = {submission_id}; "
            + _DOCUMENT.format(where=f"s.id = {submission_id}") + ";")


_FINDING_OF = "(SELECT submission_id FROM findings WHERE id = {}.finding_id)"

TRIGGERS = {
    "queue_search_submission_insert": (
        "AFTER INSERT ON submissions", _DOCUMENT.format(where="s.id = NEW.id") + ";"),
    "queue_search_submission_update": (
        "AFTER UPDATE OF reference, developer_id, model_name, model_version, model_family, description "
        "ON submissions", "DELETE FROM queue_search WHERE rowid = OLD.id; " + _refresh("NEW.id")),
    "queue_search_submission_delete": (
        "AFTER DELETE ON submissions", "DELETE FROM queue_search WHERE rowid = OLD.id;"),
    "queue_search_developer_update": (
        "AFTER UPDATE OF name ON developers",
        "DELETE FROM queue_search WHERE rowid IN (SELECT id FROM submissions WHERE developer_id = NEW.id); "
        + _DOCUMENT.format(where="s.developer_id = NEW.id") + ";"),
    "queue_search_finding_insert": ("AFTER INSERT ON findings", _refresh("NEW.submission_id")),
    "queue_search_finding_update": (
        "AFTER UPDATE OF title, submission_id ON findings",
        _refresh("OLD.submission_id") + " " + _refresh("NEW.submission_id")),
    "queue_search_finding_delete": ("AFTER DELETE ON findings", _refresh("OLD.submission_id")),
    "queue_search_evidence_insert": ("AFTER INSERT ON evidence", _refresh(_FINDING_OF.format("NEW"))),
    "queue_search_evidence_update": (
        "AFTER UPDATE OF title, finding_id ON evidence",
        _refresh(_FINDING_OF.format("OLD")) + " " + _refresh(_FINDING_OF.format("NEW"))),
    "queue_search_evidence_delete": ("AFTER DELETE ON evidence", _refresh(_FINDING_OF.format("OLD"))),
}


def upgrade() -> None:
    # PostgreSQL before 18 has stored generated columns only: say so (SQLite keeps virtual ones).
    stored = True if op.get_bind().dialect.name == "postgresql" else None
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference_sort', sa.Integer(), sa.Computed(REFERENCE_SORT_SQL, persisted=stored),
                                      nullable=True))
        batch_op.add_column(sa.Column('release_conflict', sa.Integer(),
                                      sa.Computed(RELEASE_CONFLICT_SQL, persisted=stored), nullable=True))
        batch_op.add_column(sa.Column('due_sort', sa.Date(), sa.Computed(DUE_SORT_SQL, persisted=stored),
                                      nullable=True))
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        # Extended so the sidebar counts (state, due date, assignee) read the index alone.
        batch_op.drop_index('ix_submissions_state_due')
        batch_op.create_index('ix_submissions_state_due', ['state', 'due_date', 'assignee_id'], unique=False)
        batch_op.create_index('ix_submissions_reference_sort', ['reference_sort'], unique=False)
        batch_op.create_index('ix_submissions_model', ['model_name', 'model_version'], unique=False)
        batch_op.create_index('ix_submissions_open_findings', ['open_findings'], unique=False)
        batch_op.create_index('ix_submissions_release_conflict', ['release_conflict'], unique=False)
        batch_op.create_index('ix_submissions_due_sort', ['due_sort'], unique=False)

    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE VIRTUAL TABLE queue_search USING fts5("
                   "reference, developer, model, summary, findings, evidence, "
                   "tokenize = 'unicode61 remove_diacritics 2')")
        for name, (when, body) in TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} BEGIN {body} END")
        op.execute(_DOCUMENT.format(where="1"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS queue_search")
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_index('ix_submissions_due_sort')
        batch_op.drop_index('ix_submissions_release_conflict')
        batch_op.drop_index('ix_submissions_open_findings')
        batch_op.drop_index('ix_submissions_model')
        batch_op.drop_index('ix_submissions_reference_sort')
        batch_op.drop_index('ix_submissions_state_due')
        batch_op.create_index('ix_submissions_state_due', ['state', 'due_date'], unique=False)
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_column('due_sort')
        batch_op.drop_column('release_conflict')
        batch_op.drop_column('reference_sort')
