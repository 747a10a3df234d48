"""From process data to the documents: what the meeting agreed, the draft's provisional view, not-known
returns, sign-off bound to accounts, and the decision record. The data is built by hand to the contract in
docs/process-model.md; each test renders the real template."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import docx
from docx.table import Table

from rapidreview.calendar import WorkingCalendar
from rapidreview.config import Settings
from rapidreview.documents.completeness import missing_items
from rapidreview.documents.decision_record import build_decision_record_context
from rapidreview.documents.render import render_docx
from rapidreview.documents.report_context import build_report_context

REPO = Path(__file__).resolve().parents[1]
REPORT = REPO / "templates" / "rapid_review_report.docx"
DECISION_RECORD = REPO / "templates" / "decision_record.docx"
NOTIFIED = datetime(2026, 5, 22, 9, 30, tzinfo=UTC)
LEADS = {
    "LA": ("amira.haddad@council.example", "Amira Haddad", "Local Authority lead"),
    "MPS": ("claire.hughes@met.example", "Claire Hughes", "Police (MPS) lead"),
    "ICB": ("femi.adeyemi@nhs.example", "Femi Adeyemi", "Integrated Care Board lead"),
}


def stamp(when: str, account: tuple[str, str, str]) -> dict[str, str]:
    email, name, role = account
    return {"completed_at": when, "completed_by": email, "completed_by_name": name, "completed_by_role": role}


CONTENT = {
    "child_ethnicity": "White Polish", "child_disability": "None known", "child_legal_status": "child_in_need",
    "harm_type": "seriously_harmed", "nature_of_harm": "Head injury.", "family_structure": "Mother and brother.",
    "health_and_disability": "Mother has depression.", "other_children_safeguarding": "Brother with grandmother.",
    "summary_of_facts": "Admitted on 20 May 2026.", "immediate_learning_and_actions": "Household checks.",
}


def process_data() -> dict[str, Any]:
    """A case at sign-off, as the process holds it."""
    view = {"criteria_met": "yes", "rationale": "Abuse suspected and serious harm.", "immediate_action_needed": "no"}
    return {
        "notification": {"child": {"name": "Child M", "date_of_birth": "2019-03-02", "sex": "female"},
                         "incident": {"date": "2026-05-20", "summary": "Head injury."}},
        "criteria_views": {p: {**view, **stamp("2026-05-22T14:00:00+00:00", LEADS[p])} for p in LEADS},
        "commission_rapid_review": {"chair_type": "independent_chair", "chair_name": "Dr Helen Osei",
                                    "chair_role": "Independent Chair", "chair_organisation": "The partnership",
                                    "immediate_safeguarding_actions": "Safety plan."},
        "agencies": {"school": {"id": "school", "name": "Oak Primary School"},
                     "dentist": {"id": "dentist", "name": "Elm Dental Practice"},
                     "housing": {"id": "housing", "name": "Housing Needs"}},
        "information_returns": {
            "school": {"status": "returned", "returned_at": "2026-05-28T10:00:00+00:00",
                       "form": {"nature_of_involvement": "Reception class", "involvement_from": "2024-09-01"}},
            "dentist": {"status": "not_known", "returned_at": "2026-05-27T11:00:00+00:00",
                        "form": {"known_to_agency": "no"}},
            "housing": {"status": "not_returned"},
        },
        "meeting_starts_at": "2026-06-03T09:00:00+00:00",
        "prepare_draft_report": {**CONTENT, "provisional_view": "Likely to meet regulation 11(c)."},
        "record_meeting_outcomes": {
            "meeting_held_on": "2026-06-03",
            "attendees_present": [
                {"name": "Dr Helen Osei", "role": "Independent Chair", "organisation": "The partnership"},
                {"name": "DI Mark Ellis", "role": "Detective Inspector", "organisation": "Metropolitan Police"},
            ],
            "background_agreed": True,
            "working_well": "The school shared the bruise at once.",
            "concerns": "Nobody knew the partner had moved in.",
            "themes": "Unseen adults in the household.",
            "actions_taken_or_required": "Household composition in every child in need review by 30 June.",
            "recommendations": "A 7-minute briefing on household composition.",
            "agency_leads": [{"agency": "Children's Social Care", "lead": "Sam Adeyemi, Head of Service"}],
            "learning_dissemination": "Briefings to every agency; audit in six months.",
            "lcspr_recommended": True, "lcspr_grounds": ["reg11_c_multi_agency_working"],
            "grounds_rationale": "Several agencies held part of the picture.",
            "key_lines_of_enquiry": ["How did agencies learn who lived in the household?"],
            "national_review_recommended": False,
        },
        "incorporate_comments": {**CONTENT, "changes_summary": "Accuracy."},
        "sign_offs": {p: {"decision": "approve", "lcspr_recommendation_ratified": True, "comments": "Agreed.",
                          **stamp("2026-06-10T15:00:00+00:00", LEADS[p])} for p in LEADS},
    }


def report(data: dict[str, Any], kind: str = "signed_report") -> dict[str, Any]:
    return build_report_context(
        data=data, kind=kind, version=1, reference="RR-2026-041", notified_at=NOTIFIED, day_one=date(2026, 5, 22),
        deadline=date(2026, 6, 12), settings=Settings(), calendar=WorkingCalendar(), generated_at=NOTIFIED)


def rendered(tmp_path: Path, context: dict[str, Any], template: Path = REPORT) -> str:
    out = tmp_path / f"{context['document']['kind']}.docx"
    render_docx(template, context, out)
    document = docx.Document(str(out))
    lines = []
    for block in document.iter_inner_content():  # in document order: a table sits under its section
        if isinstance(block, Table):
            lines += [" | ".join(c.text for c in row.cells) for row in block.rows]
        else:
            lines.append(block.text)
    return "\n".join(lines)


# -- 1. what the meeting agreed --------------------------------------------------------------------------------

def test_what_the_meeting_agreed_reaches_the_final_report(tmp_path: Path) -> None:
    context = report(process_data(), "final_report")
    text = rendered(tmp_path, context)
    outcome = process_data()["record_meeting_outcomes"]
    for expected in ("Held on: 3 June 2026", "Background information agreed: Yes",
                     "Dr Helen Osei | Independent Chair | The partnership",
                     "DI Mark Ellis | Detective Inspector | Metropolitan Police",
                     outcome["working_well"], outcome["concerns"], outcome["themes"],
                     outcome["actions_taken_or_required"], outcome["recommendations"],
                     "Children's Social Care | Sam Adeyemi, Head of Service",
                     "How the learning will be disseminated and acted on across the partnership",
                     outcome["learning_dissemination"], *outcome["key_lines_of_enquiry"]):
        assert expected in text, expected
    assert missing_items(context) == []


def test_attendees_recorded_as_text_by_older_cases_still_show(tmp_path: Path) -> None:
    data = process_data()
    data["record_meeting_outcomes"]["attendees_present"] = "Dr Helen Osei (Chair); DI Mark Ellis (Police)."
    context = report(data, "final_report")
    assert context["meeting"]["present"] == []
    text = rendered(tmp_path, context)
    assert "Dr Helen Osei (Chair); DI Mark Ellis (Police)." in text


def test_the_learning_plan_is_mandatory_in_the_final_and_signed_report_only() -> None:
    data = process_data()
    del data["record_meeting_outcomes"]["learning_dissemination"]
    plan = "How the learning will be disseminated and acted on across the partnership"
    assert missing_items(report(data, "final_report")) == [plan]
    assert missing_items(report(data, "signed_report")) == [plan]
    assert plan not in missing_items(report(data, "final_draft_report"))


def test_a_recommended_review_needs_grounds_rationale_and_key_lines_of_enquiry() -> None:
    data = process_data()
    data["record_meeting_outcomes"].update(lcspr_grounds=[], grounds_rationale="", key_lines_of_enquiry=[])
    assert missing_items(report(data, "final_report")) == [
        "Grounds on which the criteria for a Local Child Safeguarding Practice Review are met",
        "Rationale for the decision on a Local Child Safeguarding Practice Review",
        "Key lines of enquiry for the Local Child Safeguarding Practice Review"]
    data["record_meeting_outcomes"].update(lcspr_recommended=False, grounds_rationale="No new learning.")
    assert missing_items(report(data, "final_report")) == []


# -- 2. the draft --------------------------------------------------------------------------------------------

def test_the_draft_shows_the_provisional_view_and_leaves_the_national_review_unanswered(tmp_path: Path) -> None:
    data = process_data()
    del data["record_meeting_outcomes"]  # the draft goes out before the meeting
    context = report(data, "draft_report")
    assert context["outcome"]["national_review_recommended"] is None
    text = rendered(tmp_path, context)
    assert "The chair's provisional view" in text and "Likely to meet regulation 11(c)." in text
    assert "Whether a national review may be appropriate: Not answered." in text
    assert "do not consider that a national review is appropriate" not in text
    assert "9. Rapid Review criteria" in text
    assert "Partner | Criteria for a Rapid Review met? | Rationale" in text
    assert "Local Authority | Yes | Abuse suspected and serious harm." in text
    lcspr = text.split("11. Decision on a Local Child Safeguarding Practice Review", 1)[1]
    assert "Criteria for a Rapid Review met?" not in lcspr  # the Day 1 views are apart from the LCSPR decision
    meeting = text.split("10. The Rapid Review Meeting", 1)[1].split("11. Decision", 1)[0]
    assert meeting.strip() == ("The Rapid Review Meeting (3 June 2026, 10:00) has not been held yet: what it agrees "
                               "is recorded here after it.")


def test_once_decided_the_provisional_view_gives_way_to_the_decision(tmp_path: Path) -> None:
    text = rendered(tmp_path, report(process_data(), "final_report"))
    assert "Likely to meet regulation 11(c)." not in text
    assert "The criteria for a Local Child Safeguarding Practice Review are met." in text


# -- 3. no submission line -----------------------------------------------------------------------------------

def test_no_document_carries_a_submission_line(tmp_path: Path) -> None:
    context = report(process_data())
    assert "submitted_at" not in context["case"]
    text = rendered(tmp_path, context)
    assert "Submitted to the National Panel" not in text


# -- 4. sign-off bound to accounts ---------------------------------------------------------------------------

def test_the_sign_off_table_shows_the_accounts_name_role_the_partner_and_the_date(tmp_path: Path) -> None:
    data = process_data()
    # an older case's typed fields are ignored where the account is stamped
    data["sign_offs"]["LA"].update(signatory_name="Someone Else", signatory_role="Typed", organisation="Typed Org")
    text = rendered(tmp_path, report(data))
    assert "Local Authority | Amira Haddad | Local Authority lead | Approved | 10 June 2026, 16:00" in text
    assert "Metropolitan Police Service | Claire Hughes | Police (MPS) lead | Approved" in text
    assert "Integrated Care Board | Femi Adeyemi | Integrated Care Board lead | Approved" in text
    assert "Someone Else" not in text and "Typed Org" not in text


def test_an_older_case_without_stamped_names_still_renders_its_typed_signatories(tmp_path: Path) -> None:
    data = process_data()
    for answers in data["sign_offs"].values():
        for key in ("completed_by_name", "completed_by_role"):
            del answers[key]
        answers.update(signatory_name="Typed Name", signatory_role="Director")
    context = report(data)
    assert "Local Authority | Typed Name | Director | Approved" in rendered(tmp_path, context)
    assert "Sign-off by the Local Authority: made by amira.haddad@council.example, whose role was not recorded; " \
           "only an account with the role Local Authority lead can sign off for the Local Authority" \
           in missing_items(context)


def test_one_account_signing_for_all_three_partners_is_refused() -> None:
    data = process_data()
    for answers in data["sign_offs"].values():
        answers.update(stamp("2026-06-10T15:00:00+00:00", LEADS["LA"]))
    assert missing_items(report(data)) == [
        "Sign-off by the Metropolitan Police Service: made by amira.haddad@council.example, whose role is Local "
        "Authority lead; only an account with the role Police (MPS) lead can sign off for the Metropolitan Police "
        "Service",
        "Sign-off by the Integrated Care Board: made by amira.haddad@council.example, whose role is Local Authority "
        "lead; only an account with the role Integrated Care Board lead can sign off for the Integrated Care Board",
        "Sign-off: one account (amira.haddad@council.example) signed off for the Local Authority and the "
        "Metropolitan Police Service and the Integrated Care Board; each partner must sign off with the account of "
        "its own lead",
    ]


def test_two_accounts_with_the_right_role_but_the_same_e_mail_are_one_account() -> None:
    data = process_data()
    email = LEADS["MPS"][0]
    data["sign_offs"]["ICB"]["completed_by"] = email.upper()  # e-mail case does not make another account
    assert missing_items(report(data)) == [
        f"Sign-off: one account ({email}) signed off for the Metropolitan Police Service and the Integrated Care "
        "Board; each partner must sign off with the account of its own lead"]


def test_a_sign_off_without_an_account_or_an_approval_is_refused() -> None:
    data = process_data()
    del data["sign_offs"]["ICB"]["completed_by"]
    data["sign_offs"]["MPS"]["decision"] = "return"
    assert missing_items(report(data)) == [
        "Sign-off by the Metropolitan Police Service: approval (the report was returned)",
        "Sign-off by the Integrated Care Board: it was not made by a signed-in account, so it must be made again "
        "by the Integrated Care Board lead"]


# -- 5. not-known returns ------------------------------------------------------------------------------------

def test_a_not_known_return_shows_and_counts_as_returned(tmp_path: Path) -> None:
    context = report(process_data(), "final_report")
    assert [(a["name"], a["status"]) for a in context["agencies"]] == [
        ("Oak Primary School", "Returned"), ("Elm Dental Practice", "Not known to this agency"),
        ("Housing Needs", "Not returned")]
    assert context["agencies_not_returned"] == ["Housing Needs"]
    text = rendered(tmp_path, context)
    assert "Elm Dental Practice | Not known to this agency | 27 May 2026, 12:00" in text

    data = process_data()
    data["information_returns"]["school"]["status"] = "not_returned"
    data["incorporate_comments"]["agency_involvement"] = ""
    assert missing_items(report(data, "final_report")) == []  # the not-known answer is a return


# -- 6. the decision record ----------------------------------------------------------------------------------

def decision_data(*, agree: bool = True) -> dict[str, Any]:
    data = copy.deepcopy(process_data())
    keep = {"notification", "criteria_views"}
    data = {k: v for k, v in data.items() if k in keep}
    for partner, view in data["criteria_views"].items():
        view.update(criteria_met="no", rationale=f"{partner}: no abuse or neglect suspected.",
                    immediate_action_needed="yes" if partner == "LA" else "no",
                    immediate_action_details="Safety plan for the brother." if partner == "LA" else "")
    if not agree:
        data["criteria_views"]["ICB"]["criteria_met"] = "yes"
        data["consult_independent_chair"] = {
            "criteria_met": "no", "rationale": "The injury has an accidental explanation.",
            "regional_lead_advice_sought": "yes", "regional_lead_advice": "Agreed with the chair.",
            **stamp("2026-05-23T10:00:00+00:00", ("chair@partnership.example", "Dr Helen Osei", "Independent Chair"))}
    data["confirm_decision_record"] = {
        "summary": "The partners decided the criteria for a Rapid Review are not met.",
        "immediate_safeguarding": "The brother is safe with his grandmother.",
        **stamp("2026-05-25T12:00:00+00:00", ("pm@partnership.example", "Priya Natarajan", "Partnership Manager"))}
    return data


def record(data: dict[str, Any]) -> dict[str, Any]:
    return build_decision_record_context(data=data, version=1, reference="RR-2026-003", notified_at=NOTIFIED,
                                         day_one=date(2026, 5, 22), settings=Settings(), generated_at=NOTIFIED)


def test_the_decision_record_carries_the_views_the_chairs_decision_and_the_confirmation(tmp_path: Path) -> None:
    context = record(decision_data(agree=False))
    assert missing_items(context) == []
    text = rendered(tmp_path, context, DECISION_RECORD)
    for expected in (
        "Rapid Review Decision Record",
        "The criteria for a Rapid Review are not met: decided by the Independent Chair, as the safeguarding "
        "partners did not agree.",
        "Child M", "20 May 2026", "Head injury.",
        "Local Authority | No | LA: no abuse or neglect suspected.",
        "Integrated Care Board | Yes | ICB: no abuse or neglect suspected.",
        "Local Authority | Yes | Safety plan for the brother. | Amira Haddad, Local Authority lead, 22 May 2026, 15:00",
        "Criteria for a Rapid Review met? | No", "Rationale | The injury has an accidental explanation.",
        "The Regional Lead's advice | Agreed with the chair.", "Decided by | Dr Helen Osei, Independent Chair",
        "The partners decided the criteria for a Rapid Review are not met.",
        "The brother is safe with his grandmother.", "Confirmed by | Priya Natarajan", "Role | Partnership Manager",
    ):
        assert expected in text, expected
    assert "{{" not in text and "{%" not in text


def test_when_the_partners_agree_the_decision_is_theirs() -> None:
    context = record(decision_data())
    assert context["decision"]["text"] == ("The criteria for a Rapid Review are not met: decided by the statutory "
                                           "safeguarding partners.")
    assert context["criteria"]["chair_consulted"] is False
    assert missing_items(context) == []


def test_the_decision_record_names_what_the_panel_would_miss() -> None:
    data = decision_data(agree=False)
    del data["criteria_views"]["MPS"]
    data["criteria_views"]["LA"]["rationale"] = " "
    data["consult_independent_chair"]["rationale"] = ""
    data["confirm_decision_record"]["summary"] = ""
    assert missing_items(record(data)) == [
        "The Local Authority's rationale for its view on the criteria for a Rapid Review",
        "The Metropolitan Police Service's view on whether the criteria for a Rapid Review are met",
        "The Independent Chair's rationale for the decision",
        "The Partnership Manager's summary of the decision",
    ]
    data = decision_data(agree=False)
    del data["consult_independent_chair"]
    assert missing_items(record(data)) == [
        "A decision on the criteria for a Rapid Review: the partners did not agree and the Independent Chair's "
        "decision is not recorded"]
