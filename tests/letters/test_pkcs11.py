"""A letter signed through the PKCS#11 path, with a key generated on a SoftHSM2 token.

The token lives in a throw-away SoftHSM2 configuration under tmp_path; SOFTHSM2_CONF is
read when the module is first initialised, so it is set before anything loads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pkcs11
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pkcs11 import Attribute, ObjectClass

from desktop_app.domain.errors import InputRejected
from desktop_app.letters.pki import DemoPki, issue_certificate, load_authority
from desktop_app.letters.render import render_letter
from desktop_app.letters.signing import Pkcs11Source, check_certificate_matches_key, open_signer, sign_letter
from desktop_app.letters.trust import TrustConfig
from desktop_app.letters.verify import verify_signed_pdf

from softhsm_support import generate_rsa_key, softhsm_token

from .samples import make_content, run_checker

TOKEN, KEY, PIN, SO_PIN = "clearance-test", "supervisor-signing", "246810", "13572468"


@pytest.fixture(scope="module")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with softhsm_token(tmp_path_factory.mktemp("softhsm"), label=TOKEN, pin=PIN, so_pin=SO_PIN) as module:
        yield module


def _generate_key_on_token(module: Path) -> rsa.RSAPublicKey:
    public_key = generate_rsa_key(module, token_label=TOKEN, pin=PIN, key_label=KEY)
    token = pkcs11.lib(str(module)).get_token(token_label=TOKEN)
    with token.open(user_pin=PIN) as session:
        assert not list(session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}))
    return public_key


def test_letter_signed_with_a_token_key(softhsm: Path, demo_pki: DemoPki, trust: TrustConfig, tmp_path: Path) -> None:
    public_key = _generate_key_on_token(softhsm)
    issuer = load_authority(demo_pki.intermediate_cert, demo_pki.intermediate_key)
    certificate = issue_certificate(issuer, public_key, "DEMO Token Supervisor").public_bytes(
        serialization.Encoding.PEM
    )
    source = Pkcs11Source(softhsm, TOKEN, KEY, certificate=certificate, chain=(demo_pki.intermediate_cert,))

    with pytest.raises(InputRejected, match=f"wrong PIN for token '{TOKEN}'"):
        open_signer(source, "000000")
    with open_signer(source, PIN) as signer:
        check_certificate_matches_key(certificate, signer)
        signed = sign_letter(render_letter(make_content()), signer, trust)

    results = verify_signed_pdf(signed, trust)
    assert all(result.ok for result in results), [result for result in results if not result.ok]
    assert results[0].extra["signer"] == "DEMO Token Supervisor"
    path = tmp_path / "token-signed.pdf"
    path.write_bytes(signed)
    checked = run_checker(path, demo_pki.root_cert, *demo_pki.crls)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_unknown_token_and_key_are_named(softhsm: Path) -> None:
    with pytest.raises(InputRejected, match="cannot open token 'no-such-token'"):
        open_signer(Pkcs11Source(softhsm, "no-such-token", KEY), PIN)
    with pytest.raises(InputRejected, match="Could not find"):
        open_signer(Pkcs11Source(softhsm, TOKEN, "no-such-key"), PIN)
