"""Register verification: each way a letter can be wrong fails the check that names it.

Every bad file here is made by the test from a genuine letter: changed, appended to,
truncated, numbered outside the register, forged with a look-alike key, revoked,
superseded.
"""

from __future__ import annotations

import dataclasses

import pytest

from desktop_app.domain.errors import InputRejected, PermissionDenied, TransitionNotAllowed
from desktop_app.domain.types import Decision
from desktop_app.letters.content import LetterContent
from desktop_app.letters.render import render_letter
from desktop_app.letters.signing import Pkcs12Source, open_signer, sign_letter
from desktop_app.letters.trust import TrustConfig
from desktop_app.letters.verify import CHECKS
from desktop_app.services.letters import REGISTER_CHECKS

from .support import PASSPHRASE, PASSWORD, letter_service


@pytest.fixture
def ctx(issued_folder):  # noqa: ANN001, ANN201 - this module works on a copy of one issued folder
    return issued_folder[0]


@pytest.fixture
def people(issued_folder) -> dict:  # noqa: ANN001
    return issued_folder[1].people


@pytest.fixture
def letters(ctx):  # noqa: ANN001, ANN201
    return letter_service(ctx)


@pytest.fixture
def issued(letters, issued_folder):  # noqa: ANN001, ANN201
    return letters.entry(issued_folder[1].letter_id)


@pytest.fixture
def genuine(letters, issued) -> bytes:  # noqa: ANN001
    return letters.pdf(issued.id)


def failing(results) -> list[str]:  # noqa: ANN001
    return [result.name for result in results if not result.ok]


def test_a_genuine_letter_passes_all_ten_checks(letters, genuine) -> None:  # noqa: ANN001
    results = letters.verify(genuine)
    assert [r.name for r in results] == [*CHECKS, *REGISTER_CHECKS]
    assert failing(results) == []


def test_a_changed_byte_fails_integrity_and_the_registered_digest(letters, genuine) -> None:  # noqa: ANN001
    tampered = bytearray(genuine)
    at = genuine.index(b"/Producer")  # inside the signed range: the document information
    tampered[at + 1] ^= 0x20
    names = failing(letters.verify(bytes(tampered)))
    assert "signature intact" in names and "same SHA-256 as registered" in names


def test_an_appended_byte_fails_coverage_and_the_registered_digest(letters, genuine) -> None:  # noqa: ANN001
    for extra in (b"\n", b"%%EOF\n", b"\n1 0 obj\n<<>>\nendobj\n%%EOF\n"):
        names = failing(letters.verify(genuine + extra))
        assert "covers the whole file" in names and "same SHA-256 as registered" in names, extra


def test_an_appended_revision_is_caught_by_the_register(letters, genuine) -> None:  # noqa: ANN001
    """pyHanko deems an update that rewrites an object unchanged harmless; the register's digest does not."""
    import io

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(genuine))
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    assert "same SHA-256 as registered" in failing(letters.verify(out.getvalue()))


def test_a_truncated_letter_fails(letters, genuine) -> None:  # noqa: ANN001
    for cut in (genuine[:-1], genuine[:-200], genuine[: len(genuine) // 2], b""):
        names = failing(letters.verify(cut))
        assert set(names) & set(CHECKS), len(cut)
        assert {"same SHA-256 as registered", "letter number in the register"} & set(names), len(cut)


def test_the_contents_gap_cannot_be_edited(letters, genuine) -> None:  # noqa: ANN001
    start = genuine.index(b"/Contents <") + len(b"/Contents <")
    end = genuine.index(b">", start)
    padding = genuine.rindex(b"00", start, end)
    edited = genuine[:padding] + b"11" + genuine[padding + 2:]
    assert "signature intact" in failing(letters.verify(edited))


def test_a_letter_outside_the_register_fails_there(letters, issued, people, pki) -> None:  # noqa: ANN001
    content = letters.preview_content(people["sup"], issued.submission_id)
    unknown = dataclasses.replace(content, number="CL-2026-0999")
    trust = TrustConfig.load([pki.root_cert], pki.crls)
    with open_signer(Pkcs12Source(pki.supervisor_p12), PASSPHRASE) as signer:
        pdf = sign_letter(render_letter(unknown), signer, trust)
    results = letters.verify(pdf)
    assert failing(results) == list(REGISTER_CHECKS)  # signed properly, but not by this register
    assert "CL-2026-0999 is not in this register" in results[6].detail


def test_a_letter_forged_with_another_key_fails_trust(letters, issued, people, forged_pki) -> None:  # noqa: ANN001
    content: LetterContent = dataclasses.replace(letters.preview_content(people["sup"], issued.submission_id),
                                                 number=issued.number)
    forged_trust = TrustConfig.load([forged_pki.root_cert], forged_pki.crls)
    with open_signer(Pkcs12Source(forged_pki.supervisor_p12), PASSPHRASE) as signer:
        forged = sign_letter(render_letter(content), signer, forged_trust)
    names = failing(letters.verify(forged))
    assert "chains to a trust anchor" in names and "same SHA-256 as registered" in names
    # trusting the forger's root on the command line does not make the register agree
    results = letters.verify(forged, forged_pki.root_cert)
    assert failing(results) == ["letter number in the register", "same SHA-256 as registered"]
    assert "not the one an audited enrolment gave its signer" in results[6].detail


def test_a_revoked_letter_fails_and_revocation_is_a_supervisors_audited_act(ctx, people, letters, issued,
                                                                            genuine) -> None:  # noqa: ANN001
    from sqlalchemy import select

    from desktop_app.storage.models import AuditEvent

    with pytest.raises(PermissionDenied):
        letters.revoke(people["rev"], issued.id, "issued in error", password=PASSWORD)
    with pytest.raises(InputRejected, match="why"):
        letters.revoke(people["sup"], issued.id, "  ", password=PASSWORD)
    entry = letters.revoke(people["sup"], issued.id, "The developer shipped different weights.", password=PASSWORD)
    assert entry.revoked and entry.status == "revoked"
    results = letters.verify(genuine)
    assert failing(results) == ["not revoked"]
    assert "shipped different weights" in results[8].detail
    with pytest.raises(TransitionNotAllowed, match="already revoked"):
        letters.revoke(people["sup2"], issued.id, "again", password=PASSWORD)
    with ctx.reading() as session:
        actions = [e.action for e in session.scalars(select(AuditEvent).where(AuditEvent.entity_id.in_(
            [issued.number, str(issued.id)])))]
    assert "letter.revoke" in actions and "permission.refused" in actions


def test_letters_export_writes_each_letter_once(ctx, issued, genuine, tmp_path) -> None:  # noqa: ANN001
    from desktop_app.services.register import INDEX_NAME, RegisterService

    register = RegisterService(ctx)
    written = register.export(tmp_path / "out")
    assert [p.name for p in written] == [f"{issued.number}.pdf"]
    assert written[0].read_bytes() == genuine
    assert issued.number in (tmp_path / "out" / INDEX_NAME).read_text(encoding="utf-8")
    assert register.export(tmp_path / "out") == written  # identical files are kept
    written[0].write_bytes(b"something else")
    with pytest.raises(InputRejected, match="not this letter"):
        register.export(tmp_path / "out")


def test_no_trust_anchor_is_a_clear_refusal(ctx, people, genuine) -> None:  # noqa: ANN001
    from desktop_app.services.letters import LetterService
    from desktop_app.services.trust_store import TrustStoreService

    store = TrustStoreService(ctx)
    for anchor in store.anchors():
        store.remove_anchor(people["admin"], anchor.id)
    with pytest.raises(InputRejected, match="no trust anchor is configured"):
        LetterService(ctx).verify(genuine)


def test_decision_column_matches_the_recommendation(letters, issued) -> None:  # noqa: ANN001
    assert letters.entry(issued.id).decision is Decision.CLEARED_WITH_CONDITIONS


def test_an_edited_register_row_is_not_believed(ctx, letters, issued, genuine, tmp_path) -> None:  # noqa: ANN001
    """Someone with file access rewrites the register to match a doctored PDF: the audit event disagrees."""
    import hashlib

    from sqlalchemy import update

    from desktop_app.storage.models import Letter

    doctored = genuine + b"\n"
    with ctx.transaction() as session:
        session.execute(update(Letter).where(Letter.id == issued.id)
                        .values(pdf_sha256=hashlib.sha256(doctored).hexdigest()))
    results = letters.verify(doctored)
    assert "does not match the audit event" in results[6].detail
    assert failing(results)[-4:] == list(REGISTER_CHECKS)
