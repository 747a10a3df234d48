"""Organisations' identity providers (OpenID Connect), read from the environment once at start-up.

The operator lists the providers by id, and each has its own settings::

    RAPIDREVIEW_OIDC_PROVIDERS=northbridge
    RAPIDREVIEW_OIDC_NORTHBRIDGE_ISSUER=https://login.microsoftonline.com/<tenant id>/v2.0
    RAPIDREVIEW_OIDC_NORTHBRIDGE_CLIENT_ID=<application (client) id>
    RAPIDREVIEW_OIDC_NORTHBRIDGE_CLIENT_SECRET_FILE=/etc/rapidreview/northbridge-oidc-secret  (or _CERTIFICATE_FILE)
    RAPIDREVIEW_OIDC_NORTHBRIDGE_DOMAINS=northbridge.gov.uk,northbridge-police.example
    RAPIDREVIEW_OIDC_NORTHBRIDGE_PARTNERSHIP=northbridge
    RAPIDREVIEW_OIDC_NORTHBRIDGE_LABEL=Northbridge Council

A provider signs in only accounts of its partnership whose e-mail domain it lists (docs/operations.md, Signing
in with an organisation's account). Each mistake stops start-up with a message naming the variable.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from rapidreview.env_values import ConfigError
from rapidreview.env_values import secret as _secret
from rapidreview.env_values import value as _value

PROVIDER_ID = re.compile(r"^[a-z][a-z0-9]{0,19}$")
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
PARTNERSHIP_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
YES, NO = ("true", "yes", "on", "1"), ("false", "no", "off", "0")
DEFAULT_LABEL = "your organisation's account"


@dataclass(frozen=True)
class ClientCertificate:
    """This service's certificate credential at a provider (``private_key_jwt``): the private key signs a
    short-lived assertion at each token request, and the certificate's thumbprints name it, as Microsoft Entra
    ID asks (``x5t``, and ``x5t#S256``)."""

    private_key_pem: str = field(repr=False)
    x5t: str
    x5t_s256: str


@dataclass(frozen=True)
class OidcProvider:
    id: str  # in the callback's path and the audit trail; never changes once staff use it
    issuer: str  # exactly as the provider's discovery document and ID tokens give it
    client_id: str
    domains: tuple[str, ...]  # e-mail domains whose accounts it may sign in (sub-domains are not included)
    client_secret: str = field(default="", repr=False)
    client_certificate: ClientCertificate | None = None  # instead of the secret
    partnership: str = "default"  # the code of the partnership whose accounts it signs in
    label: str = DEFAULT_LABEL  # "Sign in with <label>"
    mfa_satisfies_totp: bool = False  # the provider's reported MFA replaces the TOTP step
    mfa_acr_values: tuple[str, ...] = ()  # acr values that mean MFA, for providers that say so in acr not amr

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"


def providers_from_environment(env: Mapping[str, str]) -> tuple[OidcProvider, ...]:
    raw = _value(env, "RAPIDREVIEW_OIDC_PROVIDERS")
    ids = [item.strip().lower() for item in raw.split(",") if item.strip()]
    for provider_id in ids:
        if not PROVIDER_ID.match(provider_id):
            raise ConfigError(f"RAPIDREVIEW_OIDC_PROVIDERS: {provider_id!r} is not a provider id (a letter, then up "
                              "to 19 lower-case letters or digits, like entra or northbridge)")
    if len(set(ids)) != len(ids):
        raise ConfigError("RAPIDREVIEW_OIDC_PROVIDERS names a provider twice")
    return tuple(_provider(env, provider_id) for provider_id in ids)


def _provider(env: Mapping[str, str], provider_id: str) -> OidcProvider:
    prefix = f"RAPIDREVIEW_OIDC_{provider_id.upper()}_"
    missing = [prefix + name for name in ("ISSUER", "CLIENT_ID", "DOMAINS") if not _value(env, prefix + name)]
    secret = _secret(env, prefix + "CLIENT_SECRET").strip()
    certificate = _certificate(env, prefix + "CLIENT_CERTIFICATE_FILE")
    if secret and certificate:
        raise ConfigError(f"set {prefix}CLIENT_SECRET (or _FILE) or {prefix}CLIENT_CERTIFICATE_FILE, not both")
    if not secret and not certificate:
        missing.append(f"{prefix}CLIENT_SECRET (or {prefix}CLIENT_SECRET_FILE, or {prefix}CLIENT_CERTIFICATE_FILE)")
    if missing:
        raise ConfigError(f"{', '.join(missing)} must be set for the provider {provider_id!r} "
                          "named in RAPIDREVIEW_OIDC_PROVIDERS")
    partnership = _value(env, prefix + "PARTNERSHIP").lower() or "default"
    if not PARTNERSHIP_CODE.match(partnership):
        raise ConfigError(f"{prefix}PARTNERSHIP must be a partnership code (like northbridge), not {partnership!r}")
    label = _value(env, prefix + "LABEL") or DEFAULT_LABEL
    if len(label) > 60:
        raise ConfigError(f"{prefix}LABEL must be 60 characters or fewer: it is shown on a button")
    return OidcProvider(
        id=provider_id, issuer=_issuer(env, prefix + "ISSUER"), client_id=_value(env, prefix + "CLIENT_ID"),
        client_secret=secret, client_certificate=certificate, domains=_domains(env, prefix + "DOMAINS"),
        partnership=partnership, label=label,
        mfa_satisfies_totp=_flag(env, prefix + "MFA_SATISFIES_TOTP"),
        mfa_acr_values=tuple(v.strip() for v in _value(env, prefix + "MFA_ACR").split(",") if v.strip()))


def _certificate(env: Mapping[str, str], name: str) -> ClientCertificate | None:
    """A PEM file holding the RSA private key and its certificate, read and checked now, not at the first
    sign-in."""
    raw = _value(env, name)
    if not raw:
        return None
    try:
        pem = Path(raw).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read {raw}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(pem, password=None)
        certificate = x509.load_pem_x509_certificate(pem)
    except (ValueError, TypeError):
        raise ConfigError(f"{name}: {raw} must hold an unencrypted PEM private key and its certificate") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.public_key() != certificate.public_key():
        raise ConfigError(f"{name}: {raw} must hold an RSA private key and the certificate of that same key")
    der = certificate.public_bytes(serialization.Encoding.DER)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode("ascii")
    return ClientCertificate(private, _b64url(hashlib.sha1(der).digest()),  # noqa: S324 - x5t is SHA-1 by definition
                             _b64url(hashlib.sha256(der).digest()))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _issuer(env: Mapping[str, str], name: str) -> str:
    """An https:// URL; plain http only on this machine's loopback interface (a provider run for testing)."""
    raw = _value(env, name)
    parts = urlsplit(raw)
    if parts.scheme == "https" and parts.hostname:
        return raw
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return raw
    raise ConfigError(f"{name} must be the provider's https:// issuer URL (like "
                      f"https://login.microsoftonline.com/<tenant id>/v2.0), not {raw!r}")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _domains(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    domains = tuple(d.strip().lower().lstrip("@") for d in _value(env, name).split(",") if d.strip())
    for domain in domains:
        if not DOMAIN.match(domain):
            raise ConfigError(f"{name}: {domain!r} is not an e-mail domain (like northbridge.gov.uk)")
    return domains


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = _value(env, name).lower()
    if raw in ("", *NO):
        return False
    if raw in YES:
        return True
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def password_sign_in_from_environment(env: Mapping[str, str]) -> bool:
    """RAPIDREVIEW_PASSWORD_SIGN_IN=off hides the password form: every partnership signs in through a provider."""
    raw = _value(env, "RAPIDREVIEW_PASSWORD_SIGN_IN").lower()
    if raw in ("", "on", *YES):
        return True
    if raw in ("off", *NO):
        if not _value(env, "RAPIDREVIEW_OIDC_PROVIDERS"):
            raise ConfigError("RAPIDREVIEW_PASSWORD_SIGN_IN=off needs RAPIDREVIEW_OIDC_PROVIDERS: "
                              "otherwise nobody could sign in")
        return False
    raise ConfigError(f"RAPIDREVIEW_PASSWORD_SIGN_IN must be on or off, not {raw!r}")
