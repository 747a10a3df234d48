"""End to end with LibreOffice: an incomplete notification is completed before sign-off, and the signed
report the National Panel receives holds every mandatory item, is PDF/A-2b and tagged, and is the file whose
SHA-256 the audit trail records. One simulated case, one real conversion."""

from __future__ import annotations

import hashlib
import json
import re
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any, cast

import docx
import pytest
from pypdf import PdfReader
from pypdf.generic import DictionaryObject, StreamObject

from rapidreview.config import PROJECT_ROOT, Settings
from rapidreview.simulator.runner import SimulationResult, simulate
from rapidreview.simulator.scenario import load_scenario
from tests.conftest import TEST_DATABASE_URL, requires_soffice

pytestmark = requires_soffice
PANEL = "Mailbox.NationalReviewPanel@education.gov.uk"


def example(form: str) -> dict[str, Any]:
    answers = json.loads((PROJECT_ROOT / "forms" / f"{form}.schema.json").read_text())["examples"][0]
    assert isinstance(answers, dict)
    return answers


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    scenario = json.loads((PROJECT_ROOT / "scenarios" / "happy_path.json").read_text())
    scenario["name"] = "the notification lacks the child's date of birth and sex"
    scenario["notification"]["reference"] = "RR-2026-041"
    scenario["notification"]["child"] = {"name": "Child M"}
    scenario["actions"] = [
        {"task": "incorporate_comments", "data": {"changes_summary": "Accuracy corrections."}},
        {"task": "incorporate_comments", "data": {"changes_summary": "Added the child's date of birth and sex.",
                                                  "child_date_of_birth": "2019-03-02", "child_sex": "female"}},
    ]
    folder = tmp_path_factory.mktemp("incomplete")
    path = folder / "incomplete_notification.json"
    path.write_text(json.dumps(scenario))
    return simulate(load_scenario(path), bpmn_dir=PROJECT_ROOT / "bpmn", forms_dir=PROJECT_ROOT / "forms",
                    templates_dir=PROJECT_ROOT / "templates", out_dir=folder / "out", database_url=TEST_DATABASE_URL,
                    settings=Settings())


def events(result: SimulationResult, type_: str, **match: Any) -> list[dict[str, Any]]:
    return [e for e in result.events if e["type"] == type_ and all(e.get(k) == v for k, v in match.items())]


def document(result: SimulationResult, kind: str) -> Path:
    [created] = events(result, "document_created", kind=kind)
    return result.out_dir / created["path"]


def flat(text: str) -> str:
    return " ".join(text.split())


def docx_text(path: Path) -> str:
    document = docx.Document(str(path))
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    return flat(" ".join([p.text for p in document.paragraphs] + cells))


def test_an_incomplete_final_report_goes_back_and_only_the_completed_one_is_signed(result: SimulationResult) -> None:
    assert [e["by"] for e in events(result, "task_completed", id="incorporate_comments")] == [
        "partnership.manager@simulation.example", "partnership.manager@simulation.example"]
    assert [e["version"] for e in events(result, "document_created", kind="final_report")] == [1, 2]
    signing = events(result, "task_ready", id="sign_off_final_report")
    final_2 = events(result, "document_created", kind="final_report")[1]
    assert len(signing) == 3 and all(e["at"] >= final_2["at"] for e in signing)
    assert result.case["status"] == "submitted"


def test_the_signed_report_holds_every_mandatory_item_from_the_case(result: SimulationResult) -> None:
    content = example("incorporate_comments")
    outcome = example("record_meeting_outcomes")
    commission = example("commission_rapid_review")
    information = example("complete_information_sharing_form")
    expected = {
        "child's name": "Child M", "date of birth (from incorporate_comments)": "2 March 2019", "age": "7 years",
        "sex (from incorporate_comments)": "Female", "ethnicity": content["child_ethnicity"],
        "disability": content["child_disability"], "legal status": "Child in need",
        "died or seriously harmed": "The child was seriously harmed", "nature of harm": content["nature_of_harm"],
        "family structure": content["family_structure"], "health": content["health_and_disability"],
        "other children": content["other_children_safeguarding"], "facts": content["summary_of_facts"],
        "incident date": "20 May 2026", "notified": "22 May 2026", "agencies": "Oak Primary School",
        "agency returned": "Elm Street Surgery", "nature of contact": information["nature_of_involvement"],
        "decision": "The criteria for a Local Child Safeguarding Practice Review are not met",
        "rationale": outcome["grounds_rationale"], "learning": content["immediate_learning_and_actions"],
        "chair": commission["chair_name"], "learning plan": outcome["learning_dissemination"],
        "partners": "Metropolitan Police Service", "partnership contact": "partnership.manager@partnership.example",
    }
    word = docx_text(document(result, "signed_report"))
    reader = PdfReader(str(document(result, "signed_report_pdf")))
    text = flat(" ".join(page.extract_text() or "" for page in reader.pages))
    assert {k: v for k, v in expected.items() if flat(v) not in word} == {}
    assert {k: v for k, v in expected.items() if flat(v) not in text} == {}
    assert word.count("Approved") >= 3 and "Not recorded" not in text.split("15. Sign-off")[-1]
    assert "Submitted to the National Panel" not in text  # the PDF is made before the e-mail goes


def test_the_pdf_is_tagged_pdfa_2b_and_is_the_file_the_panel_receives(result: SimulationResult) -> None:
    path = document(result, "signed_report_pdf")
    reader = PdfReader(str(path))
    root = cast(DictionaryObject, reader.trailer["/Root"].get_object())
    xmp = cast(StreamObject, root["/Metadata"].get_object()).get_data().decode("utf-8", "replace")
    assert re.search(r"pdfaid:part(?:>|=[\"'])2", xmp) and re.search(r"pdfaid:conformance(?:>|=[\"'])B", xmp)
    assert bool(cast(DictionaryObject, root["/MarkInfo"].get_object())["/Marked"]) and "/StructTreeRoot" in root
    assert reader.metadata is not None and reader.metadata.title == "Rapid Review Report – RR-2026-041"

    [created] = events(result, "document_created", kind="signed_report_pdf")
    [eml] = [p for p in (result.out_dir / "outbox").glob("*.eml")
             if PANEL in message_from_bytes(p.read_bytes(), policy=policy.default)["To"]]
    [attachment] = list(message_from_bytes(eml.read_bytes(), policy=policy.default).iter_attachments())
    assert hashlib.sha256(attachment.get_content()).hexdigest() == created["sha256"] \
        == hashlib.sha256(path.read_bytes()).hexdigest()
