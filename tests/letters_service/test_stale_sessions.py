"""A supervisor demoted (or deactivated) after signing in signs and revokes nothing (issue 14, item 4)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from desktop_app.domain.errors import AccountInactive, PermissionDenied
from desktop_app.domain.types import LetterKind, Role, SubmissionState
from desktop_app.letters.signing import Pkcs12Source
from desktop_app.services.users import UserService
from desktop_app.storage.models import Letter, LetterRevocation

from .support import PASSPHRASE, PASSWORD, import_sample, letter_service, to_state


def test_a_demoted_supervisor_cannot_revoke_or_sign_a_notice(issued_folder, pki, samples_dir) -> None:  # noqa: ANN001
    ctx, folder = issued_folder
    stale = folder.people["sup"]
    UserService(ctx).set_role(folder.people["admin"], "sup", Role.REVIEWER)
    letters = letter_service(ctx)
    with pytest.raises(PermissionDenied, match="Only a supervisor signs letters"):
        letters.revoke(stale, folder.letter_id, "signed in error", password=PASSWORD)
    refused = import_sample(ctx, folder.people["rev"], samples_dir, "helix-sparrow-2.0.zip")
    to_state(ctx, refused, folder.people["rev"], SubmissionState.REFUSED, reasons=["Weights missing."])
    with pytest.raises(PermissionDenied, match="Only a supervisor signs letters"):
        letters.issue_notice(stale, refused, LetterKind.REFUSAL, password=PASSWORD,
                             source=Pkcs12Source(pki.supervisor_p12), secret=PASSPHRASE)
    with ctx.reading() as session:
        assert session.scalar(select(func.count(LetterRevocation.id))) == 0
        assert session.scalar(select(func.count(Letter.id))) == 1


def test_a_deactivated_supervisor_cannot_revoke(issued_folder) -> None:  # noqa: ANN001
    ctx, folder = issued_folder
    UserService(ctx).deactivate(folder.people["admin"], "sup")
    with pytest.raises(AccountInactive):
        letter_service(ctx).revoke(folder.people["sup"], folder.letter_id, "signed in error", password=PASSWORD)
    with ctx.reading() as session:
        assert session.scalar(select(func.count(LetterRevocation.id))) == 0
