"""Restoring a backup never reissues a letter number and says when a letter's PDF is missing (issue 14, item 3)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from desktop_app.app import main
from desktop_app.domain.errors import InputRejected
from desktop_app.domain.types import LetterKind, SubmissionState
from desktop_app.letters.signing import Pkcs12Source
from desktop_app.services import backup as backups
from desktop_app.services.context import open_data_folder
from desktop_app.storage.models import Letter

from .conftest import TEMPLATE_NOW
from .support import PASSPHRASE, PASSWORD, import_sample, letter_service, to_state


def _refuse_and_notify(ctx, people, pki, samples_dir: Path):  # noqa: ANN001, ANN202
    refused = import_sample(ctx, people["rev"], samples_dir, "helix-sparrow-2.0.zip")
    to_state(ctx, refused, people["rev"], SubmissionState.REFUSED, reasons=["Weights missing."])
    return letter_service(ctx).issue_notice(people["sup"], refused, LetterKind.REFUSAL, password=PASSWORD,
                                            source=Pkcs12Source(pki.supervisor_p12), secret=PASSPHRASE)


def test_a_forced_restore_of_an_older_backup_keeps_the_letter_counter(issued_folder, pki, samples_dir,
                                                                      tmp_path: Path) -> None:  # noqa: ANN001
    ctx, folder = issued_folder
    archive = backups.backup(ctx, tmp_path / "before-the-notice.zip").path
    assert _refuse_and_notify(ctx, folder.people, pki, samples_dir).number == "CL-2026-0002"
    ctx.close()
    with pytest.raises(InputRejected, match="this data folder has issued letter CL-2026-0002"):
        backups.restore(archive, folder.root)
    result = backups.restore(archive, folder.root, force=True, reason="the notice went to the wrong developer")
    assert any("CL-2026-0002" in line for line in result.overridden)
    restored = open_data_folder(folder.root, clock=lambda: TEMPLATE_NOW)
    try:
        with restored.reading() as session:
            assert list(session.scalars(select(Letter.number))) == ["CL-2026-0001"]
        again = _refuse_and_notify(restored, folder.people, pki, samples_dir)
    finally:
        restored.close()
    assert again.number == "CL-2026-0003"  # CL-2026-0002 was issued once; it is never issued again


def test_a_restore_warns_when_a_letters_pdf_is_missing(issued_folder, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("CLEARANCE_DESK_PASSWORD", PASSWORD)
    ctx, folder = issued_folder
    with ctx.reading() as session:
        digest = session.scalar(select(Letter.pdf_sha256).where(Letter.id == folder.letter_id))
    (ctx.blobs.root / digest[:2] / digest).unlink()
    archive = backups.backup(ctx, tmp_path / "b.zip").path
    ctx.close()
    assert main(["--data-dir", str(tmp_path / "new"), "restore", str(archive), "--as", "admin"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: the signed PDF of 1 letter(s) is missing from the backup and the blob store "
                        f"({folder.number}); the register lists them, but they cannot be opened or exported"]
