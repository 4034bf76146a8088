"""Trust anchors, CRL import and certificate enrolment: administrators only, checked, audited."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from desktop_app.domain.errors import InputRejected, PermissionDenied
from desktop_app.letters.pki import CertificateUsage, issue_certificate, issue_crl, load_authority, write_pkcs12
from desktop_app.letters.signing import Pkcs12Source
from desktop_app.services.letters import LetterService
from desktop_app.services.trust_store import TrustStoreService
from desktop_app.storage.models import AuditEvent

from .support import PASSPHRASE, PASSWORD, to_awaiting_signoff


def signer_p12(pki, folder: Path, name: str, **options) -> tuple[Path, object]:  # noqa: ANN001, ANN003
    """A fresh EC key certified by the demo issuing CA, as a PKCS#12 with the demo passphrase."""
    from cryptography import x509

    key = ec.generate_private_key(ec.SECP256R1())
    issuer = load_authority(pki.intermediate_cert, pki.intermediate_key)
    certificate = issue_certificate(issuer, key.public_key(), name, **options)
    path = folder / f"{name.replace(' ', '-')}.p12"
    write_pkcs12(path, key, certificate, [issuer.certificate, x509.load_pem_x509_certificate(pki.root_cert.read_bytes())],
                 PASSPHRASE)
    return path, certificate


def actions(ctx) -> list[str]:  # noqa: ANN001
    with ctx.reading() as session:
        return [event.action for event in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]


def test_only_administrators_configure_trust(ctx, people, pki) -> None:  # noqa: ANN001
    store = TrustStoreService(ctx)
    for who in ("sup", "rev"):
        with pytest.raises(PermissionDenied, match="administrator"):
            store.add_anchor(people[who], pki.root_cert.read_bytes())
        with pytest.raises(PermissionDenied):
            store.import_crl(people[who], pki.root_crl_pem.read_bytes())
        with pytest.raises(PermissionDenied):
            store.enrol(people[who], "sup", Pkcs12Source(pki.supervisor_p12), PASSPHRASE)
    assert actions(ctx).count("permission.refused") == 6
    assert store.anchors() == [] and store.crls() == []


def test_anchors_are_checked_listed_and_audited(ctx, people, pki) -> None:  # noqa: ANN001
    store = TrustStoreService(ctx)
    (added,) = store.add_anchor(people["admin"], pki.root_cert.read_bytes(), source="root-ca.pem")
    assert added.name == "DEMO Clearance Desk Root CA" and len(added.fingerprint) == 64
    assert added.not_after > ctx.now() + dt.timedelta(days=3000)
    with pytest.raises(InputRejected, match="already a trust anchor"):
        store.add_anchor(people["admin"], pki.root_cert.read_bytes())
    with pytest.raises(InputRejected, match="not a CA certificate"):
        store.add_anchor(people["admin"], pki.supervisor_cert.read_bytes(), source="supervisor-cert.pem")
    with pytest.raises(InputRejected, match="notes.txt: not an X.509 certificate"):
        store.add_anchor(people["admin"], b"hello", source="notes.txt")
    assert "trust.add_anchor" in actions(ctx)
    store.remove_anchor(people["admin"], added.id)
    assert store.anchors() == [] and "trust.remove_anchor" in actions(ctx)


def test_crl_import_shows_next_update_and_replaces_older_lists(ctx, people, pki, configured, tmp_path) -> None:  # noqa: ANN001
    entries = configured.crls()
    assert {entry.name for entry in entries} == {"DEMO Clearance Desk Root CA",
                                                                        "DEMO Clearance Desk Issuing CA"}
    assert all(entry.next_update and entry.next_update > ctx.now() for entry in entries)
    assert not any(entry.overdue(ctx.now()) for entry in entries)
    with pytest.raises(InputRejected, match="already imported"):
        configured.import_crl(people["admin"], pki.root_crl_der.read_bytes())
    issuing = load_authority(pki.intermediate_cert, pki.intermediate_key)
    newer = issue_crl(issuing, number=2, valid_for=dt.timedelta(days=7))
    from cryptography.hazmat.primitives import serialization

    entry = configured.import_crl(people["admin"], newer.public_bytes(serialization.Encoding.DER))
    assert entry.next_update is not None and len(configured.crls()) == 2  # the older one was replaced
    # a CRL naming the issuing CA but signed with another key (the root's) is refused
    from desktop_app.letters.pki import CertificateAuthority

    impostor = CertificateAuthority(issuing.certificate, load_authority(pki.root_cert, pki.root_key).private_key)
    with pytest.raises(InputRejected, match="signature does not verify"):
        configured.import_crl(people["admin"], issue_crl(impostor, number=3).public_bytes(serialization.Encoding.PEM))


def test_enrolment_proves_the_key_and_the_chain(ctx, people, pki, configured, tmp_path) -> None:  # noqa: ANN001
    enrolled = configured.enrolled("sup")
    assert enrolled.subject and "DEMO Supervisor" in enrolled.subject
    # a certificate that is not the key's is refused
    other, _ = signer_p12(pki, tmp_path, "DEMO Other Supervisor")
    with pytest.raises(InputRejected, match="does not belong to this key"):
        configured.enrol(people["admin"], "sup2", Pkcs12Source(other), PASSPHRASE,
                         certificate=pki.supervisor_cert.read_bytes())
    # an encryption-only certificate, an expired one
    encryption, _ = signer_p12(pki, tmp_path, "DEMO Encryption Only", usage=CertificateUsage.ENCRYPTION)
    with pytest.raises(InputRejected, match="not for signatures"):
        configured.enrol(people["admin"], "sup2", Pkcs12Source(encryption), PASSPHRASE)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    expired, _ = signer_p12(pki, tmp_path, "DEMO Expired", not_before=past, not_after=past + dt.timedelta(days=30))
    with pytest.raises(InputRejected, match="expired"):
        configured.enrol(people["admin"], "sup2", Pkcs12Source(expired), PASSPHRASE)
    with pytest.raises(InputRejected, match="only supervisors sign"):
        configured.enrol(people["admin"], "rev", Pkcs12Source(pki.supervisor_p12), PASSPHRASE)
    with pytest.raises(InputRejected, match="wrong passphrase"):
        configured.enrol(people["admin"], "sup2", Pkcs12Source(pki.supervisor_p12), "guess")
    assert configured.enrolled("sup2").fingerprint is None
    assert actions(ctx).count("user.enrol_certificate") == 1


def test_a_revoked_signer_cannot_sign(ctx, people, pki, configured, samples_dir, tmp_path) -> None:  # noqa: ANN001
    from cryptography.hazmat.primitives import serialization

    from desktop_app.domain.types import Decision

    from .support import import_sample, letter_service

    path, certificate = signer_p12(pki, tmp_path, "DEMO Sam Supervisor")
    configured.enrol(people["admin"], "sup2", Pkcs12Source(path), PASSPHRASE)
    issuing = load_authority(pki.intermediate_cert, pki.intermediate_key)
    crl = issue_crl(issuing, [certificate], number=5)
    configured.import_crl(people["admin"], crl.public_bytes(serialization.Encoding.PEM))
    submission_id = import_sample(ctx, people["rev"], samples_dir)
    to_awaiting_signoff(ctx, submission_id, people["rev"], Decision.CLEARED)
    with pytest.raises(InputRejected, match="revoked.*cannot sign"):
        letter_service(ctx).approve_and_issue(people["sup2"], submission_id, password=PASSWORD,
                                              source=Pkcs12Source(path), secret=PASSPHRASE)
    assert LetterService(ctx).register() == []
