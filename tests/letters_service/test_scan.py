"""A printed letter verifies by scanning it: the QR code's seal, the signer's trust, then the register."""

from __future__ import annotations

import io
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import pkcs12
from PIL import Image, ImageFilter

from repo_support import require_tools
from desktop_app.app import main
from desktop_app.letters.pki import DEMO_PASSPHRASE
from desktop_app.letters.seal import VERSION, Seal, b45encode, parse

DEMO_PASSWORD = "clearance-demo"


@pytest.fixture(scope="module")
def scans(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every demo letter's page with the QR code, at 150 dpi, with noise and a 2° rotation, as a photo would be."""
    require_tools("pdftoppm")
    folder = tmp_path_factory.mktemp("scans")
    assert main(["--data-dir", str(demo_template), "letters", "export", str(folder / "pdf")]) == 0
    scans = {}
    for pdf in sorted((folder / "pdf").glob("CL-*.pdf")):
        subprocess.run(["pdftoppm", "-r", "150", "-png", str(pdf), str(folder / pdf.stem)], check=True)
        pages = sorted(folder.glob(f"{pdf.stem}-*.png"))
        page = _page_with_code(pages)
        scans[pdf.stem] = _photocopy(page, folder / f"{pdf.stem}.scan.png")
    assert len(scans) >= 5
    return scans


def _page_with_code(pages: list[Path]) -> Path:
    from desktop_app.letters.scan import read_codes

    found = [page for page in pages if read_codes(page)]
    assert len(found) == 1, pages
    return found[0]


def _photocopy(page: Path, target: Path) -> Path:
    """Grey noise on every pixel, a 2° rotation, a slight blur, saved as PNG."""
    image = Image.open(page).convert("L")
    noise = Image.effect_noise(image.size, 40)
    image = Image.blend(image, noise, 0.18)
    image = image.rotate(2, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
    image = image.filter(ImageFilter.GaussianBlur(0.6))
    image.save(target)
    return target


def test_every_demo_letter_scans_genuine_then_revoked(demo: Path, scans: dict[str, Path],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    standing = []
    for number, image in scans.items():
        code, out, err = _cli(capsys, demo, image)
        assert f"Letter:                      {number}" in out  # the printed fields, to compare with the paper
        if code == 0:  # the demo corrects one letter and revokes another: those scan genuine but withdrawn
            assert out.splitlines()[-1] == f"{number}: genuine, still valid" and err == ""
            assert "in the register:" in out
            standing.append(number)
        else:
            assert "genuine but" in err, err
    assert len(standing) == len(scans) - 2

    revoked = sorted(standing)[0]
    _revoke(demo, revoked, "Issued against the wrong manifest.")
    code, out, err = _cli(capsys, demo, scans[revoked])
    assert code == 1
    assert err.splitlines() == [f"{revoked}: genuine but revoked: Issued against the wrong manifest."]
    assert "Status:                      revoked" in out


def _cli(capsys: pytest.CaptureFixture[str], demo: Path | None, image: Path, *extra: str) -> tuple[int, str, str]:
    args = (["--data-dir", str(demo)] if demo else []) + ["verify", "--scan", str(image), *extra]
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def _revoke(data_dir: Path, number: str, reason: str) -> None:
    from desktop_app.services.context import open_data_folder
    from desktop_app.services.letters import LetterService
    from desktop_app.services.users import UserService

    ctx = open_data_folder(data_dir)
    try:
        supervisor = UserService(ctx).authenticate("supervisor", DEMO_PASSWORD)
        letters = LetterService(ctx)
        letters.revoke(supervisor, letters.id_for_number(number), reason, password=DEMO_PASSWORD)
    finally:
        ctx.close()


def test_without_a_data_folder_it_says_revocation_was_not_checked(demo: Path, scans: dict[str, Path], tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    number, image = sorted(scans.items())[0]
    bundle = tmp_path / "agency.pem"  # what the agency publishes: its root and its signers' certificates
    bundle.write_bytes((demo / "demo-pki" / "root-ca.pem").read_bytes()
                       + (demo / "demo-pki" / "supervisor-cert.pem").read_bytes())
    nowhere = tmp_path / "no-data-folder"
    code, out, err = _cli(capsys, nowhere, image, "--trust", str(bundle))
    assert code == 0, err
    assert out.splitlines()[-1].startswith(f"{number}: genuine, signed by ")
    assert "revocation was not checked" in out.splitlines()[-1]
    assert "in the register:" not in out

    code, out, err = _cli(capsys, nowhere, image)  # no anchors at all: nothing is trusted
    assert code == 1 and err.splitlines() == [
        f"{number}: not signed by a trusted key: its signer's certificate (SHA-256 "
        f"{parse(_text(image)).fields.signer_fingerprint[:16]}…) is not known here; give the agency's signer "
        f"certificates with --trust"]

    only_root = tmp_path / "root.pem"  # the root alone cannot tell which key signed
    only_root.write_bytes((demo / "demo-pki" / "root-ca.pem").read_bytes())
    code, _out, err = _cli(capsys, nowhere, image, "--trust", str(only_root))
    assert code == 1 and "not signed by a trusted key" in err


def _text(image: Path) -> str:
    from desktop_app.letters.scan import read_codes

    (text,) = read_codes(image)
    return text


def _qr_image(text: str, target: Path, *, copies: int = 1) -> Path:
    import zxingcpp

    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    single = Image.open(io.BytesIO(_png(zxingcpp.write_barcode_to_image(code, scale=4, add_quiet_zones=True))))
    sheet = Image.new("L", (single.width * copies + 40 * copies, single.height + 40), 255)
    for index in range(copies):
        sheet.paste(single, (20 + index * (single.width + 40), 20))
    sheet.save(target)
    return target


def _png(image: object) -> bytes:
    """zxing-cpp's own encoder (not the letter's reportlab one) as a PNG."""
    pixels = memoryview(image)  # type: ignore[arg-type]
    height, width = pixels.shape
    out = io.BytesIO()
    Image.frombuffer("L", (width, height), pixels.tobytes(), "raw", "L", 0, 1).save(out, "PNG")
    return out.getvalue()


def test_a_payload_re_signed_with_a_self_made_key_is_not_trusted(demo: Path, scans: dict[str, Path], pki,
                                                                 forged_pki, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:  # noqa: ANN001
    number, image = sorted(scans.items())[0]
    seal = parse(_text(image))
    key, certificate, _chain = pkcs12.load_key_and_certificates(forged_pki.supervisor_p12.read_bytes(),
                                                                 DEMO_PASSPHRASE.encode())
    # same fields, same fingerprint, a signature by another key: forged
    forged = Seal(seal.fields, key.sign(seal.signed_message(), padding.PKCS1v15(), hashes.SHA256()))
    code, _out, err = _cli(capsys, demo, _qr_image(forged.text(), tmp_path / "forged.png"))
    assert code == 1 and err.splitlines() == [
        f"{number}: not signed by a trusted key: the signature does not match the fields or the certificate it "
        f"names (forged or altered)"]

    # the self-made key's own certificate named, and even given: it chains to no anchor of the agency
    from cryptography.hazmat.primitives.serialization import Encoding

    import hashlib

    own = hashlib.sha256(certificate.public_bytes(Encoding.DER)).hexdigest()
    resigned_fields = replace(seal.fields, signer_fingerprint=own)
    message = Seal(resigned_fields, b"").signed_message()
    resigned = Seal(resigned_fields, key.sign(message, padding.PKCS1v15(), hashes.SHA256()))
    code, _out, err = _cli(capsys, demo, _qr_image(resigned.text(), tmp_path / "resigned.png"))
    assert code == 1 and "is not known here" in err
    given = tmp_path / "forged-cert.pem"
    given.write_bytes(forged_pki.supervisor_cert.read_bytes())
    code, _out, err = _cli(capsys, demo, tmp_path / "resigned.png", "--trust", str(given))
    assert code == 1 and err.startswith(f"{number}: not signed by a trusted key")

    # a changed field under the genuine signature
    altered = Seal(replace(seal.fields, decision=None), seal.signature)
    code, _out, err = _cli(capsys, demo, _qr_image(altered.text(), tmp_path / "altered.png"))
    assert code == 1 and "forged or altered" in err


@pytest.mark.parametrize("case", ["not-an-image", "truncated", "huge", "several", "future", "foreign", "damaged",
                                  "unsigned", "blank", "missing"])
def test_hostile_scans_get_one_line_and_exit_1(case: str, demo: Path, scans: dict[str, Path], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    image = tmp_path / f"{case}.png"
    genuine = _text(sorted(scans.values())[0])
    expected = {
        "not-an-image": "not a PNG or JPEG image",
        "truncated": "not a readable image",
        "huge": "refused",
        "several": "2 different QR codes",
        "future": f"payload version {VERSION + 1}; this application reads version {VERSION}",
        "foreign": "not a Clearance Desk letter code",
        "damaged": "damaged: its payload does not parse",
        "unsigned": "an unsigned QR code from before signed codes",
        "blank": "no QR code found",
        "missing": "cannot read",
    }[case]
    if case == "not-an-image":
        image.write_bytes(b"%PDF-1.7 this is not a picture\n" * 20)
    elif case == "truncated":
        data = io.BytesIO()
        Image.new("L", (400, 400), 255).save(data, "PNG")
        image.write_bytes(data.getvalue()[:60])
    elif case == "huge":  # a few KiB on disk, 100 million pixels once decoded
        Image.new("1", (10_000, 10_000), 1).save(image)
        assert image.stat().st_size < 200_000
    elif case == "several":
        other = _text(sorted(scans.values())[1])
        first, second = _qr_image(genuine, tmp_path / "a.png"), _qr_image(other, tmp_path / "b.png")
        sheet = Image.new("L", (Image.open(first).width * 2 + 40, Image.open(first).height), 255)
        sheet.paste(Image.open(first), (0, 0))
        sheet.paste(Image.open(second), (Image.open(first).width + 40, 0))
        sheet.save(image)
    elif case == "future":
        _qr_image(f"CDQ{VERSION + 1}:" + genuine.split(":", 1)[1], image)
    elif case == "foreign":
        _qr_image("https://example.org/", image)
    elif case == "damaged":
        _qr_image(f"CDQ{VERSION}:" + b45encode(b"\x05CL-20"), image)
    elif case == "unsigned":
        _qr_image("CL-2026-0001|sha256:" + "ab" * 32, image)
    elif case == "blank":
        Image.new("L", (800, 600), 255).save(image)
    code, out, err = _cli(capsys, demo, image)
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 1 and expected in lines[0], err
    assert "Traceback" not in out + err


def test_jpeg_photo_of_a_letter_scans(demo: Path, scans: dict[str, Path], tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    number, image = sorted(scans.items())[-1]
    photo = tmp_path / "photo.jpg"
    Image.open(image).convert("L").save(photo, "JPEG", quality=70)
    code, out, err = _cli(capsys, demo, photo)
    assert (code, out.splitlines()[-1]) == (0, f"{number}: genuine, still valid"), err


def test_verify_takes_a_pdf_or_a_scan(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(demo), "verify"]) == 2
    assert "verify needs a PDF or --scan IMAGE" in capsys.readouterr().err
