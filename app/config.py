"""Settings, read once from the environment (``RAPIDREVIEW_*`` and ``DATABASE_URL``).

A bad value stops start-up with a message naming the variable: an operator must never discover a
typo weeks later when a timer fails to send its alert.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent

NATIONAL_PANEL_MAILBOX = "Mailbox.NationalReviewPanel@education.gov.uk"
MAIL_TRANSPORTS = ("file", "smtp", "ews", "graph")

# Who receives mail addressed to a role. Partnerships set their own with RAPIDREVIEW_MAILBOX_<ROLE>.
DEFAULT_ROLE_MAILBOXES: dict[str, str] = {
    "partnership_manager": "partnership.manager@partnership.example",
    "independent_chair": "independent.chair@partnership.example",
    "la_lead": "la.lead@council.example",
    "police_lead": "police.lead@police.example",
    "icb_lead": "icb.lead@icb.example",
}


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'rapidreview.db'}"
    data_dir: Path = PROJECT_ROOT / "var"
    bpmn_dir: Path = PROJECT_ROOT / "bpmn"
    forms_dir: Path = PROJECT_ROOT / "forms"
    templates_dir: Path = PROJECT_ROOT / "templates"
    main_process_id: str = "rapid_review"
    partnership_name: str = "Safeguarding Children Partnership"
    partnership_contact_name: str = "Partnership Manager"
    base_url: str = "http://127.0.0.1:5000"
    mail_transport: str = "file"
    mail_from: str = "rapid.review@partnership.example"
    national_panel_address: str = NATIONAL_PANEL_MAILBOX
    role_mailboxes: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ROLE_MAILBOXES))
    bank_holidays_file: Path | None = None
    closure_dates: str = ""
    pdf_timeout_s: float = 120.0

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
    if env.get("RAPIDREVIEW_PDF_TIMEOUT"):
        try:
            changes["pdf_timeout_s"] = float(env["RAPIDREVIEW_PDF_TIMEOUT"])
        except ValueError:
            raise ConfigError("RAPIDREVIEW_PDF_TIMEOUT must be a number of seconds") from None
    mailboxes = dict(DEFAULT_ROLE_MAILBOXES)
    for role in mailboxes:
        value = env.get(f"RAPIDREVIEW_MAILBOX_{role.upper()}")
        if value:
            if "@" not in value:
                raise ConfigError(f"RAPIDREVIEW_MAILBOX_{role.upper()} must be an e-mail address, not {value!r}")
            mailboxes[role] = value.strip()
    changes["role_mailboxes"] = mailboxes
    return replace(defaults, **changes)
