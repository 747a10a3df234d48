"""The known values the process editor offers for a service task's parameters, so an owner picks an e-mail
template, a document kind or recipients instead of typing an expression."""

from __future__ import annotations

from collections.abc import Mapping

from rapidreview.services.casework.documents import KIND_NAMES, REPORT_KINDS
from rapidreview.services.casework.operators import NAMED_RECIPIENTS

EMAIL_TEMPLATES = "templates/email/"


def email_templates(files: Mapping[str, bytes]) -> list[str]:
    """The version's e-mail template names: templates/email/NAME.txt, without partials (names starting _)."""
    names = (
        path.removeprefix(EMAIL_TEMPLATES).removesuffix(".txt")
        for path in files
        if path.startswith(EMAIL_TEMPLATES) and path.endswith(".txt")
    )
    return sorted(name for name in names if "/" not in name and not name.startswith("_"))


def document_kinds() -> list[dict[str, str]]:
    """The kinds create_document makes, with the names people see."""
    return [{"value": kind, "label": KIND_NAMES[kind]} for kind in REPORT_KINDS]


def recipients() -> list[str]:
    """The names a to, cc or reply_to list may use (an e-mail address or an expression is also allowed)."""
    return list(NAMED_RECIPIENTS)
