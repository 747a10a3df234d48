"""The access matrix: every GET route, every role, own and other agency, against an explicit table.

A new GET route fails this test until it is added to MATRIX (or to PUBLIC_FILES), so nobody adds a page
without deciding who sees it. Codes: 200 allowed; 302 sent to sign in; 403 role refused; 404 the
resource is not theirs to see (the app answers 404 so nobody learns what exists) or does not exist.
"""

from __future__ import annotations

from flask import Flask

from rapidreview.runtime import Runtime
from rapidreview.web.access import PUBLIC, rule_of
from tests.web.conftest import sign_in
from tests.web.test_access import agency_task, start_case_with_two_agencies

# Who signs in for each column: "own" agency is the school (the sample task is the school's), "other" the GP.
ACTORS = {
    "anon": None,
    "pm": "pm@demo.example",
    "chair": "chair@demo.example",
    "la_lead": "la.lead@demo.example",
    "police": "police.lead@demo.example",
    "icb": "icb.lead@demo.example",
    "la_officer": "la.officer@demo.example",
    "own_prac": "school.practitioner@demo.example",
    "own_mgr": "school.manager@demo.example",
    "other_prac": "gp.practitioner@demo.example",
    "owner": "owner@demo.example",
    "admin": "admin@demo.example",
}
COLUMNS = tuple(ACTORS)
MISSING_DOC = 999999  # a document that does not exist: 404 for whoever may reach the route

# endpoint: status per column, in COLUMNS order. The sample case has a school and a GP task, so the GP
# practitioner ("other") may open the case page (agency view: their own work only) but not the school's task;
# the school manager sees the practitioner's task only once it reaches them for checking.
#                                     anon pm  chair la  pol  icb  laof own  ownm oth  ownr admin
MATRIX: dict[str, tuple[int, ...]] = {
    "tasks.home":                    (302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302),
    "tasks.worklist":                (302, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "tasks.show":                    (302, 200, 404, 404, 404, 404, 404, 200, 404, 404, 404, 404),
    "cases.index":                   (302, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    # Process owners and administrators run the service: they know a case exists, not what is in it (403 page,
    # where an administrator may "break the glass").
    "cases.show":                    (302, 200, 200, 200, 200, 200, 200, 200, 200, 200, 403, 403),
    # Whoever sees the case, in full or their agency's part, may comment on its final draft; the page says the
    # draft has not gone out yet. Administrators and process owners are not told the case exists.
    "cases.comments":                (302, 200, 200, 200, 200, 200, 200, 200, 200, 200, 404, 404),
    "cases.document":                (302, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "cases.new":                     (302, 200, 403, 403, 403, 403, 200, 403, 403, 403, 403, 403),
    "documents.compare":             (302, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "documents.upload_form":         (302, 200, 200, 403, 403, 403, 403, 404, 404, 404, 404, 404),
    "documents.attachment":          (302, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "documents.blank_form":          (302, 200, 404, 404, 404, 404, 404, 200, 404, 404, 404, 404),
    "admin.agencies":                (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    "admin.users":                   (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    "admin.user_new":                (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    "admin.user":                    (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    "admin.meeting_contacts":        (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    "auth.change_password":          (302, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "auth.account":                  (302, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    # The sample case waits for no action (the meeting is not arranged yet): nobody finds one.
    "cases.action":                  (302, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "admin.outbox":                  (302, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    "versions.index":                (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 200),
    "versions.deploy_form":          (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 403),
    "editor.edit_active":            (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 403),
    "editor.edit":                   (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 403),
    "editor.preview":                (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 403),
    "editor.form_edit":              (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 403),
    "templates_edit.email_edit":     (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 403),
    "templates_edit.word_upload_form": (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 403),
    "editor.compare":                (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 200),
    "versions.show":                 (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 200),
    "versions.moves":                (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 200),
    "versions.form_preview":         (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 200),
    # Version 1 is the active one: its activation page sends the reader back to the version.
    "versions.activate_form":        (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 302, 302),
    "versions.download":             (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 200),
    "versions.download_file":        (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200, 200),
    "pages.accessibility":           (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "health.live":                   (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    # 503: no scheduler runs in the test, so the deployment is not ready, whoever asks.
    "health.ready":                  (503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503),
    # Loopback (the test client's address) or the token: web/views/metrics.py; test_metrics_and_logs.py.
    "metrics.metrics":               (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "health.status_page":            (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    # The timeout warning's question: 401 (never a sign-in page) once there is no session.
    "session.status":                (401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "auth.sign_in":                  (200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200),
    "auth.two_factor":               (302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302, 302),
    "dashboard.index":               (302, 200, 200, 200, 200, 200, 403, 403, 403, 403, 403, 200),
    "dashboard.cases_csv":           (302, 200, 200, 200, 200, 200, 403, 403, 403, 403, 403, 403),
    "dashboard.figures_csv":         (302, 200, 200, 200, 200, 200, 403, 403, 403, 403, 403, 403),
    "dashboard.workbook":            (302, 200, 200, 200, 200, 200, 403, 403, 403, 403, 403, 403),
    "dashboard.partnerships_csv":    (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    "dashboard.partnerships_ods":    (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
    # Signing in with an organisation's account: public, and 404 for a provider that is not configured (none is
    # here; tests/web/test_oidc.py signs in through a real one).
    "oidc.start":                    (404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    "oidc.callback":                 (404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    # An invitation's link: public; a token that is not one is 404 for everyone (test_invitations.py: real ones).
    "invitations.accept":            (404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404, 404),
    # Changing an agency's contact for a case: the Partnership Manager; the invited people: administrators.
    "invitations.change_contact":    (302, 200, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403),
    "invitations.invited":           (302, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200),
}
# The file a route with a "name" names, where it is not a form.
SAMPLE_NAMES = {"templates_edit.email_edit": "your_turn.txt", "templates_edit.word_upload_form": "rapid_review_report.docx"}
# Static files: public by rule (checked below), served from disk; no case data.
PUBLIC_FILES = {"static", "govuk_assets", "vendor"}


def sample_path(app: Flask, endpoint: str, reference: str, task_id: int, case_id: int = 1) -> str:
    from flask import url_for

    args = {"reference": reference, "task_id": task_id, "case_id": case_id, "agency_id": "school",
            "token": "not-an-invitation", "document_id": MISSING_DOC, "number": 1,
            "element_id": "meeting_change_requested",
            "name": SAMPLE_NAMES.get(endpoint, "record_criteria_view.schema.json"), "user_id": 1,
            "provider_id": "entra"}
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    with app.test_request_context():
        return url_for(endpoint, **{k: v for k, v in args.items() if k in rule.arguments})


def test_every_get_route_matches_the_access_matrix_for_every_role(app: Flask, runtime: Runtime) -> None:
    case_id = start_case_with_two_agencies(runtime)
    task = agency_task(runtime, case_id, "school")
    from rapidreview.store.db import transaction
    from rapidreview.store.models import Case

    with transaction(runtime.sessions) as session:
        case = session.get(Case, case_id)
        assert case is not None
        reference = case.reference

    get_endpoints = {r.endpoint for r in app.url_map.iter_rules() if "GET" in (r.methods or set())}
    for endpoint in get_endpoints & PUBLIC_FILES:
        assert PUBLIC in (rule_of(app.view_functions[endpoint]) or set()), endpoint
    unlisted = get_endpoints - set(MATRIX) - PUBLIC_FILES
    assert unlisted == set(), f"add these GET routes to the access matrix: {sorted(unlisted)}"

    clients = {name: (sign_in(app, email) if email else app.test_client()) for name, email in ACTORS.items()}
    actual: dict[str, tuple[int, ...]] = {}
    for endpoint in sorted(MATRIX):
        path = sample_path(app, endpoint, reference, task.id, case_id)
        actual[endpoint] = tuple(clients[name].get(path).status_code for name in COLUMNS)
    wrong = {e: (MATRIX[e], got) for e, got in actual.items() if got != MATRIX[e]}
    assert wrong == {}, "\n".join(f"{e}: expected {exp}, got {got}" for e, (exp, got) in wrong.items())
