"""The staff web app: a thin Flask layer over rapidreview.services."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, abort, g, redirect, request, send_from_directory, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from sqlalchemy.exc import OperationalError
from werkzeug.wrappers import Response

from rapidreview import clock, resources
from rapidreview.config import Settings, from_environment
from rapidreview.errors import RapidReviewError, http_status
from rapidreview.observability import configure_logging
from rapidreview.runtime import Runtime, build_runtime
from rapidreview.services.people import policy
from rapidreview.services.people.users import ROLES
from rapidreview.web import kept_answers, oidc_client, signed_in_session
from rapidreview.web.access import PUBLIC, allow, permits, rule_of
from rapidreview.web.config import CONFIGS, Config
from rapidreview.web.proxy import trust_proxies

HERE = Path(__file__).resolve().parent
# The vendored front-end files (resources.VENDOR_FILES): node_modules/ in a checkout, a copy in the package.
VENDOR = {name: resources.vendor_dir(name) for name in resources.VENDOR_FILES}


def create_app(config: str | type[Config] = "production", *, settings: Settings | None = None,
               runtime: Runtime | None = None) -> Flask:
    app = Flask(__name__, static_folder=str(HERE / "static"), static_url_path="/static")
    app.config.from_object(CONFIGS[config] if isinstance(config, str) else config)
    if not app.config["TESTING"]:
        configure_logging()  # RAPIDREVIEW_LOG_FORMAT / _LEVEL, as the commands and the scheduler do
    settings = runtime.settings if runtime is not None else settings or from_environment()
    trust_proxies(app, app.config.get("TRUSTED_PROXIES", settings.trusted_proxies))
    app.config["SECRET_KEY"] = (app.config.get("SECRET_KEY") or settings.secret_key
                                or (secrets.token_hex(32) if app.config["GENERATE_SECRET_KEY"] else None))
    if not app.config["SECRET_KEY"]:
        raise RuntimeError("set RAPIDREVIEW_SECRET_KEY (a long random string) to run the web app in production")
    rt = runtime or build_runtime(settings)
    app.extensions["rapidreview"] = rt
    app.config["IDLE_TIMEOUT"] = timedelta(minutes=rt.settings.session_idle_minutes)
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=rt.settings.session_max_hours)
    app.jinja_loader = ChoiceLoader([
        FileSystemLoader(HERE / "templates"),
        PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja", "templates")}),
    ])
    app.jinja_env.globals.update(ROLES=ROLES, partnership_name=rt.settings.partnership_name)
    app.jinja_env.filters["london"] = _london
    app.jinja_env.filters["event_text"] = _event_text
    app.jinja_env.filters["error_list"] = _error_list
    app.jinja_env.filters["options"] = _options
    app.jinja_env.filters["answer_text"] = _answer_text
    app.jinja_env.filters["case_day"] = lambda at, day_one: rt.calendar.case_day(day_one, at)
    oidc_client.install(app, rt.settings.oidc_providers)
    app.config["FORM_ACTION"] = " ".join(["'self'", *oidc_client.form_action_origins(rt.settings.oidc_providers)])
    _register(app)
    return app


def runtime() -> Runtime:
    from flask import current_app

    rt: Runtime = current_app.extensions["rapidreview"]
    return rt


def _london(value: datetime | None, fmt: str = "%-d %b %Y %H:%M") -> str:
    from rapidreview.calendar import to_london

    return to_london(value).strftime(fmt) if value else ""


def _error_list(errors: dict[str, str]) -> list[dict[str, str]]:
    """{field: message} as govukErrorSummary items linking to each field."""
    return [{"text": message, "href": f"#{field}"} for field, message in errors.items()]


def _options(items: Any, value: str | None = None, text: str | None = None) -> list[dict[str, str]]:
    """Select/radio items from a dict ({value: text}) or from objects' attributes."""
    if isinstance(items, dict):
        return [{"value": k, "text": v} for k, v in items.items()]
    return [{"value": str(getattr(i, value or "id")), "text": str(getattr(i, text or "name"))} for i in items]


def _answer_text(field: Any) -> str:
    """A completed answer as text, for the read-only view of a finished task."""
    text = getattr(field, "answer_text", None)
    if isinstance(text, str):
        return text or "Not answered"
    value = getattr(field, "value", None)
    if value in (None, "", []):
        return "Not answered"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return "; ".join(str(v) if not isinstance(v, dict) else ", ".join(str(x) for x in v.values()) for v in value)
    return str(value)


def _event_text(event: Any) -> tuple[str, str]:
    from rapidreview.services.reading.timeline import LABELS, describe_event

    data = {"type": event.type, **event.payload}
    return LABELS.get(event.type, event.type.replace("_", " ")), describe_event(data, names=True)


def _register(app: Flask) -> None:
    from rapidreview.web.views import (
        admin,
        auth,
        cases,
        dashboard,
        documents,
        editor,
        health,
        invitations,
        metrics,
        oidc,
        pages,
        session_timeout,
        tasks,
        version_templates,
        versions,
    )

    for blueprint in (auth.bp, tasks.bp, cases.bp, admin.bp, pages.bp, health.bp, metrics.bp, versions.bp, documents.bp,
                      dashboard.bp, oidc.bp, invitations.bp, session_timeout.bp, editor.bp, version_templates.bp):
        app.register_blueprint(blueprint)

    @app.get("/assets/<path:filename>")
    @allow(PUBLIC)
    def govuk_assets(filename: str) -> Response:
        return send_from_directory(VENDOR["govuk"] / "assets", filename)

    @app.get("/vendor/<package>/<path:filename>")
    @allow(PUBLIC)
    def vendor(package: str, filename: str) -> Response:
        if package not in VENDOR:
            abort(404)
        return send_from_directory(VENDOR[package], filename)

    app.view_functions["static"] = allow(PUBLIC)(app.view_functions["static"])
    for code, title, message in ERROR_PAGES:
        app.register_error_handler(code, _error_page(code, title, message))
    app.register_error_handler(RapidReviewError, _refused)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(OSError, _storage_error)
    app.register_error_handler(CSRFError, _form_out_of_date)
    app.before_request(signed_in_session.load_user)
    app.before_request(_enforce_access)
    app.before_request(_enter_case_time)
    app.teardown_request(_leave_case_time)
    # Flask-WTF checks every POST's token (Config: no time limit of its own, so it lasts as long as the session).
    CSRFProtect(app)
    app.after_request(_security_headers)
    app.context_processor(lambda: {"user": g.get("user"), "csrf_token": generate_csrf(),
                                   "session_seconds_left": signed_in_session.seconds_left(),
                                   "session_idle_seconds": int(app.config["IDLE_TIMEOUT"].total_seconds())})
    app.context_processor(_partnership_name)
    # The menu offers the areas the access policy lets the person into.
    app.context_processor(lambda: {"areas": policy.navigation(g.user) if g.get("user") else {}})


def _enter_case_time(*_: Any) -> None:
    """A demonstration case moved ahead in time shows and does everything at its own time (pages of a case
    or one of its tasks); see services.demo_clock."""
    from flask import current_app, request

    from rapidreview.services.casework import demo_clock

    if not current_app.config.get("DEMO_TIME_TRAVEL"):
        return  # no case is ever moved: nothing to look up
    args = request.view_args or {}
    if "reference" in args or "task_id" in args:
        offset = demo_clock.offset_of(runtime(), reference=args.get("reference"), task_id=args.get("task_id"))
        if offset:
            g.case_time = clock.shifted(offset)
            g.case_time.__enter__()


def _leave_case_time(*_: Any) -> None:
    entered = g.pop("case_time", None)
    if entered is not None:
        entered.__exit__(None, None, None)


ERROR_PAGES: tuple[tuple[int, str, list[str] | None], ...] = (
    (400, "Sorry, there is a problem with your request", None),
    (403, "You do not have permission to see this page", ["If you think you should, ask your administrator."]),
    (404, "Page not found", ["If you typed the web address, check it is correct.",
                             "The page may be for a case or task you cannot see."]),
    (500, "Sorry, there is a problem with the service", ["Try again later. Nothing you had already submitted is lost."]),
)


def _error_page(code: int, title: str, message: list[str] | None) -> Any:
    from flask import render_template

    def handler(error: Any) -> tuple[str, int]:
        text = message or [getattr(error, "description", "") or "Go back and try again."]
        return render_template("errors/error.html", title=title, message=text), code

    return handler


def _refused(error: RapidReviewError) -> tuple[str, int]:
    """A service's refusal that the view did not turn into a message on its own page: the page for its status.
    Not found and not allowed say nothing of the thing itself (it may be something the person cannot see)."""
    from flask import render_template

    status = http_status(error)
    page = next((p for p in ERROR_PAGES if p[0] == status), None)
    if page is not None and page[2] is not None:
        return render_template("errors/error.html", title=page[1], message=page[2]), status
    return render_template("errors/error.html", title="Sorry, there is a problem with your request",
                           message=[str(error) or "Go back and try again."]), status


def _database_unavailable(error: OperationalError) -> tuple[str, int]:
    """The database went away mid-request (a restart, a failover): nothing was committed, so say try again.
    The pool's pre-ping replaces the dead connections, so the retry works once the database is back."""
    from flask import current_app, render_template

    current_app.logger.error("database unavailable: %s", type(error.orig).__name__ if error.orig else error)
    runtime().database.dispose()
    return render_template("errors/error.html", title="Sorry, the service is unavailable",
                           message=["The database could not be reached. Nothing you were submitting was saved.",
                                    "Wait a minute, then go back and try again."]), 503


def _storage_error(error: OSError) -> tuple[str, int]:
    import errno

    from flask import current_app, render_template

    if error.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        raise error
    current_app.logger.error("document storage unavailable: %s", errno.errorcode.get(error.errno or 0, "?"))
    return render_template("errors/error.html", title="Sorry, the file could not be saved",
                           message=["The server has no room to store files at the moment. Nothing was saved.",
                                    "Tell your administrator, then try again later."]), 507


def _partnership_name() -> dict[str, str]:
    """Pages carry the signed-in person's partnership's name (read with them); before sign-in, the deployment's."""
    name = g.get("partnership_name")
    return {"partnership_name": name} if name else {}


def app_config(name: str) -> Any:
    from flask import current_app

    return current_app.config[name]


# What a person with a temporary password may reach: the page to replace it, signing out, and static files.
PASSWORD_CHANGE_ENDPOINTS = frozenset({"auth.change_password", "auth.sign_out", "static", "govuk_assets", "vendor"})


def _enforce_access() -> Response | None:
    from flask import current_app

    view = current_app.view_functions.get(request.endpoint or "")
    if view is None:
        return None  # 404 / 405 follow
    rule = rule_of(view)
    if rule is None:
        abort(403)  # fail closed: a route without a rule is a bug, not an open door
    if g.user is not None and g.user.must_change_password and request.endpoint not in PASSWORD_CHANGE_ENDPOINTS:
        # An administrator's temporary password gets a person as far as choosing their own, no further.
        return redirect(url_for("auth.change_password"))
    if permits(rule, g.user.role if g.user else None):
        return None
    if g.user is None:
        # A page asked for comes back after signing in; a task form posted after the session ran out is kept
        # as the task's draft and its page comes back (web/kept_answers.py).
        target = request.full_path.rstrip("?") if request.method == "GET" else kept_answers.keep_posted_answers()
        return redirect(url_for("auth.sign_in", next=target))
    abort(403)


def _form_out_of_date(error: CSRFError) -> tuple[str, int]:
    from flask import render_template

    return render_template("errors/error.html", title="Sorry, there is a problem with your request",
                           message=["Your form was out of date. Go back, reload the page and try again."]), 400


def _security_headers(response: Response) -> Response:
    from flask import current_app

    # Organisations' identity providers join 'self': signing out redirects the sign-out form to theirs.
    form_action = current_app.config.get("FORM_ACTION") or "'self'"

    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self' 'sha256-GUQ5ad8JK5KmEWmROf3LZd9ge94daqNvd8xy9YS1iDw='; "
        "style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        f"frame-ancestors 'none'; form-action {form_action}")
    return response
