"""Settings, read once from the environment (``RAPIDREVIEW_*`` and ``DATABASE_URL``).

A bad value stops start-up with a message naming the variable: an operator must never discover a
typo weeks later when a timer fails to send its alert.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rapidreview import resources
from rapidreview.env_values import ConfigError, secret, value
from rapidreview.process_contract import PROCESS_ID

if TYPE_CHECKING:
    from rapidreview.oidc_settings import OidcProvider

# The source checkout (tests and tools read its folders); the app itself finds its files through resources.
PROJECT_ROOT = resources.CHECKOUT_DIR

NATIONAL_PANEL_MAILBOX = "Mailbox.NationalReviewPanel@education.gov.uk"
MAIL_TRANSPORTS = ("file", "smtp", "ews", "graph")
SMTP_TLS_MODES = ("starttls", "ssl", "opportunistic", "none")
SMTP_DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "opportunistic": 25, "none": 25}
EWS_AUTH_TYPES = ("ntlm", "basic", "oauth2")

# Who receives mail addressed to a role. Partnerships set their own with RAPIDREVIEW_MAILBOX_<ROLE>.
DEFAULT_ROLE_MAILBOXES: dict[str, str] = {
    "partnership_manager": "partnership.manager@partnership.example",
    "independent_chair": "independent.chair@partnership.example",
    "la_lead": "la.lead@council.example",
    "police_lead": "police.lead@police.example",
    "icb_lead": "icb.lead@icb.example",
}




# -- mail transports (docs/mail.md) ------------------------------------------------------------------
# Secrets are kept out of repr() so a logged Settings never shows a password.

@dataclass(frozen=True)
class SmtpSettings:
    host: str = ""
    port: int = 587
    tls: str = "starttls"  # starttls (required), ssl (implicit TLS), opportunistic, none
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: Path | None = None
    timeout_s: float = 60.0
    local_hostname: str = ""
    # Recipients under these domains are never sent to without TLS (government guidance for gov.uk).
    require_tls_domains: tuple[str, ...] = ("gov.uk",)


@dataclass(frozen=True)
class EwsSettings:
    url: str = ""  # the EWS endpoint, e.g. https://mail.council.example/EWS/Exchange.asmx
    auth: str = "ntlm"  # ntlm, basic or oauth2
    username: str = ""
    password: str = field(default="", repr=False)
    tenant_id: str = ""
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    mailbox: str = ""  # the (shared) mailbox mail is sent from; default RAPIDREVIEW_MAIL_FROM
    timeout_s: float = 120.0


@dataclass(frozen=True)
class GraphSettings:
    tenant_id: str = ""
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    certificate_file: Path | None = None  # PEM private key and certificate, instead of a client secret
    certificate_thumbprint: str = ""
    mailbox: str = ""  # user id or address of the (shared) mailbox; default RAPIDREVIEW_MAIL_FROM
    authority_host: str = "https://login.microsoftonline.com"
    endpoint: str = "https://graph.microsoft.com/v1.0"
    ca_file: Path | None = None
    timeout_s: float = 60.0


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=lambda: f"sqlite:///{resources.default_data_dir() / 'rapidreview.db'}")
    data_dir: Path = field(default_factory=resources.default_data_dir)
    bpmn_dir: Path = field(default_factory=lambda: resources.path("bpmn"))
    forms_dir: Path = field(default_factory=lambda: resources.path("forms"))
    templates_dir: Path = field(default_factory=lambda: resources.path("templates"))
    main_process_id: str = PROCESS_ID
    partnership_name: str = "Safeguarding Children Partnership"
    partnership_contact_name: str = "Partnership Manager"
    base_url: str = "http://127.0.0.1:5000"
    mail_transport: str = "file"
    mail_from: str = "rapid.review@partnership.example"
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    ews: EwsSettings = field(default_factory=EwsSettings)
    graph: GraphSettings = field(default_factory=GraphSettings)
    national_panel_address: str = NATIONAL_PANEL_MAILBOX
    role_mailboxes: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ROLE_MAILBOXES))
    bank_holidays_file: Path | None = None
    closure_dates: str = ""
    pdf_timeout_s: float = 120.0
    session_idle_minutes: int = 30  # a signed-in session with no request for this long ends
    session_max_hours: int = 10  # and every session ends this long after sign-in, busy or not
    # An invitation's link lasts this long (or until the information-sharing window closes, if sooner), and an
    # invited account no case has needed for this many days is closed (rapidreview.services.people.invitations).
    invitation_hours: int = 72
    invited_access_days: int = 30
    # Organisations' identity providers and whether the password form is offered (rapidreview.oidc_settings).
    oidc_providers: tuple[OidcProvider, ...] = ()
    password_sign_in: bool = True
    # The web app's: the key signing session cookies (none: the web app refuses to start in production), the
    # reverse proxies in front of it (rapidreview.web.proxy) and the token that may read /metrics.
    secret_key: str = field(default="", repr=False)
    trusted_proxies: int = 0
    metrics_token: str = field(default="", repr=False)

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def partnership_contact_email(self) -> str:
        return self.role_mailboxes["partnership_manager"]

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def from_environment(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    defaults = Settings()
    changes: dict[str, Any] = {}

    def text(name: str, attr: str) -> None:
        value = env.get(name)
        if value is not None and value.strip():
            changes[attr] = value.strip()

    text("DATABASE_URL", "database_url")
    text("RAPIDREVIEW_PARTNERSHIP_NAME", "partnership_name")
    text("RAPIDREVIEW_BASE_URL", "base_url")
    text("RAPIDREVIEW_MAIL_FROM", "mail_from")
    text("RAPIDREVIEW_NATIONAL_PANEL_ADDRESS", "national_panel_address")
    text("RAPIDREVIEW_CLOSURE_DATES", "closure_dates")
    for name, attr in (("RAPIDREVIEW_DATA_DIR", "data_dir"), ("RAPIDREVIEW_BPMN_DIR", "bpmn_dir"),
                       ("RAPIDREVIEW_FORMS_DIR", "forms_dir"), ("RAPIDREVIEW_TEMPLATES_DIR", "templates_dir")):
        if env.get(name):
            changes[attr] = Path(env[name])
    if env.get("RAPIDREVIEW_BANK_HOLIDAYS_FILE"):
        path = Path(env["RAPIDREVIEW_BANK_HOLIDAYS_FILE"])
        if not path.is_file():
            raise ConfigError(f"RAPIDREVIEW_BANK_HOLIDAYS_FILE: no file at {path}")
        changes["bank_holidays_file"] = path
    transport = env.get("RAPIDREVIEW_MAIL_TRANSPORT", defaults.mail_transport).strip().lower()
    if transport not in MAIL_TRANSPORTS:
        raise ConfigError(f"RAPIDREVIEW_MAIL_TRANSPORT must be one of {', '.join(MAIL_TRANSPORTS)}, not {transport!r}")
    changes["mail_transport"] = transport
    changes["smtp"] = smtp_from_environment(env, required=transport == "smtp")
    changes["ews"] = ews_from_environment(env, required=transport == "ews")
    changes["graph"] = graph_from_environment(env, required=transport == "graph")
    if env.get("RAPIDREVIEW_PDF_TIMEOUT"):
        try:
            changes["pdf_timeout_s"] = float(env["RAPIDREVIEW_PDF_TIMEOUT"])
        except ValueError:
            raise ConfigError("RAPIDREVIEW_PDF_TIMEOUT must be a number of seconds") from None
    changes["secret_key"] = secret(env, "RAPIDREVIEW_SECRET_KEY")
    changes["metrics_token"] = secret(env, "RAPIDREVIEW_METRICS_TOKEN")
    changes["trusted_proxies"] = trusted_proxies(env)
    changes["session_idle_minutes"] = _whole(env, "RAPIDREVIEW_SESSION_IDLE_MINUTES", defaults.session_idle_minutes,
                                             "minutes", 1, 24 * 60)
    changes["session_max_hours"] = _whole(env, "RAPIDREVIEW_SESSION_MAX_HOURS", defaults.session_max_hours,
                                          "hours", 1, 24)
    changes["invitation_hours"] = _whole(env, "RAPIDREVIEW_INVITATION_HOURS", defaults.invitation_hours, "hours", 1,
                                         24 * 14)
    changes["invited_access_days"] = _whole(env, "RAPIDREVIEW_INVITED_ACCESS_DAYS", defaults.invited_access_days,
                                            "days", 1, 365)
    mailboxes = dict(DEFAULT_ROLE_MAILBOXES)
    for role in mailboxes:
        value = env.get(f"RAPIDREVIEW_MAILBOX_{role.upper()}")
        if value:
            if "@" not in value:
                raise ConfigError(f"RAPIDREVIEW_MAILBOX_{role.upper()} must be an e-mail address, not {value!r}")
            mailboxes[role] = value.strip()
    changes["role_mailboxes"] = mailboxes
    from rapidreview import oidc_settings  # it reads its variables with this module's helpers

    changes["oidc_providers"] = oidc_settings.providers_from_environment(env)
    changes["password_sign_in"] = oidc_settings.password_sign_in_from_environment(env)
    return replace(defaults, **changes)


# -- reading the mail settings -----------------------------------------------------------------------
# Every variable that is set is checked, whichever transport is chosen; the chosen transport's required
# ones must be set. Errors name the variable.

_value, _secret = value, secret  # the names this module's readers use

TRUSTED_PROXIES_ENV = "RAPIDREVIEW_TRUSTED_PROXIES"


def trusted_proxies(env: Mapping[str, str]) -> int:
    """How many reverse proxies' forwarding headers to believe (rapidreview.web.proxy)."""
    raw = value(env, TRUSTED_PROXIES_ENV)
    if not raw:
        return 0
    if not raw.isdigit() or int(raw) > 5:
        raise ConfigError(f"{TRUSTED_PROXIES_ENV} must be the number of reverse proxies in front of the app "
                          f"(0 to 5; 1 for a single nginx), not {raw!r}")
    return int(raw)


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = _value(env, name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be more than 0 seconds, not {raw!r}")
    return value


def _whole(env: Mapping[str, str], name: str, default: int, unit: str, low: int, high: int) -> int:
    raw = _value(env, name)
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ConfigError(f"{name} must be a whole number of {unit} from {low} to {high}, not {raw!r}")
    return int(raw)


def _file(env: Mapping[str, str], name: str) -> Path | None:
    raw = _value(env, name)
    if not raw:
        return None
    if not Path(raw).is_file():
        raise ConfigError(f"{name}: no file at {raw}")
    return Path(raw)


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    raw = _value(env, name).lower() or default
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return raw


def _https_url(env: Mapping[str, str], name: str, default: str = "") -> str:
    raw = _value(env, name) or default
    if raw and not (raw.startswith("https://") and len(raw) > len("https://")):
        raise ConfigError(f"{name} must be an https:// URL, not {raw!r}")
    return raw.rstrip("/")


def _mailbox(env: Mapping[str, str], name: str, *, address: bool) -> str:
    raw = _value(env, name)
    if raw and address and "@" not in raw:
        raise ConfigError(f"{name} must be an e-mail address, not {raw!r}")
    return raw


def _need(required: bool, pairs: tuple[tuple[str, str], ...], why: str) -> None:
    if required:
        missing = [name for name, value in pairs if not value]
        if missing:
            raise ConfigError(f"{', '.join(missing)} must be set {why}")


def smtp_from_environment(env: Mapping[str, str], *, required: bool) -> SmtpSettings:
    tls = _choice(env, "RAPIDREVIEW_SMTP_TLS", SMTP_TLS_MODES, "starttls")
    port = SMTP_DEFAULT_PORTS[tls]
    if raw := _value(env, "RAPIDREVIEW_SMTP_PORT"):
        if not raw.isdigit() or not 1 <= int(raw) <= 65535:
            raise ConfigError(f"RAPIDREVIEW_SMTP_PORT must be a port number (1-65535), not {raw!r}")
        port = int(raw)
    username, password = _value(env, "RAPIDREVIEW_SMTP_USERNAME"), _secret(env, "RAPIDREVIEW_SMTP_PASSWORD")
    if bool(username) != bool(password):
        raise ConfigError("RAPIDREVIEW_SMTP_USERNAME and RAPIDREVIEW_SMTP_PASSWORD must be set together (or neither)")
    if username and tls == "none":
        raise ConfigError("RAPIDREVIEW_SMTP_TLS=none cannot be used with RAPIDREVIEW_SMTP_USERNAME: "
                          "the password would cross the network unencrypted")
    domains = tuple(d.strip().lower().lstrip(".") for d in
                    (env.get("RAPIDREVIEW_SMTP_REQUIRE_TLS_DOMAINS") or "gov.uk").split(",") if d.strip())
    settings = SmtpSettings(host=_value(env, "RAPIDREVIEW_SMTP_HOST"), port=port, tls=tls, username=username,
                            password=password, ca_file=_file(env, "RAPIDREVIEW_SMTP_CA_FILE"),
                            timeout_s=_number(env, "RAPIDREVIEW_SMTP_TIMEOUT", 60.0),
                            local_hostname=_value(env, "RAPIDREVIEW_SMTP_LOCAL_HOSTNAME"), require_tls_domains=domains)
    _need(required, (("RAPIDREVIEW_SMTP_HOST", settings.host),), "when RAPIDREVIEW_MAIL_TRANSPORT is smtp")
    return settings


def ews_from_environment(env: Mapping[str, str], *, required: bool) -> EwsSettings:
    settings = EwsSettings(
        url=_https_url(env, "RAPIDREVIEW_EWS_URL"), auth=_choice(env, "RAPIDREVIEW_EWS_AUTH", EWS_AUTH_TYPES, "ntlm"),
        username=_value(env, "RAPIDREVIEW_EWS_USERNAME"), password=_secret(env, "RAPIDREVIEW_EWS_PASSWORD"),
        tenant_id=_value(env, "RAPIDREVIEW_EWS_TENANT_ID"), client_id=_value(env, "RAPIDREVIEW_EWS_CLIENT_ID"),
        client_secret=_secret(env, "RAPIDREVIEW_EWS_CLIENT_SECRET"),
        mailbox=_mailbox(env, "RAPIDREVIEW_EWS_MAILBOX", address=True),
        timeout_s=_number(env, "RAPIDREVIEW_EWS_TIMEOUT", 120.0),
    )
    why = "when RAPIDREVIEW_MAIL_TRANSPORT is ews"
    _need(required, (("RAPIDREVIEW_EWS_URL", settings.url),), why)
    if settings.auth == "oauth2":
        _need(required, (("RAPIDREVIEW_EWS_TENANT_ID", settings.tenant_id), ("RAPIDREVIEW_EWS_CLIENT_ID", settings.client_id),
                         ("RAPIDREVIEW_EWS_CLIENT_SECRET", settings.client_secret)), f"{why} and RAPIDREVIEW_EWS_AUTH is oauth2")
    else:
        _need(required, (("RAPIDREVIEW_EWS_USERNAME", settings.username), ("RAPIDREVIEW_EWS_PASSWORD", settings.password)),
              f"{why} and RAPIDREVIEW_EWS_AUTH is {settings.auth}")
    return settings


def graph_from_environment(env: Mapping[str, str], *, required: bool) -> GraphSettings:
    settings = GraphSettings(
        tenant_id=_value(env, "RAPIDREVIEW_GRAPH_TENANT_ID"), client_id=_value(env, "RAPIDREVIEW_GRAPH_CLIENT_ID"),
        client_secret=_secret(env, "RAPIDREVIEW_GRAPH_CLIENT_SECRET"),
        certificate_file=_file(env, "RAPIDREVIEW_GRAPH_CERTIFICATE_FILE"),
        certificate_thumbprint=_value(env, "RAPIDREVIEW_GRAPH_CERTIFICATE_THUMBPRINT"),
        mailbox=_mailbox(env, "RAPIDREVIEW_GRAPH_MAILBOX", address=False),
        authority_host=_https_url(env, "RAPIDREVIEW_GRAPH_AUTHORITY_HOST", GraphSettings.authority_host),
        endpoint=_https_url(env, "RAPIDREVIEW_GRAPH_ENDPOINT", GraphSettings.endpoint),
        ca_file=_file(env, "RAPIDREVIEW_GRAPH_CA_FILE"), timeout_s=_number(env, "RAPIDREVIEW_GRAPH_TIMEOUT", 60.0),
    )
    if settings.client_secret and settings.certificate_file:
        raise ConfigError("set RAPIDREVIEW_GRAPH_CLIENT_SECRET or RAPIDREVIEW_GRAPH_CERTIFICATE_FILE, not both")
    if bool(settings.certificate_file) != bool(settings.certificate_thumbprint):
        raise ConfigError("RAPIDREVIEW_GRAPH_CERTIFICATE_FILE and RAPIDREVIEW_GRAPH_CERTIFICATE_THUMBPRINT "
                          "must be set together")
    why = "when RAPIDREVIEW_MAIL_TRANSPORT is graph"
    _need(required, (("RAPIDREVIEW_GRAPH_TENANT_ID", settings.tenant_id),
                     ("RAPIDREVIEW_GRAPH_CLIENT_ID", settings.client_id)), why)
    if required and not (settings.client_secret or settings.certificate_file):
        raise ConfigError(f"RAPIDREVIEW_GRAPH_CLIENT_SECRET or RAPIDREVIEW_GRAPH_CERTIFICATE_FILE must be set {why}")
    return settings
