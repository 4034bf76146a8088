"""Admin-edited wording that letters print is refused when it claims an authority the order does not give."""

from __future__ import annotations

import pytest

from desktop_app.domain.errors import InputRejected
from desktop_app.infra import settings as declared
from desktop_app.services.settings import SettingsService


@pytest.mark.parametrize(
    ("key", "value", "claim"),
    [
        ("disclaimer", "This letter authorises the public release of the model.", "authorises release"),
        ("disclaimer", "Licence granted.", "licence"),
        ("agency_name", "Office of Model Preclearance", "preclearance"),
        ("disclaimer", "The agency grants approval to deploy the model.", "approval to deploy or release"),
        ("cui_category", "Release permit", "permit"),
    ],
)
def test_a_claim_of_authority_is_refused_in_one_line_naming_the_setting(ctx, people, key: str, value: str,
                                                                         claim: str) -> None:  # noqa: ANN001
    settings = SettingsService(ctx)
    before = settings.get(key)
    with pytest.raises(InputRejected) as error:
        settings.set(people["admin"], key, value)
    message = str(error.value)
    assert len(message.splitlines()) == 1
    assert declared.SPEC_BY_KEY[key].title in message and claim in message
    assert settings.get(key) == before


def test_a_denial_is_accepted_and_every_wording_setting_is_checked(ctx, people) -> None:  # noqa: ANN001
    settings = SettingsService(ctx)
    settings.set(people["admin"], "disclaimer", "Participation is voluntary; no letter is a licence or permit.")
    assert settings.get("disclaimer").startswith("Participation is voluntary")
    for key in declared.LETTER_WORDING_KEYS:
        with pytest.raises(InputRejected, match=declared.SPEC_BY_KEY[key].title.replace("(", r"\(")
                           .replace(")", r"\)")):
            settings.set(people["admin"], key, "Licence granted")


def test_defaults_pass_their_own_checks() -> None:
    for spec in declared.SPECS:
        assert declared.validate(spec.key, spec.default) == spec.default
