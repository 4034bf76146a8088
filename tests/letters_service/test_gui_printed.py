"""The register view and "Verify a printed letter…" on the offscreen platform, over real letters."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest

from repo_support import require_tools
from desktop_app.services.bundle import Services

from .support import PASSWORD


@pytest.fixture
def services(issued_folder):  # noqa: ANN001, ANN201
    return Services.from_context(issued_folder[0])


@pytest.fixture
def folder(issued_folder):  # noqa: ANN001, ANN201
    return issued_folder[1]


@pytest.fixture
def scan(services, folder, tmp_path: Path) -> Path:  # noqa: ANN001
    """The issued letter's page with the QR code, rendered at 150 dpi."""
    from desktop_app.letters.scan import read_codes

    require_tools("pdftoppm")
    pdf = tmp_path / "letter.pdf"
    pdf.write_bytes(services.letters.pdf(folder.letter_id))
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(pdf), str(tmp_path / "page")], check=True)
    (page,) = [p for p in sorted(tmp_path.glob("page*.png")) if read_codes(p)]
    return page


def test_printed_letter_dialog_shows_the_paper_beside_the_register(qtbot, services, folder, scan,  # noqa: ANN001
                                                                   tmp_path: Path) -> None:
    from desktop_app.ui.letters.printed import PrintedLetterDialog

    dialog = PrintedLetterDialog(services)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.checked, timeout=30_000) as done:
        dialog.check_image(scan)
    assert done.args[0].ok
    assert dialog.verdict.text() == f"✓ {folder.number}: genuine, still valid"
    rows = {dialog.table.item(r, 0).text(): (dialog.table.item(r, 1).text(), dialog.table.item(r, 2).text())
            for r in range(dialog.table.rowCount())}
    assert rows["Letter"] == (folder.number, folder.number)
    assert rows["Submission"][0] == rows["Submission"][1] == "CD-2026-0001"
    assert rows["Status"] == ("—", "valid")
    assert not any(label.endswith("(differs)") for label in rows)

    services.letters.revoke(folder.people["sup"], folder.letter_id, "Superseded by a corrected letter.",
                            password=PASSWORD)
    with qtbot.waitSignal(dialog.checked, timeout=30_000):
        dialog.check_image(scan)
    assert dialog.verdict.text() == f"✗ {folder.number}: genuine but revoked: Superseded by a corrected letter."

    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not an image at all")
    with qtbot.waitSignal(dialog.checked, timeout=30_000) as done:
        dialog.check_image(junk)
    assert done.args[0] is None and dialog.verdict.text() == f"✗ {junk}: not a PNG or JPEG image"
    assert dialog.table.rowCount() == 0 and dialog.choose_button.isEnabled()


def test_register_view_filters_searches_and_exports_marked_csv(qtbot, services, folder, tmp_path: Path) -> None:  # noqa: ANN001
    from desktop_app.ui.letters.register import RegisterDialog

    dialog = RegisterDialog(services, folder.people["sup"])
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.export_button.isEnabled(), timeout=20_000)
    assert dialog.table.rowCount() == 1
    assert [dialog.table.item(0, c).text() for c in (0, 1, 3, 4, 8)] == [folder.number, "Clearance", "—",
                                                                          "CD-2026-0001", "valid"]
    assert dialog.count.text() == "1 of 1 letter"
    dialog.status.setCurrentIndex(dialog.status.findData("revoked"))
    assert dialog.table.rowCount() == 0 and dialog.count.text() == "0 of 1 letter"
    dialog.status.setCurrentIndex(0)
    dialog.search.setText("cd-2026-0001")
    assert dialog.table.rowCount() == 1
    dialog.search.setText("nothing like this")
    assert dialog.table.rowCount() == 0
    dialog.search.clear()
    opened: list[int] = []
    dialog.open_requested.connect(opened.append)
    dialog.table.cellDoubleClicked.emit(0, 0)
    assert opened == [folder.letter_id]

    target = tmp_path / "register.csv"
    dialog.export_to(target)
    qtbot.waitUntil(lambda: target.exists() and dialog.export_button.isEnabled(), timeout=20_000)
    table = list(csv.reader(target.open(encoding="utf-8")))
    assert table[0] == table[-1] == [dialog.register.marking()] and table[2][0] == folder.number


def test_main_window_offers_both(qtbot, services, folder, monkeypatch) -> None:  # noqa: ANN001
    from desktop_app.ui.mainwindow.window import MainWindow

    window = MainWindow(services, folder.people["rev"])
    qtbot.addWidget(window)
    actions = {a.text(): a for menu in window.menuBar().actions() if menu.menu()
               for a in menu.menu().actions() if a.text()}
    assert "Verify a &printed letter…" in actions and "&Letter register…" in actions
    actions["&Letter register…"].trigger()
    actions["Verify a &printed letter…"].trigger()
    titles = {w.windowTitle() for w in window.letter_actions._open}
    assert {"Letter register", "Verify a printed letter"} <= titles
    for widget in list(window.letter_actions._open):
        widget.close()
