"""Instructions as HTML: each Markdown construct the renderer supports, everything else escaped, and
placeholder values shown exactly as written."""

from __future__ import annotations

import time

from markupsafe import Markup

from rapidreview.instructions_markdown import render, to_html


def test_paragraphs_are_split_on_blank_lines_and_their_lines_joined() -> None:
    html = to_html("First line\nsame paragraph.\n\nSecond.")
    assert isinstance(html, Markup)
    assert html == '<p class="govuk-body">First line same paragraph.</p><p class="govuk-body">Second.</p>'


def test_bold_italic_and_code() -> None:
    assert to_html("**Send** it *today*, with `form-1`.") == (
        '<p class="govuk-body"><strong>Send</strong> it <em>today</em>, with <code>form-1</code>.</p>'
    )


def test_italic_inside_bold_nests_and_crossed_marks_stay_text() -> None:
    assert to_html("**a *b* c**") == '<p class="govuk-body"><strong>a <em>b</em> c</strong></p>'
    assert to_html("**a *b** c*") == '<p class="govuk-body"><strong>a *b</strong> c*</p>'


def test_code_is_shown_as_written() -> None:
    assert to_html("`**not bold** <b>`") == '<p class="govuk-body"><code>**not bold** &lt;b&gt;</code></p>'


def test_a_backslash_writes_the_mark_itself() -> None:
    assert to_html(r"2 \* 3 \*not italic\*") == '<p class="govuk-body">2 * 3 *not italic*</p>'


def test_bulleted_list_with_a_continued_item() -> None:
    html = to_html("Check:\n- the dates\n* the names\n  and roles\n+ the **sign-off**")
    assert html == (
        '<p class="govuk-body">Check:</p><ul class="govuk-list govuk-list--bullet"><li>the dates</li>'
        "<li>the names and roles</li><li>the <strong>sign-off</strong></li></ul>"
    )


def test_numbered_list_keeps_its_first_number() -> None:
    assert to_html("1. Read\n2) Answer") == (
        '<ol class="govuk-list govuk-list--number"><li>Read</li><li>Answer</li></ol>'
    )
    assert to_html("3. Third\n4. Fourth") == (
        '<ol class="govuk-list govuk-list--number" start="3"><li>Third</li><li>Fourth</li></ol>'
    )


def test_a_bulleted_list_then_a_numbered_list_are_two_lists() -> None:
    assert to_html("- a\n1. b") == (
        '<ul class="govuk-list govuk-list--bullet"><li>a</li></ul>'
        '<ol class="govuk-list govuk-list--number"><li>b</li></ol>'
    )


def test_links_to_web_and_mail_addresses() -> None:
    assert to_html("[The guidance](https://www.gov.uk/x?a=1&b=2) or [e-mail us](mailto:rscp@example.org)") == (
        '<p class="govuk-body"><a class="govuk-link" href="https://www.gov.uk/x?a=1&amp;b=2">The guidance</a>'
        ' or <a class="govuk-link" href="mailto:rscp@example.org">e-mail us</a></p>'
    )
    assert to_html("[**Read** this](http://example.org)") == (
        '<p class="govuk-body"><a class="govuk-link" href="http://example.org"><strong>Read</strong> this</a></p>'
    )


def test_html_is_escaped_never_kept() -> None:
    html = to_html('<script>alert(1)</script> <img src=x onerror="alert(1)"> &amp;')
    assert "<script" not in html and "<img" not in html
    assert html == (
        '<p class="govuk-body">&lt;script&gt;alert(1)&lt;/script&gt; '
        "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; &amp;amp;</p>"
    )


def test_only_web_and_mail_links_become_links() -> None:
    for url in ("javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x", "vbscript:x", "//evil.example", "/local"):
        html = to_html(f"[click]({url})")
        assert "<a" not in html and "href" not in html, url


def test_a_link_cannot_add_attributes() -> None:
    assert to_html('[x](https://a.example/"onmouseover="alert)') == (
        '<p class="govuk-body"><a class="govuk-link" href="https://a.example/&#34;onmouseover=&#34;alert">x</a></p>'
    )


def test_marks_inside_a_link_address_stay_in_the_address() -> None:
    assert to_html("[x](https://a.example/*a*_b_)") == (
        '<p class="govuk-body"><a class="govuk-link" href="https://a.example/*a*_b_">x</a></p>'
    )


def test_placeholders_are_filled() -> None:
    html = render("Case **{{ case_reference }}**, due by {{ due.task.at }}.{{ missing.value }}",
                  {"case_reference": "RR-1", "due": {"task": {"at": "5pm on Friday 29 May 2026 (Day 7)"}}})
    assert html == (
        '<p class="govuk-body">Case <strong>RR-1</strong>, due by 5pm on Friday 29 May 2026 (Day 7).</p>'
    )


def test_a_filled_value_is_literal_text_never_markup() -> None:
    data = {"name": "*Oak* <b>School</b>", "list": "- not a list", "url": "javascript:alert(1)",
            "quote": '" onclick="x'}
    html = render("{{ name }}\n\n{{ list }}\n\n[link]({{ url }}) [web](https://a.example/{{ quote }})", data)
    assert html == (
        '<p class="govuk-body">*Oak* &lt;b&gt;School&lt;/b&gt;</p>'
        '<p class="govuk-body">- not a list</p>'
        '<p class="govuk-body">[link](javascript:alert(1)) '
        '<a class="govuk-link" href="https://a.example/&#34; onclick=&#34;x">web</a></p>'
    )


def test_a_value_inside_bold_or_code_is_escaped_there() -> None:
    assert render("**{{ v }}** `{{ v }}`", {"v": "<i>**x**</i>"}) == (
        '<p class="govuk-body"><strong>&lt;i&gt;**x**&lt;/i&gt;</strong> <code>&lt;i&gt;**x**&lt;/i&gt;</code></p>'
    )


def test_typed_marker_characters_cannot_pose_as_values() -> None:
    assert render("a\ue0000\ue001b {{ v }}", {"v": "V"}) == '<p class="govuk-body">a0b V</p>'
    assert to_html("a\ue0020\ue003b") == '<p class="govuk-body">a0b</p>'


def test_a_template_error_shows_the_text_as_written() -> None:
    assert render("{% if x %}Send it", {}) == '<p class="govuk-body">{% if x %}Send it</p>'


def test_template_logic_still_works() -> None:
    text = "{% if comments is defined %}Comments: {{ comments }}. {% endif %}Send it."
    assert render(text, {"comments": "*none*"}) == '<p class="govuk-body">Comments: *none*. Send it.</p>'
    assert render(text, {}) == '<p class="govuk-body">Send it.</p>'


def test_long_runs_of_marks_are_rendered_quickly_as_text() -> None:
    started = time.monotonic()
    for text in ("`" * 20000, "*" * 20000, "**a *" * 4000, "[a](https://x" * 2000):
        html = to_html(text)
        assert "<code>" not in html and "<a " not in html
    assert time.monotonic() - started < 2  # a few milliseconds: no pattern backtracks over the whole text
