"""The OpenID Connect relying party: Authlib's Flask client, one registration per configured provider.

Authlib does the protocol: discovery from the issuer's ``/.well-known/openid-configuration``, the
authorization code flow with PKCE (S256), state and nonce kept in the signed session cookie until the
provider's answer comes back (and then forgotten, so an answer cannot be used twice), and the ID token's
checks: the signature against the provider's published keys (fetched again when a token names a key not seen
before, so the provider can rotate them), issuer, audience, expiry and nonce. Nothing here reads a JWT by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from authlib.integrations.flask_client import OAuth
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oidc.core import CodeIDToken
from flask import Flask, current_app, redirect
from joserfc.errors import JoseError
from werkzeug.wrappers import Response

from rapidreview import clock
from rapidreview.oidc_settings import OidcProvider
from rapidreview.services.people import identity_providers
from rapidreview.services.people.sessions import ProviderSession

log = logging.getLogger(__name__)

SCOPE = "openid email profile"
TIMEOUT_S = 10  # discovery, keys and the token request: a provider that hangs must not hold a web worker
LEEWAY_S = 120  # clock difference tolerated between the provider and this server
EXTENSION = "rapidreview.oidc"


class ProtocolFailure(Exception):
    """The provider's answer could not be trusted or used; ``reason`` is one of identity_providers' reasons."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason, self.detail = reason, detail
        super().__init__(f"{reason}: {detail}" if detail else reason)


@dataclass(frozen=True)
class CheckedSignIn:
    claims: Mapping[str, Any]  # the ID token's, every check passed
    id_token: str  # kept for signing out (the hint), never logged or audited


class IdTokenClaims(CodeIDToken):
    """Authlib's ID token checks, with "now" from rapidreview.clock, the application's one source of time."""

    def validate(self, now: Any = None, leeway: int = 0) -> None:
        super().validate(now=int(clock.now().timestamp()), leeway=leeway)


def install(app: Flask, providers: Iterable[OidcProvider]) -> None:
    oauth = OAuth(app)
    registered: dict[str, OidcProvider] = {}
    for provider in providers:
        client_kwargs: dict[str, Any] = {"scope": SCOPE, "code_challenge_method": "S256", "default_timeout": TIMEOUT_S}
        credential: dict[str, Any] = {"client_secret": provider.client_secret}
        if provider.client_certificate is not None:
            # private_key_jwt: Authlib signs each token request's assertion with the key given as the "secret".
            certificate = provider.client_certificate
            client_kwargs["token_endpoint_auth_method"] = PrivateKeyJWT.name
            credential = {"client_secret": certificate.private_key_pem, "client_auth_methods": [PrivateKeyJWT(
                headers={"x5t": certificate.x5t, "x5t#S256": certificate.x5t_s256})]}
        oauth.register(provider.id, client_id=provider.client_id, server_metadata_url=provider.metadata_url,
                       client_kwargs=client_kwargs, **credential)
        registered[provider.id] = provider
    app.extensions[EXTENSION] = registered


def providers() -> list[OidcProvider]:
    return list(_registered().values())


def provider(provider_id: str) -> OidcProvider | None:
    return _registered().get(provider_id)


def form_action_origins(providers: Iterable[OidcProvider]) -> list[str]:
    """The providers' origins: signing out posts a form whose answer redirects to the provider's sign-out page,
    and a page's Content-Security-Policy form-action covers where its forms' redirects lead."""
    origins = {f"{urlsplit(p.issuer).scheme}://{urlsplit(p.issuer).netloc}" for p in providers}
    return sorted(origins)


def redirect_uri(provider: OidcProvider) -> str:
    """Where the provider sends people back: from the configured base URL, never the request's Host header,
    so it is exactly the address registered with the provider."""
    return f"{current_app.extensions['rapidreview'].settings.base_url.rstrip('/')}/sign-in/with/{provider.id}/callback"


def post_sign_out_uri() -> str:
    return f"{current_app.extensions['rapidreview'].settings.base_url.rstrip('/')}/sign-in"


def authorize_redirect(provider: OidcProvider) -> Response:
    """Send the browser to the provider's sign-in, with a new state, nonce and PKCE verifier."""
    client = _client(provider)
    try:
        _check_metadata(provider, client)
        return cast(Response, client.authorize_redirect(redirect_uri(provider)))
    except requests.RequestException as exc:
        raise ProtocolFailure(identity_providers.PROVIDER_UNREACHABLE, type(exc).__name__) from None


def complete(provider: OidcProvider) -> CheckedSignIn:
    """Exchange the provider's answer (this request's code and state) for a checked ID token's claims."""
    client = _client(provider)
    try:
        _check_metadata(provider, client)
        token = client.authorize_access_token(claims_cls=IdTokenClaims, claims_options=_claims_options(provider),
                                              leeway=LEEWAY_S)
    except MismatchingStateError:
        raise ProtocolFailure(identity_providers.STATE_MISMATCH) from None
    except OAuthError as exc:  # the provider answered with an error, or refused the code
        raise ProtocolFailure(identity_providers.PROVIDER_ERROR, str(exc.error)) from None
    except JoseError as exc:
        raise ProtocolFailure(identity_providers.INVALID_TOKEN, str(exc)) from None  # which check, never the token
    except requests.RequestException as exc:
        raise ProtocolFailure(identity_providers.PROVIDER_UNREACHABLE, type(exc).__name__) from None
    claims, id_token = token.get("userinfo"), token.get("id_token")
    if not claims or not isinstance(id_token, str):
        raise ProtocolFailure(identity_providers.INVALID_TOKEN, "no ID token")
    return CheckedSignIn(dict(claims), id_token)


def sign_out_redirect(signed_out: ProviderSession) -> Response | None:
    """The provider's sign-out page (RP-initiated logout) for a session signed in through it, with the ID token
    as the hint and this service's sign-in page to come back to; None when the provider offers none."""
    provider_ = provider(signed_out.provider)
    if provider_ is None:
        return None
    client = _client(provider_)
    try:
        metadata = client.load_server_metadata()
    except requests.RequestException as exc:
        log.warning("identity provider %s unreachable at sign-out: %s", provider_.id, type(exc).__name__)
        return None
    if not metadata.get("end_session_endpoint"):
        return None
    # Not Authlib's logout_redirect: it would keep a state in the session this sign-out has just emptied.
    logout = client.create_logout_url(post_logout_redirect_uri=post_sign_out_uri(), id_token_hint=signed_out.id_token)
    return redirect(logout["url"])


def _claims_options(provider: OidcProvider) -> dict[str, Any]:
    # Authlib checks the issuer by default but the audience only through azp, which would accept another
    # service's token that names this client in azp: both are required here, exactly.
    return {"iss": {"essential": True, "values": [provider.issuer]},
            "aud": {"essential": True, "values": [provider.client_id]},
            "sub": {"essential": True}}


def _check_metadata(provider: OidcProvider, client: Any) -> None:
    """OpenID Connect Discovery: the document must name the issuer it was fetched for."""
    metadata = client.load_server_metadata()
    if metadata.get("issuer") != provider.issuer:
        log.error("identity provider %s: discovery names issuer %r, not the configured %r", provider.id,
                  metadata.get("issuer"), provider.issuer)
        raise ProtocolFailure(identity_providers.MISCONFIGURED, "issuer")


def _client(provider: OidcProvider) -> Any:
    oauth: OAuth = current_app.extensions["authlib.integrations.flask_client"]
    return oauth.create_client(provider.id)


def _registered() -> dict[str, OidcProvider]:
    return cast(dict[str, OidcProvider], current_app.extensions.get(EXTENSION, {}))
