"""Fixtures for letters: one demo PKI and one opened supervisor key per test session.

Key generation is the slow part (RSA 3072), so the demo PKI is made once; tests that
need a signer of their own (expired, revoked, forged) issue it from the same CA with a
fast EC key.
"""

from __future__ import annotations

import pytest

from desktop_app.letters.pki import DemoPki, create_demo_pki
from desktop_app.letters.render import render_letter
from desktop_app.letters.signing import Pkcs12Source, SessionSigner, open_signer, sign_letter
from desktop_app.letters.trust import TrustConfig

from .samples import PASSPHRASE, findings_appendix, make_content


@pytest.fixture(scope="session")
def demo_pki(tmp_path_factory: pytest.TempPathFactory) -> DemoPki:
    return create_demo_pki(tmp_path_factory.mktemp("demo-pki"))


@pytest.fixture(scope="session")
def trust(demo_pki: DemoPki) -> TrustConfig:
    return TrustConfig.load(roots=[demo_pki.root_cert], crls=demo_pki.crls)


@pytest.fixture(scope="session")
def supervisor(demo_pki: DemoPki) -> SessionSigner:
    return open_signer(Pkcs12Source(demo_pki.supervisor_p12), PASSPHRASE)


@pytest.fixture(scope="session")
def signed_letter(supervisor: SessionSigner, trust: TrustConfig) -> bytes:
    """One demo clearance letter with a findings appendix, signed by the demo supervisor."""
    return sign_letter(render_letter(make_content(findings=findings_appendix(12))), supervisor, trust)


@pytest.fixture(scope="session")
def forged_pki(tmp_path_factory: pytest.TempPathFactory) -> DemoPki:
    """A look-alike PKI: the same names as the demo's, other keys. Nothing it signs may verify."""
    return create_demo_pki(tmp_path_factory.mktemp("forged-pki"))
