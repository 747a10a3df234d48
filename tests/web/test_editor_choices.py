"""The known values the process editor offers for service-task parameters: every one is accepted where the
bundled process uses that parameter, and the bundled process uses only values the pickers know (besides the
agencies' addresses, which stay expressions)."""

from __future__ import annotations

import ast
import json
import re

from flask import Flask

from rapidreview.config import PROJECT_ROOT
from rapidreview.services.casework.documents import REPORT_KINDS
from rapidreview.services.casework.operators import NAMED_RECIPIENTS
from rapidreview.web import editor_choices
from tests.web.conftest import sign_in

PARAMETER = re.compile(r'<spiffworkflow:parameter id="(\w+)" type="(\w+)" value="([^"]*)"')


def bundled_parameters() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted((PROJECT_ROOT / "bpmn").glob("*.bpmn")):
        for name, kind, value in PARAMETER.findall(path.read_text()):
            found.append((name, kind, value.replace("&#39;", "'").replace("&quot;", '"')))
    return found


def test_the_editor_page_carries_the_templates_kinds_and_recipients(app: Flask) -> None:
    html = sign_in(app, "owner@demo.example").get("/process/edit").get_data(as_text=True)
    data = json.loads(html.split('id="editor-data">', 1)[1].split("</script>", 1)[0].replace("<\\/", "</"))
    templates = sorted(p.stem for p in (PROJECT_ROOT / "templates" / "email").glob("*.txt") if not p.stem.startswith("_"))
    assert data["emailTemplates"] == templates
    assert "information_sharing_reminder" in templates
    assert [k["value"] for k in data["documentKinds"]] == list(REPORT_KINDS)
    assert data["recipients"] == list(NAMED_RECIPIENTS)


def test_partials_and_other_files_are_not_templates() -> None:
    files = {
        "templates/email/a.txt": b"",
        "templates/email/a.html": b"",
        "templates/email/_layout.txt": b"",
        "templates/email/sub/b.txt": b"",
        "forms/c.txt": b"",
    }
    assert editor_choices.email_templates(files) == ["a"]


def test_the_bundled_values_are_the_formats_the_pickers_write() -> None:
    """The pickers write 'name' (type str) for a template or kind, and ['a', 'b'] (type list) for recipients."""
    templates = {p.stem for p in (PROJECT_ROOT / "templates" / "email").glob("*.txt")}
    seen = set()
    for name, kind, value in bundled_parameters():
        if name in {"template", "kind"}:
            assert kind == "str" and re.fullmatch(r"'\w+'", value), (name, value)
            assert value.strip("'") in (templates if name == "template" else set(REPORT_KINDS))
            seen.add(name)
        if name in {"to", "cc", "reply_to"}:
            assert kind == "list" and value.startswith("[") and value.endswith("]"), (name, value)
            if "agency[" in value:
                continue  # an expression: the editor shows it in the text box
            names = ast.literal_eval(value)
            assert value == "[" + ", ".join(f"'{n}'" for n in names) + "]", value
            assert set(names) <= set(NAMED_RECIPIENTS), value
            seen.add(name)
    assert seen == {"template", "kind", "to", "cc", "reply_to"}
