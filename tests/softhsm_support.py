"""A throw-away SoftHSM2 token for the PKCS#11 tests (it stands in for a PIV card).

SoftHSM2 reads SOFTHSM2_CONF when the library initialises, and python-pkcs11 keeps one
library per process, so the token is created under its own configuration and the
library is re-initialised for it (and finalised afterwards).
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from repo_support import require_tools

MODULE_CANDIDATES = (
    Path("/usr/lib/softhsm/libsofthsm2.so"),
    Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"),
    Path("/usr/local/lib/softhsm/libsofthsm2.so"),
)


@contextlib.contextmanager
def softhsm_token(folder: Path, *, label: str, pin: str, so_pin: str) -> Iterator[Path]:
    """Initialise a token in `folder`; yields the PKCS#11 module path (skips without SoftHSM2)."""
    import pkcs11

    require_tools("softhsm2-util")
    module = next((path for path in MODULE_CANDIDATES if path.is_file()), None)
    assert module is not None, "SoftHSM2's PKCS#11 module is missing: run `bash scripts/test.sh`, which installs softhsm2"
    (folder / "tokens").mkdir(parents=True)
    config = folder / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOFTHSM2_CONF", str(config))
        subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", so_pin],
                       check=True, capture_output=True)
        library = pkcs11.lib(str(module))
        library.reinitialize()  # perhaps loaded earlier in this process under another configuration
        yield module
        library.finalize()


def generate_rsa_key(module: Path, *, token_label: str, pin: str, key_label: str):  # noqa: ANN201
    """Generate an RSA key pair on the token; returns its public key (the private key never leaves)."""
    import pkcs11
    from cryptography.hazmat.primitives.asymmetric import rsa
    from pkcs11 import Attribute, KeyType

    with pkcs11.lib(str(module)).get_token(token_label=token_label).open(rw=True, user_pin=pin) as session:
        public, _ = session.generate_keypair(KeyType.RSA, 2048, label=key_label, store=True)
        return rsa.RSAPublicNumbers(int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big"),
                                    int.from_bytes(public[Attribute.MODULUS], "big")).public_key()
