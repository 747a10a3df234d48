import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import jinja2
import pytest
from jinja2 import meta
from jsonschema import Draft202012Validator

from rapidreview.forms import (
    EMAIL_MESSAGE,
    FieldError,
    Form,
    FormError,
    example_answers,
    load_forms,
    load_registry,
    load_schema,
    validate_answers,
)

ROOT = Path(__file__).resolve().parent.parent
FORMS_DIR = ROOT / "forms"
EMAIL_DIR = ROOT / "templates" / "email"

USER_TASKS = [
    "record_criteria_view",
    "consult_independent_chair",
    "commission_rapid_review",
    "share_agency_list",
    "schedule_rapid_review_meeting",
    "complete_information_sharing_form",
    "quality_assure_information_sharing_form",
    "prepare_draft_report",
    "record_meeting_outcomes",
    "prepare_final_draft",
    "incorporate_comments",
    "sign_off_final_report",
    "submit_to_national_panel",
    "confirm_decision_record",
    "change_rapid_review_meeting",  # not a task: the form of the case action that moves or cancels the meeting
]
REPORT_FORMS = ["prepare_draft_report", "prepare_final_draft", "incorporate_comments"]
RESERVED_NAMES = {
    "day",
    "working_days_after",
    "london_time",
    "now",
    "len",
    "all",
    "any",
    "sorted",
    "min",
    "max",
    "sum",
    "str",
    "int",
    "bool",
    "list",
    "dict",
    "set",
    "round",
    "abs",
}
EMAIL_TEMPLATES = [
    "information_sharing_request",
    "information_sharing_reminder",
    "information_sharing_escalation",
    "draft_report_circulated",
    "final_draft_for_comments",
    "sign_off_requested",
    "national_panel_submission",
    "deadline_at_risk",
    "deadline_missed",
    "national_panel_decision",
    "meeting_invitation",
    "meeting_update",
    "meeting_cancellation",
    "information_returned",
    "information_complete",
    "sign_off_reminder",
    "submission_due_today",
    "test_message",
]
# What a case's e-mail may use (operators.Operators.email_context gives exactly these).
EMAIL_VARIABLES = {"case", "agency", "meeting", "link", "partnership_name", "chair_name", "due", "partner_name",
                   "national_panel_address", "submission"}

SCHEMA_FILES = sorted(p.name for p in FORMS_DIR.glob("*.schema.json"))


@pytest.fixture(scope="module")
def forms() -> dict[str, Form]:
    return load_forms(FORMS_DIR)


def read(filename: str) -> dict[str, Any]:
    return json.loads((FORMS_DIR / filename).read_text(encoding="utf-8"))


def errors_for(form: Form, **changes: Any) -> dict[str, str]:
    answers = form.example()
    for name, value in changes.items():
        if value is None:
            answers.pop(name, None)
        else:
            answers[name] = value
    return {error.field: error.message for error in form.validate(answers)}


def walk_properties(schema: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every (name, subschema) under any "properties" in the schema, however deep."""
    found = []
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                for name, sub in value.items():
                    found.append((name, sub))
                    found.extend(walk_properties(sub))
            elif key != "examples":
                found.extend(walk_properties(value))
    elif isinstance(schema, list):
        for item in schema:
            found.extend(walk_properties(item))
    return found


# ---- the schema files ------------------------------------------------------------------------------


def test_there_is_a_form_for_every_user_task(forms: dict[str, Form]) -> None:
    assert sorted(forms) == sorted(USER_TASKS)


@pytest.mark.parametrize("filename", SCHEMA_FILES)
def test_every_schema_is_a_valid_2020_12_schema_named_by_its_file(filename: str) -> None:
    schema = read(filename)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == filename
    assert schema["type"] == "object"
    assert schema["title"] and schema["description"]


@pytest.mark.parametrize("filename", SCHEMA_FILES)
def test_every_example_is_a_valid_answer(filename: str) -> None:
    schema = load_schema(FORMS_DIR, filename)
    assert validate_answers(schema, example_answers(schema)) == []


@pytest.mark.parametrize("filename", SCHEMA_FILES)
def test_every_field_has_a_title_and_a_hint(filename: str) -> None:
    for name, sub in walk_properties(read(filename)):
        if "type" in sub:  # conditional rules restate a field without describing it again
            assert sub.get("title") and sub.get("description"), f"{filename}: {name}"


@pytest.mark.parametrize("filename", SCHEMA_FILES)
def test_every_field_that_can_be_required_has_its_own_error_message(filename: str) -> None:
    schema = read(filename)
    described = {name: sub for name, sub in walk_properties(schema) if "type" in sub}

    def required_lists(node: Any) -> list[list[str]]:
        if isinstance(node, dict):
            lists = [node["required"]] if isinstance(node.get("required"), list) else []
            return lists + [
                x for k, v in node.items() if k not in ("if", "examples") for x in required_lists(v)
            ]
        if isinstance(node, list):
            return [x for item in node for x in required_lists(item)]
        return []

    for names in required_lists(schema):
        for name in names:
            assert described[name].get("x-error-messages", {}).get("required"), f"{filename}: {name}"


@pytest.mark.parametrize("filename", SCHEMA_FILES)
def test_no_field_uses_a_reserved_name(filename: str) -> None:
    names = {name for name, _ in walk_properties(read(filename))}
    assert names & RESERVED_NAMES == set()


@pytest.mark.parametrize("filename", SCHEMA_FILES)
def test_choices_have_a_label_for_every_value(filename: str) -> None:
    for name, sub in walk_properties(read(filename)):
        for choice in (sub, sub.get("items", {})):
            if "enum" in choice:
                assert list(choice["x-enum-labels"]) == choice["enum"], f"{filename}: {name}"


@pytest.mark.parametrize("task_id", USER_TASKS)
def test_the_ui_schema_orders_exactly_the_fields_of_its_form(forms: dict[str, Form], task_id: str) -> None:
    form = forms[task_id]
    assert form.uischema is not None
    fields = set(form.schema["properties"])
    if task_id in REPORT_FORMS:
        fields |= set(read("report_content.schema.json")["properties"])
    assert sorted(form.uischema["ui:order"]) == sorted(fields)


def test_the_report_forms_share_the_report_content_through_ref(forms: dict[str, Form]) -> None:
    report_fields = set(read("report_content.schema.json")["properties"])
    for task_id in REPORT_FORMS:
        form = forms[task_id]
        assert form.schema["allOf"][0] == {"$ref": "report_content.schema.json"}
        assert form.schema["unevaluatedProperties"] is False
        assert report_fields <= set(form.example())
        assert errors_for(form, child_ethnicity=None)["child_ethnicity"] == "Enter the child's ethnicity"
        assert "Remove 'nickname'" in errors_for(form, nickname="M")["nickname"]


def test_only_the_draft_report_asks_for_the_chairs_provisional_view(forms: dict[str, Form]) -> None:
    assert errors_for(forms["prepare_draft_report"], provisional_view="Likely to be met") == {}
    assert "provisional_view" in errors_for(forms["prepare_final_draft"], provisional_view="Likely")
    assert "provisional_view" not in read("report_content.schema.json")["properties"]


def test_an_unresolvable_ref_is_reported_with_the_file_name(tmp_path: Path) -> None:
    (tmp_path / "broken.schema.json").write_text(
        json.dumps(
            {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "allOf": [{"$ref": "missing.schema.json"}],
            }
        )
    )
    with pytest.raises(FormError, match="broken.schema.json"):
        load_forms(tmp_path)


def test_a_file_that_is_not_json_is_reported_with_the_file_name(tmp_path: Path) -> None:
    (tmp_path / "oops.schema.json").write_text("{not json")
    with pytest.raises(FormError, match="oops.schema.json"):
        load_registry(tmp_path)


def test_an_invalid_schema_is_reported_with_the_file_name(tmp_path: Path) -> None:
    (tmp_path / "bad.schema.json").write_text(json.dumps({"type": "thing"}))
    with pytest.raises(FormError, match="bad.schema.json"):
        load_schema(tmp_path, "bad.schema.json")


def test_example_answers_are_a_copy_that_can_be_changed_safely(forms: dict[str, Form]) -> None:
    form = forms["share_agency_list"]
    answers = form.example()
    answers["agencies"][0]["name"] = "Changed"
    assert form.schema["examples"][0]["agencies"][0]["name"] == "Oak Primary School"


# ---- plain-English messages ------------------------------------------------------------------------


def test_missing_answers_say_what_to_enter_or_select(forms: dict[str, Form]) -> None:
    errors = forms["record_criteria_view"].validate({})
    assert errors == [
        FieldError("criteria_met", "Select whether the criteria are met"),
        FieldError("rationale", "Enter the rationale"),
        FieldError(
            "immediate_action_needed", "Select whether immediate action is needed to keep any child safe"
        ),
    ]


def test_an_empty_text_answer_counts_as_missing(forms: dict[str, Form]) -> None:
    assert errors_for(forms["record_criteria_view"], rationale="") == {"rationale": "Enter the rationale"}


def test_a_choice_that_is_not_on_the_list_is_rejected(forms: dict[str, Form]) -> None:
    errors = errors_for(forms["record_criteria_view"], criteria_met="maybe")
    assert errors == {"criteria_met": "Select whether the criteria are met"}


def test_a_badly_formed_email_address_is_rejected_at_its_place_in_the_list(forms: dict[str, Form]) -> None:
    form = forms["share_agency_list"]
    for bad in ("name@example", "name.example.com", "name@@example.com", "name@example..com", "a b@x.org"):
        answers = form.example()
        answers["agencies"][1]["contact_email"] = bad
        assert form.validate(answers) == [FieldError("agencies/1/contact_email", EMAIL_MESSAGE)], bad


def test_a_missing_answer_in_a_list_names_the_item(forms: dict[str, Form]) -> None:
    answers = forms["share_agency_list"].example()
    answers["agencies"][2]["kind"] = "castle"
    [error] = forms["share_agency_list"].validate(answers)
    assert error.field == "agencies/2/kind"


def test_two_agencies_cannot_share_an_id(forms: dict[str, Form]) -> None:
    answers = forms["share_agency_list"].example()
    answers["agencies"][2]["id"] = answers["agencies"][0]["id"]
    assert forms["share_agency_list"].validate(answers) == [
        FieldError("agencies/2/id", "This agency is already in the list: choose it once")
    ]


def test_an_impossible_or_badly_written_date_is_rejected(forms: dict[str, Form]) -> None:
    form = forms["schedule_rapid_review_meeting"]
    for bad in ("2026-02-30", "03/06/2026", "2026-6-3"):
        assert errors_for(form, meeting_date=bad) == {
            "meeting_date": "Date of the meeting must be a real date, like 2026-06-03"
        }, bad


def test_the_meeting_time_must_use_the_24_hour_clock(forms: dict[str, Form]) -> None:
    form = forms["schedule_rapid_review_meeting"]
    assert errors_for(form, meeting_time="14:30") == {}
    assert errors_for(form, meeting_time="9:00") == {
        "meeting_time": "Enter the start time using the 24-hour clock, like 14:30"
    }


def test_the_meeting_length_must_be_between_30_and_480_minutes(forms: dict[str, Form]) -> None:
    form = forms["schedule_rapid_review_meeting"]
    assert errors_for(form, duration_minutes=20) == {
        "duration_minutes": "The meeting must be between 30 and 480 minutes long"
    }
    assert form.schema["properties"]["duration_minutes"]["default"] == 120


def test_long_text_has_a_limit(forms: dict[str, Form]) -> None:
    errors = errors_for(forms["record_criteria_view"], rationale="x" * 10_001)
    assert errors == {"rationale": "Rationale must be 10000 characters or fewer"}


def test_an_answer_the_form_does_not_ask_for_is_rejected(forms: dict[str, Form]) -> None:
    errors = errors_for(forms["record_criteria_view"], child_name="M")
    assert errors == {"child_name": "Remove 'child_name': it is not a question on this form"}


# ---- conditional rules -----------------------------------------------------------------------------


@pytest.mark.parametrize("task_id", ["quality_assure_information_sharing_form", "sign_off_final_report"])
def test_sending_back_without_comments_is_rejected(forms: dict[str, Form], task_id: str) -> None:
    expected = {"comments": "Enter comments explaining what needs to change"}
    assert errors_for(forms[task_id], decision="return", comments=None) == expected
    assert errors_for(forms[task_id], decision="return", comments="") == expected
    assert errors_for(forms[task_id], decision="return", comments="Check the dates") == {}
    assert errors_for(forms[task_id], decision="approve", comments=None) == {}


def test_approving_the_final_report_ratifies_the_recommendation(forms: dict[str, Form]) -> None:
    form = forms["sign_off_final_report"]
    assert "lcspr_recommendation_ratified" in errors_for(form, lcspr_recommendation_ratified=False)
    assert errors_for(form, decision="return", lcspr_recommendation_ratified=False) == {}


def test_a_senior_leader_chair_must_declare_no_involvement(forms: dict[str, Form]) -> None:
    form = forms["commission_rapid_review"]
    assert errors_for(form, chair_type="senior_leader") == {}
    assert "no_involvement_declared" in errors_for(
        form, chair_type="senior_leader", no_involvement_declared=False
    )
    assert errors_for(form, chair_type="independent_chair", no_involvement_declared=False) == {}


def test_advice_from_the_regional_lead_is_needed_when_it_was_sought(forms: dict[str, Form]) -> None:
    form = forms["consult_independent_chair"]
    assert errors_for(form, regional_lead_advice=None) == {
        "regional_lead_advice": "Enter the advice from the Regional Lead"
    }
    assert errors_for(form, regional_lead_advice_sought=False, regional_lead_advice=None) == {}


def test_recommending_a_local_review_needs_grounds_and_key_lines_of_enquiry(forms: dict[str, Form]) -> None:
    form = forms["record_meeting_outcomes"]
    assert errors_for(form, lcspr_recommended=True, lcspr_grounds=[], key_lines_of_enquiry=None) == {
        "lcspr_grounds": "Select at least one ground for a local review",
        "key_lines_of_enquiry": "Add at least one key line of enquiry",
    }
    assert errors_for(form, lcspr_recommended=False, lcspr_grounds=[], key_lines_of_enquiry=[]) == {}
    assert errors_for(form, lcspr_recommended=True, lcspr_grounds=["reg11_a_improvements"],
                      key_lines_of_enquiry=["", "How did agencies share information?"]) == {
        "key_lines_of_enquiry/0": "Enter the key line of enquiry, or remove it"
    }


def test_a_national_review_recommendation_needs_a_reason(forms: dict[str, Form]) -> None:
    form = forms["record_meeting_outcomes"]
    assert errors_for(form, national_review_recommended=True) == {
        "national_review_reason": "Enter why a national review might be appropriate"
    }


# ---- e-mail templates ------------------------------------------------------------------------------

EMAIL_CONTEXT = {
    "case": {"reference": "RR-2026-014", "day_one": "22 May 2026", "deadline": "12 June 2026", "day": 6,
             "days": {n: f"Day {n} date" for n in range(1, 16)}},
    "agency": {"id": "oak-primary", "name": "Oak Primary School"},
    "meeting": {"starts_at": "Wednesday 3 June 2026 at 10:00", "location": "Microsoft Teams",
                "previous_starts_at": "Tuesday 2 June 2026 at 14:00", "for_everyone": True},
    "link": "https://rapidreview.example/cases/RR-2026-014",
    "partnership_name": "Northbridge Safeguarding Children Partnership",
    "chair_name": "Dr Helen Osei",
    # As in e-mails: an element whose time is not known yet is None (services.moments).
    "due": defaultdict(lambda: None, {element: {"at": "12pm on Tuesday 2 June 2026 (Day 8)", "day": 8, "time": "12pm",
                                                "date": "Tuesday 2 June 2026"}
                                      for element in ("prepare_draft_report", "sign_off_final_report",
                                                      "submit_to_national_panel", "comment_window_closes", "complete_information_sharing_form",
                                                          "information_sharing_closed")}),
    "partner_name": "Police",
    "national_panel_address": "mailbox@nationalpanel.example",
    "submission": {"covering_note": "", "completed_by_name": "Pat Manager"},
}


@pytest.mark.parametrize("name", EMAIL_TEMPLATES)
def test_every_email_has_a_subject_line_a_blank_line_and_a_body(name: str) -> None:
    source = (EMAIL_DIR / f"{name}.txt").read_text(encoding="utf-8")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    assert meta.find_undeclared_variables(env.parse(source)) <= EMAIL_VARIABLES
    subject, blank, *body = env.from_string(source).render(EMAIL_CONTEXT).split("\n")
    assert subject.startswith("Subject: ") and blank == "" and "".join(body).strip()
    if name != "test_message":
        assert "RR-2026-014" in subject
    assert "Oak Primary School" not in subject
    assert "Child M" not in source


# A person's own notices (notifications.py) are not a case's e-mails: they speak of one task, or list several.
PERSONAL_TEMPLATES = {"your_turn": {"case", "task", "partnership_name"},
                      "task_overdue": {"case", "task", "partnership_name"},
                      "task_digest": {"tasks", "name", "partnership_name"}}
TASK_CONTEXT = {"case": {"reference": "RR-2026-014", "day": 6, "deadline": "Friday 12 June 2026"},
                "task": {"name": "Complete the information sharing form", "agency": "Oak Primary School",
                         "partner": None, "due": {"at": "5pm on Tuesday 2 June 2026", "day": 7},
                         "link": "https://rapidreview.example/tasks/7"},
                "partnership_name": "Northbridge Safeguarding Children Partnership"}


# An invitation to agency staff without an account, and the note to the Partnership Manager that one lapsed.
INVITATION_TEMPLATES = {"agency_invitation": {"case", "agency", "link", "partnership_name", "name", "invitation"},
                        "invitation_lapsed": {"case", "agency", "link", "partnership_name", "invitation"}}
INVITATION_CONTEXT = {"case": {"reference": "RR-2026-014"}, "agency": {"name": "Oak Primary School"},
                      "link": "https://rapidreview.example/invitation/abc", "partnership_name": "Northbridge",
                      "name": "Nia Jones",
                      "invitation": {"role": "agency_manager", "expires": "9am on Wednesday 3 June 2026",
                                     "contact_email": "pm@northbridge.example", "providers": [],
                                     "person": "Nia Jones", "email": "nia@oak.example"}}


def test_every_email_template_is_known_to_these_tests() -> None:
    on_disk = {p.stem for p in EMAIL_DIR.glob("*.txt")}
    assert on_disk == set(EMAIL_TEMPLATES) | set(PERSONAL_TEMPLATES) | set(INVITATION_TEMPLATES)


@pytest.mark.parametrize("name", sorted(INVITATION_TEMPLATES))
def test_an_invitation_names_the_case_by_reference_and_the_agency_only_in_its_body(name: str) -> None:
    source = (EMAIL_DIR / f"{name}.txt").read_text(encoding="utf-8")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    assert meta.find_undeclared_variables(env.parse(source)) <= INVITATION_TEMPLATES[name]
    subject, blank, *body = env.from_string(source).render(INVITATION_CONTEXT).split("\n")
    assert subject.startswith("Subject: ") and "RR-2026-014" in subject and blank == ""
    assert "Oak Primary School" not in subject and "Oak Primary School" in "\n".join(body)
    assert "https://rapidreview.example/invitation/abc" in "\n".join(body) or name == "invitation_lapsed"


@pytest.mark.parametrize("name", sorted(PERSONAL_TEMPLATES))
def test_a_persons_notice_uses_only_its_own_variables_and_no_case_detail_in_the_subject(name: str) -> None:
    source = (EMAIL_DIR / f"{name}.txt").read_text(encoding="utf-8")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    assert meta.find_undeclared_variables(env.parse(source)) <= PERSONAL_TEMPLATES[name]
    context = ({"tasks": [TASK_CONTEXT, TASK_CONTEXT], "name": "Sam Agency", "partnership_name": "Northbridge"}
               if name == "task_digest" else TASK_CONTEXT)
    subject, blank, *body = env.from_string(source).render(context).split("\n")
    assert subject.startswith("Subject: ") and blank == ""
    assert "Oak Primary School" not in subject and "Oak Primary School" in "\n".join(body)
    assert "https://rapidreview.example/tasks/7" in "\n".join(body)
