"""Identity providers' settings: read from the environment, every mistake named by its variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapidreview.config import ConfigError, from_environment

ENTRA = {
    "RAPIDREVIEW_OIDC_PROVIDERS": "entra",
    "RAPIDREVIEW_OIDC_ENTRA_ISSUER": "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0",
    "RAPIDREVIEW_OIDC_ENTRA_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
    "RAPIDREVIEW_OIDC_ENTRA_CLIENT_SECRET": "a-client-secret",
    "RAPIDREVIEW_OIDC_ENTRA_DOMAINS": "Northbridge.gov.uk, @northbridge-police.example",
}


def test_oidc_provider_settings_are_read_with_their_defaults() -> None:
    settings = from_environment(ENTRA)
    [entra] = settings.oidc_providers
    assert entra.id == "entra" and entra.client_id == ENTRA["RAPIDREVIEW_OIDC_ENTRA_CLIENT_ID"]
    assert entra.domains == ("northbridge.gov.uk", "northbridge-police.example")
    assert entra.partnership == "default" and entra.label == "your organisation's account"
    assert entra.mfa_satisfies_totp is False and entra.mfa_acr_values == ()
    assert entra.metadata_url == f"{ENTRA['RAPIDREVIEW_OIDC_ENTRA_ISSUER']}/.well-known/openid-configuration"
    assert "a-client-secret" not in repr(settings)
    assert settings.password_sign_in is True


def test_oidc_no_providers_by_default() -> None:
    assert from_environment({}).oidc_providers == ()


def test_oidc_client_secret_can_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-the-file\n")
    env = {k: v for k, v in ENTRA.items() if not k.endswith("_SECRET")}
    [entra] = from_environment({**env, "RAPIDREVIEW_OIDC_ENTRA_CLIENT_SECRET_FILE": str(secret),
                                "RAPIDREVIEW_OIDC_ENTRA_MFA_SATISFIES_TOTP": "true",
                                "RAPIDREVIEW_OIDC_ENTRA_PARTNERSHIP": "Northbridge",
                                "RAPIDREVIEW_OIDC_ENTRA_LABEL": "Northbridge Council"}).oidc_providers
    assert (entra.client_secret, entra.mfa_satisfies_totp, entra.partnership, entra.label) == (
        "from-the-file", True, "northbridge", "Northbridge Council")


@pytest.mark.parametrize(("changes", "named"), [
    ({"RAPIDREVIEW_OIDC_PROVIDERS": "Entra Council"}, "RAPIDREVIEW_OIDC_PROVIDERS"),
    ({"RAPIDREVIEW_OIDC_PROVIDERS": "entra,entra"}, "RAPIDREVIEW_OIDC_PROVIDERS"),
    ({"RAPIDREVIEW_OIDC_ENTRA_ISSUER": ""}, "RAPIDREVIEW_OIDC_ENTRA_ISSUER must be set"),
    ({"RAPIDREVIEW_OIDC_ENTRA_CLIENT_SECRET": ""}, "RAPIDREVIEW_OIDC_ENTRA_CLIENT_SECRET (or"),
    ({"RAPIDREVIEW_OIDC_ENTRA_DOMAINS": ""}, "RAPIDREVIEW_OIDC_ENTRA_DOMAINS must be set"),
    ({"RAPIDREVIEW_OIDC_ENTRA_ISSUER": "http://login.example/tenant"}, "RAPIDREVIEW_OIDC_ENTRA_ISSUER must be"),
    ({"RAPIDREVIEW_OIDC_ENTRA_DOMAINS": "not a domain"}, "RAPIDREVIEW_OIDC_ENTRA_DOMAINS"),
    ({"RAPIDREVIEW_OIDC_ENTRA_MFA_SATISFIES_TOTP": "perhaps"}, "RAPIDREVIEW_OIDC_ENTRA_MFA_SATISFIES_TOTP"),
    ({"RAPIDREVIEW_OIDC_ENTRA_PARTNERSHIP": "North Bridge"}, "RAPIDREVIEW_OIDC_ENTRA_PARTNERSHIP"),
    ({"RAPIDREVIEW_OIDC_ENTRA_CLIENT_SECRET_FILE": "/nonexistent/secret"}, "RAPIDREVIEW_OIDC_ENTRA_CLIENT_SECRET"),
    ({"RAPIDREVIEW_PASSWORD_SIGN_IN": "sometimes"}, "RAPIDREVIEW_PASSWORD_SIGN_IN"),
])
def test_oidc_bad_provider_settings_stop_start_up_naming_the_variable(changes: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("(", r"\(")):
        from_environment({**ENTRA, **changes})


def test_oidc_password_sign_in_cannot_be_turned_off_without_a_provider() -> None:
    with pytest.raises(ConfigError, match="RAPIDREVIEW_PASSWORD_SIGN_IN=off needs RAPIDREVIEW_OIDC_PROVIDERS"):
        from_environment({"RAPIDREVIEW_PASSWORD_SIGN_IN": "off"})
    assert from_environment({**ENTRA, "RAPIDREVIEW_PASSWORD_SIGN_IN": "off"}).password_sign_in is False


def test_oidc_plain_http_issuer_is_allowed_only_on_loopback() -> None:
    [local] = from_environment({**ENTRA, "RAPIDREVIEW_OIDC_ENTRA_ISSUER": "http://127.0.0.1:8080"}).oidc_providers
    assert local.issuer == "http://127.0.0.1:8080"
