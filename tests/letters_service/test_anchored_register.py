"""Attacks on the register through the database file: each must leave `verify` or `audit verify` failing.

The attacker has the data folder, the sqlite3 module and this application's source (so
they can compute the chain's hashes); they drop the append-only triggers, edit, and put
the triggers back. Everything is checked through the command line, as an auditor would.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sqlite3
from pathlib import Path

import pytest

from desktop_app.app import main
from desktop_app.domain.types import Decision, LetterKind, SubmissionState
from desktop_app.letters.render import render_letter
from desktop_app.letters.signing import Pkcs12Source, open_signer, sign_letter
from desktop_app.letters.trust import TrustConfig, load_certificates
from desktop_app.services import audit

from .support import PASSPHRASE, PASSWORD, import_sample, letter_service, to_state


@pytest.fixture
def ctx(issued_folder):  # noqa: ANN001, ANN201 - a copy of one folder with CL-2026-0001 issued
    return issued_folder[0]


@pytest.fixture
def people(issued_folder) -> dict:  # noqa: ANN001
    return issued_folder[1].people


@pytest.fixture
def letters(ctx):  # noqa: ANN001, ANN201
    return letter_service(ctx)


@pytest.fixture
def genuine(ctx, letters, issued_folder, tmp_path) -> Path:  # noqa: ANN001
    path = tmp_path / "CL-2026-0001.pdf"
    path.write_bytes(letters.pdf(issued_folder[1].letter_id))
    return path


def cli(ctx, *args: str, capsys) -> tuple[int, str]:  # noqa: ANN001
    code = main(["--data-dir", str(ctx.paths.root), *args])
    return code, capsys.readouterr().err


class Attacker:
    """sqlite3 on the database file, triggers dropped for the edit and put back after."""

    def __init__(self, ctx) -> None:  # noqa: ANN001
        self.conn = sqlite3.connect(ctx.paths.database)
        self.conn.execute("DROP TRIGGER audit_events_no_update")
        self.conn.execute("DROP TRIGGER audit_events_no_delete")

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        for verb in ("UPDATE", "DELETE"):
            self.conn.execute(f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
                              f"BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END")
        self.conn.commit()
        self.conn.close()


def append_event(conn: sqlite3.Connection, action: str, entity_type: str, entity_id: str, after: dict) -> None:
    """A correctly chained event, as the attacker computes it."""
    seq, prev = conn.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    fields = dict(seq=seq + 1, occurred_at="2026-11-02T15:30:00.000000+00:00", actor="admin", action=action,
                  entity_type=entity_type, entity_id=entity_id, before=None, after=audit.canonical_json(after),
                  prev_hash=prev)
    conn.execute("INSERT INTO audit_events VALUES (:seq, :occurred_at, :actor, :action, :entity_type, :entity_id, "
                 ":before, :after, :prev_hash, :hash)", fields | {"hash": audit.event_hash(**fields)})


def errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error:")]


# -- item 1: letters anchor the chain ------------------------------------------------------


def test_deleted_tail_is_caught_by_letters_anchoring_the_head(ctx, letters, genuine, capsys) -> None:  # noqa: ANN001
    """Dropping the events from the head a letter printed on: the shorter chain is valid, the letter says otherwise."""
    head = letters.register()[0]
    with sqlite3.connect(ctx.paths.database) as conn:
        printed_at = conn.execute("SELECT seq FROM audit_events WHERE hash = (SELECT audit_head FROM letters)").fetchone()[0]
    with Attacker(ctx) as conn:
        conn.execute("DELETE FROM audit_events WHERE seq >= ?", (printed_at,))
    ctx.head_file.path.unlink()  # the head file gone too: only the letter remembers
    with ctx.reading() as session:
        assert audit.verify_chain(audit.iter_events(session)).ok  # a valid, shorter chain
    code, err = cli(ctx, "audit", "verify", capsys=capsys)
    assert code == 1 and f"noted by letter {head.number} is not in the audit chain" in err
    code, err = cli(ctx, "verify", str(genuine), capsys=capsys)
    assert code == 1 and len(errors(err)) == 1
    assert "audit-chain head" in err and "is not in the audit chain" in err


def test_a_letter_does_not_verify_against_a_rewritten_chain(ctx, genuine, capsys) -> None:  # noqa: ANN001
    """The whole chain re-hashed with one event changed, the register's copies of the head rewritten to match."""
    with Attacker(ctx) as conn:
        rows = conn.execute("SELECT seq, occurred_at, actor, action, entity_type, entity_id, before, after, hash "
                            "FROM audit_events ORDER BY seq").fetchall()
        conn.execute("DELETE FROM audit_events")
        prev, renamed = audit.GENESIS_HASH, {}
        for seq, occurred_at, actor, action, entity_type, entity_id, before, after, old_hash in rows:
            for old, new in renamed.items():  # later events quoting a rewritten hash quote the new one
                after = after.replace(old, new) if after else after
            fields = dict(seq=seq, occurred_at=occurred_at, actor="mallory" if seq == 2 else actor, action=action,
                          entity_type=entity_type, entity_id=entity_id, before=before, after=after, prev_hash=prev)
            prev = renamed[old_hash] = audit.event_hash(**fields)
            conn.execute("INSERT INTO audit_events VALUES (:seq, :occurred_at, :actor, :action, :entity_type, "
                         ":entity_id, :before, :after, :prev_hash, :hash)", fields | {"hash": prev})
        (head,) = conn.execute("SELECT audit_head FROM letters").fetchone()
        conn.execute("UPDATE letters SET audit_head = ?", (renamed[head],))
    ctx.head_file.path.unlink()
    code, err = cli(ctx, "verify", str(genuine), capsys=capsys)
    assert code == 1 and len(errors(err)) == 1 and "is not in the audit chain" in err


# -- item 5: revocation and supersession come from the trail --------------------------------


def test_a_revoked_letter_stays_revoked_when_its_revocation_row_is_deleted(ctx, people, letters, genuine,
                                                                           capsys) -> None:  # noqa: ANN001
    entry = letters.register()[0]
    letters.revoke(people["sup"], entry.id, "The developer shipped different weights.", password=PASSWORD)
    assert cli(ctx, "verify", str(genuine), capsys=capsys)[0] == 1
    with Attacker(ctx) as conn:
        conn.execute("DELETE FROM letter_revocations")
    code, err = cli(ctx, "verify", str(genuine), capsys=capsys)
    assert code == 1 and "not revoked: CL-2026-0001 was revoked: The developer shipped different weights." in err
    assert letters.register()[0].status == "revoked"  # the register view follows the trail too
    code, err = cli(ctx, "audit", "verify", capsys=capsys)
    assert code == 1 and "no revocation row" in err


def test_a_revocation_row_without_its_event_is_not_believed(ctx, letters, genuine, capsys) -> None:  # noqa: ANN001
    with Attacker(ctx) as conn:
        conn.execute("INSERT INTO letter_revocations (letter_id, reason, revoked_by_id, revoked_at) "
                     "SELECT id, 'planted', signer_id, '2026-11-03 10:00:00' FROM letters")
    code, err = cli(ctx, "verify", str(genuine), capsys=capsys)
    assert code == 1 and "not revoked" in err
    assert "no letter.revoke event" in cli(ctx, "audit", "verify", capsys=capsys)[1]


def test_a_superseded_notice_stays_superseded_when_the_link_is_cleared(ctx, people, letters, p12, samples_dir,
                                                                       tmp_path, capsys) -> None:  # noqa: ANN001
    refused = import_sample(ctx, people["rev"], samples_dir, "helix-sparrow-2.0.zip")
    to_state(ctx, refused, people["rev"], SubmissionState.REFUSED, reasons=["The weights were not delivered."])
    first = letters.issue_notice(people["sup"], refused, LetterKind.REFUSAL, password=PASSWORD, source=p12,
                                 secret=PASSPHRASE)
    corrected = letters.issue_notice(people["sup"], refused, LetterKind.REFUSAL, password=PASSWORD, source=p12,
                                     secret=PASSPHRASE, items=["The weights listed in the manifest are missing."])
    old = tmp_path / "first.pdf"
    old.write_bytes(letters.pdf(first.id))
    with Attacker(ctx) as conn:
        conn.execute("UPDATE letters SET supersedes_id = NULL")
    code, err = cli(ctx, "verify", str(old), capsys=capsys)
    assert code == 1 and f"superseded by {corrected.number}" in err
    code, err = cli(ctx, "audit", "verify", capsys=capsys)
    assert code == 1 and f"letter {corrected.number}: the register's supersedes" in err


# -- item 2: trust anchors and enrolments are audited; one letter per submission ------------


def mint(ctx, letters, people, forged_pki, number: str):  # noqa: ANN001, ANN201
    """A CLEARED letter for the issued submission, signed with the attacker's own PKI: (pdf, content, certificate)."""
    entry = letters.register()[0]
    content = letters.preview_content(people["sup"], entry.submission_id)
    content = dataclasses.replace(content, number=number, decision=Decision.CLEARED, conditions=(),
                                  signatory=dataclasses.replace(content.signatory, meaning=""))
    with open_signer(Pkcs12Source(forged_pki.supervisor_p12), PASSPHRASE) as signer:
        pdf = sign_letter(render_letter(content), signer, TrustConfig.load([forged_pki.root_cert], forged_pki.crls))
        return pdf, content, signer.certificate


def plant(conn: sqlite3.Connection, forged_pki, pdf: bytes, content, certificate, *,  # noqa: ANN001
          audited_trust: bool) -> None:
    """The anchor, the enrolment and the register row the minted letter needs, events appended to match."""
    from asn1crypto import pem

    root = load_certificates(forged_pki.root_cert)[0]
    root_fp = hashlib.sha256(root.dump()).hexdigest()
    conn.execute("INSERT INTO trust_anchors (subject, fingerprint, pem, added_at) VALUES (?, ?, ?, ?)",
                 (root.subject.human_friendly, root_fp, forged_pki.root_cert.read_text(), "2026-11-02 15:30:00"))
    bundle = pem.armor("CERTIFICATE", certificate.dump()).decode("ascii")
    fingerprint = hashlib.sha256(certificate.dump()).hexdigest()
    conn.execute("UPDATE users SET certificate_pem = ?, certificate_fingerprint = ? WHERE username = 'sup2'",
                 (bundle, fingerprint))
    if audited_trust:
        append_event(conn, "trust.add_anchor", "trust_anchor", root_fp, {"subject": root.subject.human_friendly})
        append_event(conn, "user.enrol_certificate", "user", "sup2", {"fingerprint": fingerprint})
    sid, signer_id = conn.execute("SELECT submission_id, signer_id FROM letters").fetchone()
    digest = hashlib.sha256(pdf).hexdigest()
    conn.execute("INSERT INTO letters (number, year, sequence, kind, submission_id, decision, pdf_sha256, data_digest, "
                 "signer_id, signer_fingerprint, audit_head, issued_at) VALUES (?, 2026, 2, 'clearance', ?, "
                 "'CLEARED', ?, ?, ?, ?, ?, '2026-11-02 15:31:00')",
                 (content.number, sid, digest, content.data_digest(), signer_id, fingerprint, content.audit_head))
    reference = conn.execute("SELECT reference FROM submissions WHERE id = ?", (sid,)).fetchone()[0]
    append_event(conn, "letter.issue", "letter", content.number, {
        "submission": reference, "kind": "clearance", "decision": "CLEARED", "pdf_sha256": digest,
        "data_digest": content.data_digest(), "signer_fingerprint": fingerprint, "audit_head": content.audit_head,
        "supersedes": None})


def test_a_trust_anchor_planted_in_the_database_is_not_trusted(ctx, letters, people, forged_pki, tmp_path,
                                                               capsys) -> None:  # noqa: ANN001
    pdf, content, certificate = mint(ctx, letters, people, forged_pki, "CL-2026-0002")
    with Attacker(ctx) as conn:
        plant(conn, forged_pki, pdf, content, certificate, audited_trust=False)
    minted = tmp_path / "minted.pdf"
    minted.write_bytes(pdf)
    code, err = cli(ctx, "verify", str(minted), capsys=capsys)
    assert code == 1 and "chains to a trust anchor" in err and "no audit event that added it" in err
    code, err = cli(ctx, "audit", "verify", capsys=capsys)
    assert code == 1 and "was not added by an audited administrator action" in err
    assert "signing certificate of sup2" in err


def test_a_second_letter_for_one_submission_without_supersession_fails(ctx, letters, people, forged_pki, genuine,
                                                                       tmp_path, capsys) -> None:  # noqa: ANN001
    """Even with the anchor, the enrolment and the letter all given well-chained events, two letters stand."""
    pdf, content, certificate = mint(ctx, letters, people, forged_pki, "CL-2026-0002")
    with Attacker(ctx) as conn:
        plant(conn, forged_pki, pdf, content, certificate, audited_trust=True)
    minted = tmp_path / "minted.pdf"
    minted.write_bytes(pdf)
    code, err = cli(ctx, "verify", str(minted), capsys=capsys)
    assert code == 1 and "CL-2026-0001 was also issued" in err and "no supersession" in err
    code, err = cli(ctx, "verify", str(genuine), capsys=capsys)
    assert code == 1 and "CL-2026-0002 was also issued" in err


def test_verify_with_trust_trusts_only_that_certificate(ctx, genuine, forged_pki, pki, capsys) -> None:  # noqa: ANN001
    code, err = cli(ctx, "verify", str(genuine), "--trust", str(forged_pki.root_cert), capsys=capsys)
    assert code == 1 and "chains to a trust anchor" in err
    assert cli(ctx, "verify", str(genuine), "--trust", str(pki.root_cert), capsys=capsys)[0] == 0


def test_signing_refuses_an_enrolment_without_its_audit_event(ctx, people, letters, p12, samples_dir) -> None:  # noqa: ANN001
    from desktop_app.domain.errors import InputRejected

    refused = import_sample(ctx, people["rev"], samples_dir, "helix-sparrow-2.0.zip")
    to_state(ctx, refused, people["rev"], SubmissionState.REFUSED, reasons=["The weights were not delivered."])
    with Attacker(ctx) as conn:  # the enrolment events of sup are gone, the enrolment row stays
        conn.execute("DELETE FROM audit_events WHERE action = 'user.enrol_certificate'")
    with pytest.raises(InputRejected, match="has no audit event that enrolled it"):
        letters.issue_notice(people["sup"], refused, LetterKind.REFUSAL, password=PASSWORD, source=p12,
                             secret=PASSPHRASE)
