"""Validating a process version: each broken file is refused with a message naming the element to fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rapidreview.calendar import WorkingCalendar
from rapidreview.cli import main
from rapidreview.config import PROJECT_ROOT, Settings
from rapidreview.services.definitions.process_versions import files_from_paths
from rapidreview.services.definitions.validation import Problem, validate_files

MAIN, CALLED = "bpmn/rapid_review.bpmn", "bpmn/information_sharing.bpmn"


@pytest.fixture(scope="module")
def calendar() -> WorkingCalendar:
    settings = Settings()
    return WorkingCalendar.from_settings(settings.bank_holidays_file, settings.closure_dates)


@pytest.fixture
def files() -> dict[str, bytes]:
    return files_from_paths([PROJECT_ROOT / "bpmn"], PROJECT_ROOT / "forms")


def edit(files: dict[str, bytes], path: str, old: str, new: str, count: int = 1) -> dict[str, bytes]:
    text = files[path].decode()
    assert old in text, f"{old!r} is not in {path}"
    return {**files, path: text.replace(old, new, count).encode()}


def problems(files: dict[str, bytes], calendar: WorkingCalendar) -> list[Problem]:
    return validate_files(files, calendar, lint=False)


def only(found: list[Problem]) -> Problem:
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


def test_the_bundled_process_passes_every_check_including_bpmnlint(files: dict[str, bytes], calendar: WorkingCalendar) -> None:
    assert validate_files(files, calendar, lint=True) == []


def test_an_external_entity_is_refused_before_the_file_is_read(files: dict[str, bytes], calendar: WorkingCalendar) -> None:
    evil = edit(files, CALLED, '<?xml version="1.0" encoding="UTF-8"?>',
                '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE d [<!ENTITY secret SYSTEM "file:///etc/passwd">]>')
    problem = only(problems(evil, calendar))
    assert problem.file == "information_sharing.bpmn" and "DOCTYPE" in problem.message


def test_xml_that_is_not_well_formed_names_the_file(files: dict[str, bytes], calendar: WorkingCalendar) -> None:
    broken = edit(files, MAIN, "</bpmn:definitions>", "")
    problem = only(problems(broken, calendar))
    assert problem.file == "rapid_review.bpmn" and "not well-formed" in problem.message


def test_a_user_task_whose_form_is_missing_is_named(files: dict[str, bytes], calendar: WorkingCalendar) -> None:
    del files["forms/record_meeting_outcomes.schema.json"]
    problem = only(problems(files, calendar))
    assert (problem.file, problem.element_id) == ("rapid_review.bpmn", "record_meeting_outcomes")
    assert problem.element_name and "record_meeting_outcomes.schema.json is not in the version" in problem.message


def test_a_form_without_an_example_answer_is_named(files: dict[str, bytes], calendar: WorkingCalendar) -> None:
    schema = files["forms/consult_independent_chair.schema.json"].decode()
    files["forms/consult_independent_chair.schema.json"] = re.sub(r'"examples"', '"x-examples"', schema).encode()
    problem = only(problems(files, calendar))
    assert problem.element_id == "consult_independent_chair" and "no example answer" in problem.message


def test_a_lane_that_is_not_a_role_is_named_with_the_roles_to_choose_from(files: dict[str, bytes],
                                                                          calendar: WorkingCalendar) -> None:
    renamed = edit(files, CALLED, 'name="Agency manager"', 'name="Agency boss"')
    problem = only(problems(renamed, calendar))
    assert (problem.element_id, problem.element_name) == ("lane_agency_manager", "Agency boss")
    assert "Agency manager" in problem.message


def test_an_unknown_service_operator_is_named(files: dict[str, bytes], calendar: WorkingCalendar) -> None:
    changed = edit(files, MAIN, 'serviceTaskOperator id="invite_to_meeting"', 'serviceTaskOperator id="invite_to_party"')
    problem = only(problems(changed, calendar))
    assert problem.file == "rapid_review.bpmn" and problem.element_id and problem.element_name
    assert "unknown service operator 'invite_to_party'" in problem.message and "send_email" in problem.message


def test_a_service_task_missing_a_parameter_or_with_a_broken_one_is_named(files: dict[str, bytes],
                                                                          calendar: WorkingCalendar) -> None:
    changed = edit(files, CALLED, '''<spiffworkflow:parameter id="to" type="list" value="[agency['contact_email']]"/>''', "")
    changed = edit(changed, MAIN, "value=\"'deadline_missed'\"", "value=\"deadline missed'\"")
    found = sorted(problems(changed, calendar), key=str)
    assert [(p.file, p.message.split(" (")[0]) for p in found] == [
        ("information_sharing.bpmn", "operator send_email needs the parameter(s) to"),
        ("rapid_review.bpmn", "parameter template of send_email is not a valid expression")]


def test_scripts_and_conditions_that_do_not_compile_are_named(files: dict[str, bytes], calendar: WorkingCalendar) -> None:
    changed = edit(files, MAIN, 'case_outcome = "submitted"', 'case_outcome = = "submitted"')
    changed = edit(changed, MAIN, 'case_outcome == "not_commissioned"', 'case_outcome == "not_commissioned" and')
    found = problems(changed, calendar)
    assert {p.element_id for p in found} >= {"set_outcome_submitted"}
    assert any("the condition" in p.message for p in found), [str(p) for p in found]


def test_a_timer_expression_that_fails_on_a_sample_case_is_named(files: dict[str, bytes], calendar: WorkingCalendar) -> None:
    changed = edit(files, CALLED, 'day(8, "09:00")</bpmn:timeDate>', 'days(8, "09:00")</bpmn:timeDate>')
    problem = only(problems(changed, calendar))
    assert problem.element_id == "information_sharing_closed" and "days(8" in problem.message
    assert 'write day(8, "09:00")' in problem.message and "not defined" not in problem.message


def test_a_timer_without_a_utc_offset_is_refused(files: dict[str, bytes], calendar: WorkingCalendar) -> None:
    changed = edit(files, MAIN, 'day(12, "09:00")</bpmn:timeDate>', '"2026-06-09T09:00:00"</bpmn:timeDate>')
    problem = only(problems(changed, calendar))
    assert problem.element_id == "deadline_at_risk" and "without its time zone" in problem.message
    assert 'day(7, "17:00")' in problem.message and 'london_time("2026-06-09", "09:00")' in problem.message


def test_an_element_missing_from_the_diagram_is_named(files: dict[str, bytes], calendar: WorkingCalendar) -> None:
    text = files[CALLED].decode()
    text, removed = re.subn(r'<bpmndi:BPMNShape id="[^"]*" bpmnElement="record_information_returned".*?</bpmndi:BPMNShape>',
                            "", text, flags=re.S)
    assert removed == 1
    problem = only(problems({**files, CALLED: text.encode()}, calendar))
    assert problem.element_id == "record_information_returned" and "no shape in the diagram" in problem.message


def test_validate_command_exits_1_and_lists_the_problems(tmp_path: Path, files: dict[str, bytes],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    changed = edit(files, MAIN, 'serviceTaskOperator id="create_document"', 'serviceTaskOperator id="make_document"')
    folder = tmp_path / "bpmn"
    folder.mkdir()
    for path in (MAIN, CALLED):
        (folder / Path(path).name).write_bytes(changed[path])
    assert main(["validate", str(folder), "--forms", str(PROJECT_ROOT / "forms"), "--no-lint"]) == 1
    err = capsys.readouterr().err
    assert "rapid_review.bpmn: create_draft_report (" in err and "unknown service operator 'make_document'" in err
    assert main(["validate", str(PROJECT_ROOT / "bpmn"), "--no-lint"]) == 0


def test_a_renamed_element_the_application_relies_on_is_refused_by_name(files: dict[str, bytes],
                                                                        calendar: WorkingCalendar) -> None:
    # A modeler renames the submission's service task everywhere it is named (the element, its flows, its shape).
    changed = {**files, MAIN: files[MAIN].decode().replace("email_national_panel", "send_to_panel").encode()}
    problem = only(problems(changed, calendar))
    assert problem.element_id == "email_national_panel"
    assert "relies on" in problem.message and "submitted" in problem.message


def test_every_contract_name_exists_in_the_bundled_process(files: dict[str, bytes]) -> None:
    from rapidreview.process_contract import DATA, missing_names

    text = "\n".join(c.decode() for c in files.values() if not c.startswith(b"PK"))
    ids = set(re.findall(r'\bid="([^"]+)"', text))
    assert missing_names(ids, set(DATA)) == []
    assert missing_names(ids - {"comment_window_closes"}, set(DATA) - {"sign_offs"}) == [
        ("comment_window_closes", "the comment window's close on the comments page and in e-mails"),
        ("sign_offs", "the sign-offs in the report and the completeness check")]


def test_the_data_names_the_process_sets_are_found_in_scripts_forms_and_multi_instance_activities(
        files: dict[str, bytes]) -> None:
    from rapidreview.services.definitions.validation import _read_xml, assigned_data_names

    roots = {p.split("/", 1)[1]: _read_xml(p, c)[0] for p, c in files.items() if p.endswith(".bpmn")}
    forms = {p.split("/", 1)[1]: c for p, c in files.items() if p.startswith("forms/")}
    names = assigned_data_names(roots, forms)
    assert {"meeting_starts_at", "agencies"} <= names  # assigned by script tasks
    assert {"criteria_views", "information_returns", "sign_offs", "agency", "agency_return"} <= names  # multi-instance
    assert {"chair_email", "meeting_date"} <= names  # questions of forms the user tasks show
    assert "partners" not in names  # only read, as a multi-instance input collection


def test_a_data_name_only_mentioned_in_documentation_is_refused_by_name(files: dict[str, bytes],
                                                                        calendar: WorkingCalendar) -> None:
    # The agencies' returns are collected under another name; information_returns is still written in the
    # process (its task pages' "show" lists, a note), but nothing sets it, so the report would have no returns.
    changed = edit(files, MAIN, "<bpmn:loopDataOutputRef>information_returns<",
                   "<bpmn:loopDataOutputRef>returns_by_agency<")
    changed = edit(changed, MAIN, '<bpmn:property id="information_returns" name="information_returns"/>',
                   '<bpmn:property id="returns_by_agency" name="returns_by_agency"/>')
    changed = edit(changed, MAIN, '<bpmn:callActivity id="collect_information" name="Collect each agency\'s '
                                  'Information Sharing Form" calledElement="information_sharing">',
                   '<bpmn:callActivity id="collect_information" name="Collect each agency\'s Information Sharing '
                   'Form" calledElement="information_sharing">\n<bpmn:documentation>Fills information_returns, '
                   'one per agency.</bpmn:documentation>')
    assert b"information_returns" in changed[MAIN]
    problem = only(problems(changed, calendar))
    assert problem.element_id == "information_returns"
    assert "relies on" in problem.message and "agencies' returns" in problem.message


def test_a_data_name_set_only_in_a_script_comment_is_refused_by_name(files: dict[str, bytes],
                                                                     calendar: WorkingCalendar) -> None:
    script = '<bpmn:script>agencies = {a["id"]: a for a in share_agency_list["agencies"]}</bpmn:script>'
    changed = edit(files, MAIN, script, '<bpmn:script>agency_by_id = {a["id"]: a for a in share_agency_list['
                                        '"agencies"]}  # was: agencies = ...</bpmn:script>')
    changed = edit(changed, MAIN, "<bpmn:loopDataInputRef>agencies<", "<bpmn:loopDataInputRef>agency_by_id<")
    changed = edit(changed, MAIN, '<bpmn:property id="agencies" name="agencies"/>',
                   '<bpmn:property id="agency_by_id" name="agency_by_id"/>')
    changed = edit(changed, "forms/share_agency_list.schema.json", '"agencies"', '"agency_list"', count=-1)
    found = problems(changed, calendar)
    assert [p.element_id for p in found if "relies on" in p.message] == ["agencies"], [str(p) for p in found]


# ---- mistakes a new process owner makes, each caught with words they can act on ----------------------


def with_email_templates(files: dict[str, bytes]) -> dict[str, bytes]:
    folder = PROJECT_ROOT / "templates" / "email"
    return {**files, **{f"templates/email/{p.name}": p.read_bytes() for p in folder.glob("*.txt")}}


def test_a_service_parameter_without_quotes_is_refused_naming_the_element_and_the_fix(
        files: dict[str, bytes], calendar: WorkingCalendar) -> None:
    changed = edit(files, CALLED, "value=\"'information_sharing_reminder'\"", 'value="information_sharing_reminder"')
    problem = only(problems(with_email_templates(changed), calendar))
    assert (problem.file, problem.element_id) == ("information_sharing.bpmn", "send_information_sharing_reminder")
    assert "without quotes" in problem.message and "write 'information_sharing_reminder'" in problem.message
    assert "there is an e-mail template called information_sharing_reminder" in problem.message


def test_a_misspelt_e_mail_template_is_refused_with_the_names_to_choose_from(
        files: dict[str, bytes], calendar: WorkingCalendar) -> None:
    changed = edit(files, CALLED, "'information_sharing_escalation'", "'information_sharing_escalaton'")
    problem = only(problems(with_email_templates(changed), calendar))
    assert problem.element_id == "escalate_information_sharing"
    assert "is not an e-mail template" in problem.message and "information_sharing_escalation" in problem.message


@pytest.mark.parametrize("written", ["Day 6 17:00", "day(6, 17:00)", "day 6 at 5pm"])
def test_a_due_date_written_as_words_or_without_quotes_gets_the_day_function_to_write(
        written: str, files: dict[str, bytes], calendar: WorkingCalendar) -> None:
    changed = edit(files, CALLED, 'name="due" value="day(7, &quot;17:00&quot;)"', f'name="due" value="{written}"')
    problem = only(problems(changed, calendar))
    assert problem.element_id == "complete_information_sharing_form"
    assert 'write day(6, "17:00")' in problem.message
    assert "syntax" not in problem.message and "not defined" not in problem.message


def test_a_timer_written_as_words_gets_the_same_advice_as_a_due_date(files: dict[str, bytes],
                                                                     calendar: WorkingCalendar) -> None:
    changed = edit(files, CALLED, 'day(7, "17:00")</bpmn:timeDate>', "Day 6 17:00</bpmn:timeDate>")
    problem = only(problems(changed, calendar))
    assert problem.element_id == "information_sharing_escalation" and 'write day(6, "17:00")' in problem.message


def test_a_condition_reading_data_nothing_sets_is_refused(files: dict[str, bytes], calendar: WorkingCalendar) -> None:
    changed = edit(files, CALLED, 'quality_assure_information_sharing_form["decision"] == "approve"',
                   'quality_assure_information_sharing_form["decision"] == approve')
    problem = only(problems(changed, calendar))
    assert "the condition uses approve, which nothing in the process sets" in problem.message
    assert "text needs quotes" in problem.message


def test_a_copy_of_a_process_under_another_file_name_is_named_with_the_file_name_to_use(
        files: dict[str, bytes], calendar: WorkingCalendar) -> None:
    copied = {**files, "bpmn/diagram.bpmn": files[CALLED]}
    problem = only(problems(copied, calendar))
    assert "Duplicate" not in problem.message
    assert "diagram.bpmn and information_sharing.bpmn both hold the process information_sharing" in problem.message
    assert "named information_sharing.bpmn" in problem.message


def test_an_upload_under_the_modeler_s_file_name_replaces_the_file_of_its_process(files: dict[str, bytes],
                                                                                 calendar: WorkingCalendar) -> None:
    from rapidreview.services.definitions.process_versions import merge_uploads

    changed = edit(files, CALLED, 'day(7, "17:00")</bpmn:timeDate>', 'day(6, "17:00")</bpmn:timeDate>')[CALLED]
    merged, notes = merge_uploads(files, {"bpmn/information_sharing (1).bpmn": changed})
    assert merged[CALLED] == changed and "bpmn/information_sharing (1).bpmn" not in merged
    assert notes == ["information_sharing (1).bpmn holds the process of information_sharing.bpmn, so it replaces that file"]
    assert problems(merged, calendar) == []


def test_bpmnlint_s_findings_are_said_in_the_process_owner_s_words(files: dict[str, bytes],
                                                                  calendar: WorkingCalendar) -> None:
    text = files[CALLED].decode()
    # The "returned" end event's arrow goes: the step before it has no way out.
    text, removed = re.subn(r'<bpmn:sequenceFlow id="record_information_returned_to_[^"]*"[^>]*/>', "", text)
    assert removed == 1
    found = validate_files({**files, CALLED: text.encode()}, calendar, lint=True)
    messages = {p.element_id: p.message for p in found}
    assert messages["record_information_returned"].startswith(
        "this step has no way out: connect it to the next step or to an end event")


def test_a_form_that_is_not_json_is_the_only_problem_named_with_what_to_look_for(
        files: dict[str, bytes], calendar: WorkingCalendar) -> None:
    path = "forms/share_agency_list.schema.json"
    broken = {**files, path: files[path].replace(b'"title":', b'"title"', 1)}
    problem = only(problems(broken, calendar))  # not also every due date that reads the form's answers
    assert "share_agency_list.schema.json is not valid JSON" in problem.message
    assert "a comma, a quote, a colon or a bracket is missing or one too many" in problem.message


def test_a_required_question_the_form_does_not_have_is_named(files: dict[str, bytes], calendar: WorkingCalendar) -> None:
    import json

    path = "forms/share_agency_list.schema.json"
    schema = json.loads(files[path])
    schema["required"] = [*schema.get("required", []), "agencys"]
    problem = only(problems({**files, path: json.dumps(schema).encode()}, calendar))
    assert problem.element_id == "share_agency_list"
    assert "makes agencys required, but the form has no such question" in problem.message
