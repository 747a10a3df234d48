"""Schema-driven GOV.UK forms: every form renders, and what a browser sends back parses to the same answers."""

from __future__ import annotations

import html
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader, select_autoescape
from werkzeug.datastructures import MultiDict

from rapidreview.forms import FieldError, Form, load_forms
from rapidreview.web.schema_forms import Field, build_fields, error_summary, iter_fields, parse_submission

ROOT = Path(__file__).resolve().parents[2]
FORMS = load_forms(ROOT / "forms")
ENV = Environment(
    loader=ChoiceLoader(
        [
            FileSystemLoader(ROOT / "rapidreview" / "web" / "templates"),
            PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
        ]
    ),
    autoescape=select_autoescape(["html"], default_for_string=True),
)
PAGE = ENV.from_string(
    '{% from "components/schema_form.html" import schema_fields %}'
    '<form method="post" novalidate>{{ schema_fields(fields) }}'
    '<button type="submit" name="action" value="submit" class="govuk-button">Submit</button></form>'
)


class Browser(HTMLParser):
    """What a browser makes of the page: its controls, labels and the data a submit would send."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.data: list[tuple[str, str]] = []
        self.controls: list[dict[str, str | None]] = []
        self.buttons: list[dict[str, str | None]] = []
        self.ids: list[str] = []
        self.label_for: set[str] = set()
        self.captions: list[str] = []  # label and legend texts
        self._text: list[str] | None = None
        self._textarea: dict[str, str | None] | None = None
        self._select: tuple[str, list[tuple[str, bool]]] | None = None
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(str(a["id"]))
        kind = a.get("type") or "text"
        if tag == "input" and kind == "submit" or tag == "button":
            self.buttons.append(a)
        elif tag == "input":
            self.controls.append(a)
            if kind not in ("checkbox", "radio") or "checked" in a:
                self.data.append((str(a["name"]), a.get("value") or ""))
        elif tag == "textarea":
            self.controls.append(a)
            self._textarea, self._text = a, []
        elif tag == "select":
            self.controls.append(a)
            self._select = (str(a["name"]), [])
        elif tag == "option" and self._select is not None:
            self._select[1].append((a.get("value") or "", "selected" in a))
        elif tag in ("label", "legend"):
            self._text = []
            if a.get("for"):
                self.label_for.add(str(a["for"]))

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None and self._text is not None:
            self.data.append((str(self._textarea["name"]), "".join(self._text)))
            self._textarea = self._text = None
        elif tag in ("label", "legend") and self._text is not None:
            self.captions.append(" ".join("".join(self._text).split()))
            self._text = None
        elif tag == "select" and self._select is not None:
            name, options = self._select
            chosen = [value for value, selected in options if selected] or [options[0][0]]
            self.data.append((name, chosen[0]))
            self._select = None

    def submit(self, button: str | None = None, **typed: str) -> MultiDict[str, str]:
        """The form data sent by clicking ``button`` (a form-action value), after typing into some inputs."""
        data = [(k, typed.pop(k) if k in typed else v) for k, v in self.data]
        data += list(typed.items())
        if button is not None:
            data.append(("form-action", button))
        return MultiDict(data)


def render(form: Form, answers: Any, errors: list[FieldError] | None = None) -> tuple[list[Field], str]:
    fields = build_fields(form.schema, form.registry, form.uischema, answers, errors or [])
    return fields, PAGE.render(fields=fields)


def round_trip(
    form: Form, answers: Any, button: str | None = None, **typed: str
) -> tuple[dict[str, Any], str | None]:
    _, page = render(form, answers)
    return parse_submission(form.schema, form.registry, Browser(page).submit(button, **typed))


def text_of(page: str) -> str:
    return " ".join(html.unescape(page).split())


# ---- every form ------------------------------------------------------------------------------------


@pytest.mark.parametrize("task_id", sorted(FORMS))
def test_each_top_level_field_appears_with_its_label(task_id: str) -> None:
    form = FORMS[task_id]
    fields, page = render(form, form.example())
    captions = Browser(page).captions
    for item in fields:
        assert any(c == item.label or c == f"{item.label} (optional)" for c in captions), item.label


@pytest.mark.parametrize("task_id", sorted(FORMS))
def test_example_answers_survive_the_round_trip(task_id: str) -> None:
    form = FORMS[task_id]
    answers, action = round_trip(form, form.example())
    assert action is None
    assert answers == form.example()
    assert form.validate(answers) == []


@pytest.mark.parametrize("task_id", sorted(FORMS))
def test_every_control_has_a_label_a_unique_id_and_no_autocomplete(task_id: str) -> None:
    form = FORMS[task_id]
    _, page = render(form, form.example(), form.validate({}))
    browser = Browser(page)
    assert [i for i, n in Counter(browser.ids).items() if n > 1] == []
    for control in browser.controls:
        if control.get("type") == "hidden":
            continue
        assert control.get("id") in browser.label_for, control
        if control.get("type") in (None, "text", "email") and control.get("name") is not None:
            assert control.get("autocomplete") == "off", control


@pytest.mark.parametrize("task_id", sorted(FORMS))
def test_errors_render_on_their_fields_and_the_summary_links_to_them(task_id: str) -> None:
    form = FORMS[task_id]
    errors = form.validate({})
    assert errors
    fields, page = render(form, {}, errors)
    browser = Browser(page)
    summary = error_summary(errors, fields)
    assert [item["text"] for item in summary] == [e.message for e in errors]  # the validator keeps form order
    for item in summary:
        assert item["href"].removeprefix("#") in browser.ids, item
    for field in iter_fields(fields):
        if field.error:
            assert f'id="{field.id}-error"' in page
            assert field.error in text_of(page)
    assert page.count("govuk-form-group--error") >= len(errors)


@pytest.mark.parametrize("task_id", sorted(t for t in FORMS if FORMS[t].uischema))
def test_fields_follow_the_uischema_order(task_id: str) -> None:
    form = FORMS[task_id]
    assert form.uischema is not None
    fields = build_fields(form.schema, form.registry, form.uischema, form.example(), [])
    assert [f.name for f in fields] == form.uischema["ui:order"]


# ---- kinds -----------------------------------------------------------------------------------------


def kinds(task_id: str) -> dict[str, str]:
    form = FORMS[task_id]
    fields = build_fields(form.schema, form.registry, form.uischema, form.example(), [])
    return {f.name: f.kind for f in iter_fields(fields)}


def test_each_schema_keyword_chooses_its_govuk_component() -> None:
    meeting = kinds("schedule_rapid_review_meeting")
    assert meeting["meeting_date"] == "date"
    assert meeting["meeting_time"] == "time"
    assert meeting["duration_minutes"] == "integer"
    assert meeting["attendees"] == "object_list"
    assert meeting["attendees/0"] == "object"
    assert meeting["attendees/0/email"] == "email"
    assert meeting["attendees/0/name"] == "text"
    commission = kinds("commission_rapid_review")
    assert commission["chair_type"] == "radios"
    assert commission["no_involvement_declared"] == "boolean"
    assert commission["immediate_safeguarding_actions"] == "textarea"
    outcomes = kinds("record_meeting_outcomes")
    assert outcomes["lcspr_grounds"] == "checkboxes"
    assert outcomes["key_lines_of_enquiry"] == "string_list"
    assert outcomes["key_lines_of_enquiry/0"] == "textarea"  # "items": {"ui:widget": "textarea"}
    # maxLength 100 and no widget: one line; the report forms' shared fields come through allOf + $ref.
    assert kinds("complete_information_sharing_form")["involvement_from"] == "text"
    assert kinds("prepare_draft_report")["harm_type"] == "radios"


def test_inputs_carry_the_right_type_and_inputmode() -> None:
    form = FORMS["schedule_rapid_review_meeting"]
    _, page = render(form, form.example())
    controls = {c["name"]: c for c in Browser(page).controls}
    assert controls["duration_minutes"]["inputmode"] == "numeric"
    assert controls["duration_minutes"]["type"] == "text"  # GOV.UK: never type=number
    assert controls["attendees/0/email"]["type"] == "email"
    assert controls["meeting_date-day"]["inputmode"] == "numeric"
    # The schema's ISO example becomes the day month year people type.
    assert "For example, 3 6 2026." in text_of(page)


def test_a_long_list_of_choices_becomes_a_select_and_the_uischema_can_say_otherwise() -> None:
    options = [f"option_{n}" for n in range(9)]
    schema = {
        "type": "object",
        "properties": {
            "long": {"type": "string", "title": "Long list", "enum": options},
            "forced": {"type": "string", "title": "Forced radios", "enum": options},
        },
    }
    form = Form("long_lists", schema, {"forced": {"ui:widget": "radio"}})
    fields, page = render(form, {"long": "option_4"})
    assert [f.kind for f in fields] == ["select", "radios"]
    assert '<option value="option_4" selected>' in page
    answers, _ = round_trip(form, {"long": "option_4", "forced": "option_8"})
    assert answers == {"long": "option_4", "forced": "option_8"}
    assert round_trip(form, {})[0] == {}  # the empty first option means "not answered"


def test_a_time_without_an_example_gets_one() -> None:
    schema = {
        "type": "object",
        "properties": {
            "at": {"type": "string", "title": "Time", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}
        },
    }
    (field,) = build_fields(schema, None, None, {}, [])
    assert (field.kind, field.hint, field.input_classes) == (
        "time",
        "For example, 14:30.",
        "govuk-input--width-5",
    )


def test_a_fresh_form_shows_the_schema_defaults() -> None:
    form = FORMS["schedule_rapid_review_meeting"]
    fields = build_fields(form.schema, form.registry, form.uischema, None, [])
    assert next(f for f in fields if f.name == "duration_minutes").value == "120"
    fields = build_fields(form.schema, form.registry, form.uischema, {}, [])
    assert next(f for f in fields if f.name == "duration_minutes").value == ""


def test_hints_say_when_a_conditional_question_is_needed() -> None:
    form = FORMS["sign_off_final_report"]
    fields = {f.name: f for f in build_fields(form.schema, form.registry, form.uischema, {}, [])}
    comments = fields["comments"]
    assert comments.hint is not None
    assert comments.hint.endswith(
        "Needed if you answer “No, send it back for changes” to “Do you approve the final report?”"
    )
    assert not comments.optional and not comments.required
    form = FORMS["commission_rapid_review"]
    fields = {f.name: f for f in build_fields(form.schema, form.registry, form.uischema, {}, [])}
    assert "Needed if" not in (fields["no_involvement_declared"].hint or "")  # always required anyway
    form = FORMS["record_meeting_outcomes"]
    fields = {f.name: f for f in build_fields(form.schema, form.registry, form.uischema, {}, [])}
    for name in ("lcspr_grounds", "key_lines_of_enquiry"):
        assert "Needed if you answer “Yes” to “Does the meeting recommend" in (fields[name].hint or "")
    assert fields["national_review_reason"].hint is not None
    assert "“Might a national review be appropriate?”" in fields["national_review_reason"].hint


def test_optional_questions_say_so_in_their_label() -> None:
    form = FORMS["incorporate_comments"]
    _, page = render(form, {})
    captions = Browser(page).captions
    assert "Comments received (optional)" in captions
    assert "Summary of changes" in captions
    assert "Child's ethnicity" in captions


def test_answer_text_reads_like_the_person_answered() -> None:
    form = FORMS["commission_rapid_review"]
    fields = {f.name: f for f in build_fields(form.schema, form.registry, form.uischema, form.example(), [])}
    assert fields["chair_type"].answer_text == "The partnership's Independent Chair (Scrutineer)"
    assert fields["no_involvement_declared"].answer_text == "Yes"
    form = FORMS["record_meeting_outcomes"]
    fields = {f.name: f for f in build_fields(form.schema, form.registry, form.uischema, form.example(), [])}
    assert fields["meeting_held_on"].answer_text == "3 June 2026"
    assert fields["lcspr_grounds"].answer_text == ""


# ---- parsing ---------------------------------------------------------------------------------------


def test_booleans_and_integers_parse_to_json_types() -> None:
    form = FORMS["consult_independent_chair"]
    assert round_trip(form, {}, regional_lead_advice_sought="true")[0]["regional_lead_advice_sought"] is True
    assert (
        round_trip(form, {}, regional_lead_advice_sought="false")[0]["regional_lead_advice_sought"] is False
    )
    form = FORMS["schedule_rapid_review_meeting"]
    example = form.example()
    assert round_trip(form, example, duration_minutes=" 90 ")[0]["duration_minutes"] == 90
    assert round_trip(form, example, duration_minutes="1,000")[0]["duration_minutes"] == 1000


def test_a_number_that_is_not_one_is_kept_for_the_validator_to_explain() -> None:
    form = FORMS["schedule_rapid_review_meeting"]
    answers, _ = round_trip(form, form.example(), duration_minutes="two hours")
    assert answers["duration_minutes"] == "two hours"
    assert FieldError("duration_minutes", "Enter the length of the meeting as a whole number of minutes") in (
        form.validate(answers)
    )


def test_whitespace_only_answers_are_omitted_and_strings_stripped() -> None:
    form = FORMS["commission_rapid_review"]
    answers, _ = round_trip(form, form.example(), chair_name="   ", chair_role="  Chair \t")
    assert "chair_name" not in answers
    assert answers["chair_role"] == "Chair"
    assert FieldError("chair_name", "Enter the chair's full name") in form.validate(answers)


def test_textarea_line_breaks_are_stored_as_newlines() -> None:
    form = FORMS["record_criteria_view"]
    answers, _ = round_trip(form, form.example(), rationale="First line.\r\nSecond line.\r\n")
    assert answers["rationale"] == "First line.\nSecond line."


def test_times_are_tidied_into_hh_mm() -> None:
    form = FORMS["schedule_rapid_review_meeting"]
    assert round_trip(form, form.example(), meeting_time="9:30")[0]["meeting_time"] == "09:30"
    assert round_trip(form, form.example(), meeting_time="14.30")[0]["meeting_time"] == "14:30"
    assert round_trip(form, form.example(), meeting_time="25:00")[0]["meeting_time"] == "25:00"


def test_empty_checkboxes_and_lists_come_back_as_empty_lists() -> None:
    form = FORMS["prepare_draft_report"]
    example = form.example()
    example["parallel_processes"] = []
    answers, _ = round_trip(form, example)
    assert answers["parallel_processes"] == []


# ---- dates -----------------------------------------------------------------------------------------


def test_30_february_stays_invalid_and_the_summary_links_to_the_day() -> None:
    form = FORMS["schedule_rapid_review_meeting"]
    answers, _ = round_trip(
        form,
        form.example(),
        **{"meeting_date-day": "30", "meeting_date-month": "2", "meeting_date-year": "2026"},
    )
    assert answers["meeting_date"] == "2026-02-30"
    errors = form.validate(answers)
    message = "Date of the meeting must be a real date, like 2026-06-03"
    assert errors == [FieldError("meeting_date", message)]
    fields, page = render(form, answers, errors)
    assert error_summary(errors, fields) == [{"text": message, "href": "#meeting_date-day"}]
    controls = {c["name"]: c for c in Browser(page).controls}
    assert (controls["meeting_date-day"]["value"], controls["meeting_date-month"]["value"]) == ("30", "2")
    assert "govuk-input--error" in (controls["meeting_date-day"]["class"] or "")
    assert message in text_of(page)


def test_a_partial_date_is_never_dropped() -> None:
    form = FORMS["record_meeting_outcomes"]
    answers, _ = round_trip(form, form.example(), **{"meeting_held_on-year": ""})
    assert answers["meeting_held_on"] == "-6-3"
    assert [e.field for e in form.validate(answers)] == ["meeting_held_on"]
    _, page = render(form, answers)
    controls = {c["name"]: c for c in Browser(page).controls}
    assert [controls[f"meeting_held_on-{p}"]["value"] for p in ("day", "month", "year")] == ["3", "6", ""]
    answers, _ = round_trip(form, form.example(), **{"meeting_held_on-year": "26"})
    assert form.validate(answers)  # a two-digit year is not quietly read as year 26


def test_month_names_are_understood() -> None:
    form = FORMS["record_meeting_outcomes"]
    answers, _ = round_trip(form, form.example(), **{"meeting_held_on-month": "June"})
    assert answers["meeting_held_on"] == "2026-06-03"


# ---- repeating groups ------------------------------------------------------------------------------


def test_add_another_keeps_everything_typed_and_shows_a_new_row() -> None:
    form = FORMS["share_agency_list"]
    example = form.example()
    answers, action = round_trip(form, example, "add:agencies", **{"agencies/0/name": "Oak Primary Academy"})
    assert action == "add:agencies"
    assert len(answers["agencies"]) == 4 and answers["agencies"][3] == {}
    assert answers["agencies"][0]["name"] == "Oak Primary Academy"
    assert answers["agencies"][1:3] == example["agencies"][1:3]
    _, page = render(form, answers)
    assert 'name="agencies/3/id"' in page
    # The new row, left blank, is not an answer when the form is submitted.
    assert round_trip(form, answers)[0]["agencies"] == answers["agencies"][:3]


def test_remove_takes_out_that_row_only() -> None:
    form = FORMS["share_agency_list"]
    example = form.example()
    answers, action = round_trip(form, example, "remove:agencies:1", **{"agencies/2/contact_name": "Dr Bell"})
    assert action == "remove:agencies:1"
    assert answers["agencies"] == [
        example["agencies"][0],
        {**example["agencies"][2], "contact_name": "Dr Bell"},
    ]


def test_rows_being_typed_survive_add_and_remove() -> None:
    form = FORMS["share_agency_list"]
    answers, _ = round_trip(form, form.example(), "add:agencies")
    answers, _ = round_trip(form, answers, "remove:agencies:0", **{"agencies/3/name": "New School"})
    assert [row.get("name") for row in answers["agencies"]] == [
        "Northbridge Health Visiting Service",
        "Riverside GP Practice",
        "New School",
    ]


def test_remove_buttons_name_their_row_and_appear_only_with_more_than_one_row() -> None:
    form = FORMS["share_agency_list"]
    _, page = render(form, form.example())
    buttons = [b["value"] for b in Browser(page).buttons if b.get("name") == "form-action"]
    assert buttons == ["remove:agencies:0", "remove:agencies:1", "remove:agencies:2", "add:agencies"]
    assert 'Remove<span class="govuk-visually-hidden"> agency 2</span>' in page
    assert "Add another agency" in page
    _, page = render(form, {"agencies": [form.example()["agencies"][0]]})
    assert [b["value"] for b in Browser(page).buttons if b.get("name") == "form-action"] == ["add:agencies"]
    full = {"agencies": [{"id": f"a{n}", "name": "A"} for n in range(40)]}  # maxItems 40
    _, page = render(form, full)
    assert "add:agencies" not in page


def test_pressing_enter_submits_the_form_rather_than_removing_a_row() -> None:
    # Implicit submission uses the first submit button in the form.
    form = FORMS["share_agency_list"]
    _, page = render(form, form.example())
    first = Browser(page).buttons[0]
    assert first.get("name") is None and first.get("tabindex") == "-1"


def test_a_list_of_strings_starts_with_one_empty_row_and_grows() -> None:
    form = FORMS["record_meeting_outcomes"]
    example = form.example()
    _, page = render(form, example)
    assert 'name="key_lines_of_enquiry/0"' in page and 'name="key_lines_of_enquiry/1"' not in page
    answers, _ = round_trip(form, example, "add:key_lines_of_enquiry", **{"key_lines_of_enquiry/0": "Why?"})
    assert answers["key_lines_of_enquiry"] == ["Why?", ""]
    answers, action = round_trip(form, answers, **{"key_lines_of_enquiry/1": "  "})
    assert action is None
    assert answers["key_lines_of_enquiry"] == ["Why?"]
    answers, _ = round_trip(form, example, "add:key_lines_of_enquiry")
    assert answers["key_lines_of_enquiry"] == ["", ""]


def test_an_empty_required_list_links_its_error_to_the_first_row() -> None:
    form = FORMS["share_agency_list"]
    answers, _ = round_trip(form, {})
    assert answers == {"agencies": []}
    errors = form.validate(answers)
    fields, page = render(form, answers, errors)
    assert error_summary(errors, fields) == [{"text": "Add at least one agency", "href": "#agencies-0-id"}]
    assert 'id="agencies-error"' in page


def test_errors_inside_rows_are_shown_on_the_row_in_form_order() -> None:
    form = FORMS["share_agency_list"]
    answers = {
        "agencies": [
            {"id": "oak", "name": "Oak", "contact_email": "oak@example.org", "manager_email": "bad"},
            {
                "id": "oak",
                "name": "Oak 2",
                "contact_email": "x@example.org",
                "manager_email": "y@example.org",
            },
        ]
    }
    errors = form.validate(answers)
    fields, page = render(form, answers, errors)
    hrefs = [item["href"] for item in error_summary(errors, fields)]
    assert hrefs == ["#agencies-0-manager_email", "#agencies-1-id"]
    assert "This agency is already in the list: choose it once" in text_of(page)


def test_an_error_below_a_field_goes_to_the_field_and_one_for_no_field_comes_first() -> None:
    form = FORMS["record_meeting_outcomes"]
    errors = [
        FieldError("lcspr_grounds/0", "Select grounds from the list"),
        FieldError("surprise", "Remove 'surprise': it is not a question on this form"),
    ]
    fields = build_fields(form.schema, form.registry, form.uischema, form.example(), errors)
    assert error_summary(errors, fields) == [
        {"text": "Remove 'surprise': it is not a question on this form"},
        {"text": "Select grounds from the list", "href": "#lcspr_grounds"},
    ]
    assert next(f for f in fields if f.name == "lcspr_grounds").error == "Select grounds from the list"


def test_an_unknown_form_action_is_a_normal_submit() -> None:
    form = FORMS["share_agency_list"]
    for action in ("save", "add:nothing", "remove:agencies:x", "add:agencies/0/name"):
        assert round_trip(form, form.example(), action)[1] is None


# ---- escaping --------------------------------------------------------------------------------------


def test_values_are_html_escaped() -> None:
    form = FORMS["commission_rapid_review"]
    script = "<script>alert(1)</script>"
    answers = {**form.example(), "chair_name": script, "immediate_safeguarding_actions": script}
    fields, page = render(form, answers, [FieldError("chair_name", script)])
    assert "<script>" not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3  # input, textarea, error message
    assert round_trip(form, answers)[0] == answers
