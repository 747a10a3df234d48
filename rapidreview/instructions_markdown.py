"""A user task's instructions as HTML: the small Markdown a process owner writes, with GOV.UK classes.

The same renderer serves the task page and the process editor's preview, so what an owner previews is
what staff see. It supports exactly:

- paragraphs, separated by a blank line (lines of one paragraph are joined);
- bulleted lists (lines starting ``- ``, ``* `` or ``+ ``) and numbered lists (``1. `` or ``1) ``);
- ``**bold**``, ``*italic*``, ```code``` and links ``[text](https://...)`` to http(s) or mailto addresses;
- a backslash before a punctuation mark writes the mark itself (``\\*`` is an asterisk).

Everything else is text: it is escaped, so instructions can never put HTML (or a ``javascript:`` link)
on a page. Placeholders such as ``{{ case_reference }}`` are filled before the Markdown is read, but a
filled value stays literal text: ``fill`` hands each value over out of band (a marker in the text, the
value beside it) and ``to_html`` puts the escaped value back only after the Markdown has been turned into
HTML, so a value holding ``*`` or ``<`` is shown as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import ChainableUndefined, TemplateError, Undefined
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

# Markers from Unicode's private use area: nobody types them, and they are removed from what is typed.
_VALUE_OPEN, _VALUE_CLOSE = "\ue000", "\ue001"  # a filled placeholder value, by its index
_KEPT_OPEN, _KEPT_CLOSE = "\ue002", "\ue003"  # a piece of finished HTML (code span, link, escaped mark)
_MARKERS = re.compile("[\ue000-\ue003]")
_VALUE = re.compile(f"{_VALUE_OPEN}(\\d+){_VALUE_CLOSE}")
_KEPT = re.compile(f"{_KEPT_OPEN}(\\d+){_KEPT_CLOSE}")

_BULLET = re.compile(r"^\s{0,3}[-*+]\s+(.*)$")
_NUMBER = re.compile(r"^\s{0,3}(\d{1,9})[.)]\s+(.*)$")
_CODE = re.compile(r"`([^`]+)`")  # one backtick each side: a run of them cannot make matching slow
_BACKSLASH = re.compile(r"\\([!-/:-@\[-`{-~])")
_LINK = re.compile(r"\[([^\[\]]+)\]\(([^\s()<>]+)\)")
_SAFE_URL = re.compile(r"^(https?://|mailto:)", re.IGNORECASE)
_BOLD = re.compile(r"\*\*(?=\S)((?:[^*]|\*(?!\*))+?)(?<=\S)\*\*")
# Italic text holds no tag, so an <em> always sits inside one run of text and the HTML stays well nested.
_ITALIC = re.compile(r"\*(?=[^\s*])([^*<]*?[^\s*<]|[^\s*<])\*")


def to_html(text: str, values: Sequence[str] = ()) -> Markup:
    """``text`` as safe HTML; ``values`` are the placeholder values ``fill`` marked in it."""
    text = _MARKERS.sub("", text) if not values else re.sub("[\ue002\ue003]", "", text)
    html = "".join(_blocks(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")))

    def value(match: re.Match[str]) -> str:
        index = int(match.group(1))
        return str(escape(values[index])) if index < len(values) else ""

    return Markup(_VALUE.sub(value, html))


def _blocks(lines: list[str]) -> list[str]:
    out: list[str] = []
    paragraph: list[str] = []
    items: list[list[str]] = []
    kind = ""  # "ul" or "ol" while a list is open
    start = 1

    def close_paragraph() -> None:
        if paragraph:
            out.append(f'<p class="govuk-body">{_inline(" ".join(paragraph))}</p>')
            paragraph.clear()

    def close_list() -> None:
        nonlocal kind
        if kind:
            cls = "govuk-list govuk-list--bullet" if kind == "ul" else "govuk-list govuk-list--number"
            first = f' start="{start}"' if kind == "ol" and start != 1 else ""
            body = "".join(f"<li>{_inline(' '.join(item))}</li>" for item in items)
            out.append(f'<{kind} class="{cls}"{first}>{body}</{kind}>')
            items.clear()
            kind = ""

    for line in lines:
        bullet, number = _BULLET.match(line), _NUMBER.match(line)
        if not line.strip():
            close_paragraph()
            close_list()
        elif bullet or number:
            close_paragraph()
            wanted = "ul" if bullet else "ol"
            if kind != wanted:
                close_list()
                kind = wanted
                start = int(number.group(1)) if number else 1
            items.append([bullet.group(1) if bullet else number.group(2) if number else ""])
        elif kind:
            items[-1].append(line.strip())  # a line under an item continues it
        else:
            paragraph.append(line.strip())
    close_paragraph()
    close_list()
    return out


def _inline(text: str) -> str:
    """One paragraph's or item's text: code spans, escapes and links are finished first and kept aside,
    then the rest is escaped and bold and italic are marked."""
    kept: list[str] = []

    def keep(html: str) -> str:
        kept.append(html)
        return f"{_KEPT_OPEN}{len(kept) - 1}{_KEPT_CLOSE}"

    text = _CODE.sub(lambda m: keep(f"<code>{escape(m.group(1).strip())}</code>"), text)
    text = _BACKSLASH.sub(lambda m: keep(str(escape(m.group(1)))), text)

    def link(match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2)
        if not _SAFE_URL.match(url):
            return str(match.group(0))  # shown as typed, and escaped below
        return keep(f'<a class="govuk-link" href="{escape(url)}">{_emphasis(str(escape(label)))}</a>')

    text = _LINK.sub(link, text)
    html = _emphasis(str(escape(text)))
    while _KEPT.search(html):  # a link's label may hold a kept code span or escape
        html = _KEPT.sub(lambda m: kept[int(m.group(1))], html)
    return html


def _emphasis(html: str) -> str:
    html = _BOLD.sub(r"<strong>\1</strong>", html)
    return _ITALIC.sub(r"<em>\1</em>", html)


@dataclass
class _Collected:
    """The values a template's ``{{ }}`` gave, in order; the text holds a marker for each."""

    values: list[str]

    def marker(self, value: Any) -> str:
        if isinstance(value, Undefined) or value is None:
            return ""
        self.values.append(str(value))
        return f"{_VALUE_OPEN}{len(self.values) - 1}{_VALUE_CLOSE}"


def fill(text: str, data: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The instructions with their placeholders (``{{ case_reference }}``, ``{{ due.x.at }}``) filled by a
    sandbox: the text with a marker for each value, and the values. A template error leaves the text as
    written rather than hiding the instructions."""
    text = _MARKERS.sub("", text)
    if "{" not in text:
        return text, []
    collected = _Collected([])
    finalize: Callable[[Any], str] = collected.marker
    sandbox = SandboxedEnvironment(autoescape=False, undefined=ChainableUndefined, finalize=finalize)
    try:
        filled = sandbox.from_string(text).render(**{k: v for k, v in data.items() if isinstance(k, str)})
    except TemplateError:
        return text, []
    return filled, collected.values


def render(text: str, data: Mapping[str, Any]) -> Markup:
    """Instructions as the person doing the task reads them: placeholders filled, Markdown as HTML."""
    filled, values = fill(text, data)
    return to_html(filled, values)
