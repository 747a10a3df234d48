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


def test_oidc_partnership_set_turns_password_sign_in_off_and_on_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from rapidreview.cli import main
    from rapidreview.runtime import build_runtime
    from rapidreview.services.people import partnerships
    from rapidreview.store.db import transaction

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("RAPIDREVIEW_DATA_DIR", str(tmp_path))

    def allowed() -> bool:
        rt = build_runtime(from_environment())
        try:
            with transaction(rt.sessions) as session:
                return partnerships.password_sign_in_allowed(session, partnerships.default_id(session))
        finally:
            rt.close()

    assert allowed()
    assert main(["partnership", "set", "default", "--password-sign-in", "off"]) == 0
    assert not allowed()
    assert main(["partnership", "set", "default", "--password-sign-in", "on"]) == 0
    assert allowed()
    assert "partnership default changed" in capsys.readouterr().out


def test_oidc_client_certificate_is_read_at_start_up_with_its_thumbprints(tmp_path: Path) -> None:
    import base64
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from tests.oidc.local_provider import certificate_file

    pem, _jwk = certificate_file(tmp_path, "rapidreview")
    env = {k: v for k, v in ENTRA.items() if not k.endswith("_SECRET")}
    [entra] = from_environment({**env, "RAPIDREVIEW_OIDC_ENTRA_CLIENT_CERTIFICATE_FILE": str(pem)}).oidc_providers
    der = x509.load_pem_x509_certificate(pem.read_bytes()).public_bytes(serialization.Encoding.DER)
    assert entra.client_certificate is not None and entra.client_secret == ""
    assert entra.client_certificate.x5t == base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode()
    assert "PRIVATE KEY" not in repr(entra)

    other, _ = certificate_file(tmp_path, "other")
    mismatched = tmp_path / "mismatched.pem"
    mismatched.write_text(pem.read_text().split("-----BEGIN CERTIFICATE-----")[0]
                          + "-----BEGIN CERTIFICATE-----" + other.read_text().split("-----BEGIN CERTIFICATE-----")[1])
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    for path, message in ((mismatched, "the certificate of that same key"), (garbage, "unencrypted PEM private key"),
                          (tmp_path / "missing.pem", "cannot read")):
        with pytest.raises(ConfigError, match=f"RAPIDREVIEW_OIDC_ENTRA_CLIENT_CERTIFICATE_FILE: .*{message}"):
            from_environment({**env, "RAPIDREVIEW_OIDC_ENTRA_CLIENT_CERTIFICATE_FILE": str(path)})
    with pytest.raises(ConfigError, match="not both"):
        from_environment({**ENTRA, "RAPIDREVIEW_OIDC_ENTRA_CLIENT_CERTIFICATE_FILE": str(pem)})
