"""A supervisor whose key lives on a token: enrolled with the PIN, then signing through the service.

SoftHSM2 stands in for a PIV card. Its configuration is read when the library
initialises, and python-pkcs11 keeps one library per process, so the fixture
re-initialises it under this module's configuration and finalises it afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_app.domain.errors import InputRejected
from desktop_app.domain.types import Decision
from desktop_app.letters.pki import DemoPki, issue_certificate, load_authority

from softhsm_support import generate_rsa_key, softhsm_token

from .support import PASSWORD, import_sample, run_checker, to_awaiting_signoff

TOKEN, KEY, PIN, SO_PIN = "supervisor-card", "PIV AUTH key", "862014", "24680135"


@pytest.fixture(scope="module")
def token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with softhsm_token(tmp_path_factory.mktemp("softhsm-service"), label=TOKEN, pin=PIN, so_pin=SO_PIN) as module:
        yield module


def key_on_token(module: Path):  # noqa: ANN201
    return generate_rsa_key(module, token_label=TOKEN, pin=PIN, key_label=KEY)


def test_token_supervisor_enrols_and_signs(ctx, people, pki: DemoPki, configured, token: Path, samples_dir,
                                           tmp_path) -> None:  # noqa: ANN001
    from cryptography.hazmat.primitives import serialization

    from desktop_app.letters.signing import Pkcs11Source

    from .support import letter_service

    issuer = load_authority(pki.intermediate_cert, pki.intermediate_key)
    certificate = issue_certificate(issuer, key_on_token(token), "DEMO Token Supervisor Sam")
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    # the card holds the key only; the administrator brings its certificate and the issuing CA's
    with pytest.raises(InputRejected, match="wrong PIN"):
        configured.enrol(people["admin"], "sup2", Pkcs11Source(token, TOKEN, KEY, certificate=pem), "000000",
                         certificate=pem)
    configured.enrol(people["admin"], "sup2",
                     Pkcs11Source(token, TOKEN, KEY, certificate=pem, chain=(pki.intermediate_cert,)), PIN,
                     certificate=pem)
    assert configured.enrolled("sup2").subject and "DEMO Token Supervisor Sam" in configured.enrolled("sup2").subject

    submission_id = import_sample(ctx, people["rev"], samples_dir)
    to_awaiting_signoff(ctx, submission_id, people["rev"], Decision.CLEARED)
    letters = letter_service(ctx)
    # at signing, module, token and key label and the PIN: certificate and chain come from the enrolment
    issued = letters.approve_and_issue(people["sup2"], submission_id, password=PASSWORD,
                                       source=Pkcs11Source(token, TOKEN, KEY), secret=PIN)
    pdf = letters.pdf(issued.id)
    results = letters.verify(pdf)
    assert all(result.ok for result in results), [r for r in results if not r.ok]
    assert results[0].extra["signer"] == "DEMO Token Supervisor Sam"
    path = tmp_path / f"{issued.number}.pdf"
    path.write_bytes(pdf)
    checked = run_checker(path, pki.root_cert)
    assert checked.returncode == 0, checked.stdout[-1500:]
    # the QR code's seal was signed on the token too: the printed page verifies
    import subprocess

    from desktop_app.services.letter_scan import Verdict, check_printed_letter

    subprocess.run(["pdftoppm", "-r", "150", "-png", str(path), str(tmp_path / "page")], check=True)
    reports = [check_printed_letter(page, ctx=ctx) for page in sorted(tmp_path.glob("page*.png"))]
    assert [r.verdict for r in reports if r.verdict is not Verdict.NO_CODE] == [Verdict.VALID], reports
    assert [r.signer for r in reports if r.ok] == ["DEMO Token Supervisor Sam"]
