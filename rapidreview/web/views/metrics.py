"""``/metrics`` for Prometheus: from this host's loopback (not through the proxy), or with the bearer token in
``RAPIDREVIEW_METRICS_TOKEN``; anyone else gets 404, as for a page that does not exist.

Process counts (case events, timer lateness, PDF conversions) come from prometheus_client's registry, or,
with ``PROMETHEUS_MULTIPROC_DIR`` set, from every process that shares that folder (all gunicorn workers and the
scheduler). The state of the deployment (outbox backlog and failures, overdue timers, failing steps, the
newest scheduler heartbeat) is read from the database at each scrape, so it is right whichever worker answers.
"""

from __future__ import annotations

import ipaddress
import os
import secrets

from flask import Blueprint, abort, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from prometheus_client import REGISTRY as PROCESS_REGISTRY
from werkzeug.wrappers import Response

from rapidreview.services.platform.metrics import DatabaseCollector
from rapidreview.web import runtime
from rapidreview.web.access import PUBLIC, allow

bp = Blueprint("metrics", __name__)
TOKEN_ENV = "RAPIDREVIEW_METRICS_TOKEN"
# Headers a reverse proxy adds: a request carrying one came through it, whatever its address says.
FORWARDED = ("X-Forwarded-For", "X-Real-IP", "Forwarded")


@bp.get("/metrics")
@allow(PUBLIC)  # the check below is the access rule: loopback or the token, not a signed-in person
def metrics() -> Response:
    if not _may_scrape():
        abort(404)
    processes: CollectorRegistry = PROCESS_REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
    deployment = CollectorRegistry()
    deployment.register(DatabaseCollector(runtime()))
    return Response(generate_latest(processes) + generate_latest(deployment), mimetype=CONTENT_TYPE_LATEST)


def _may_scrape() -> bool:
    token = runtime().settings.metrics_token
    sent = request.headers.get("Authorization", "")
    if token and secrets.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    if any(request.headers.get(name) for name in FORWARDED) and "werkzeug.proxy_fix.orig" not in request.environ:
        return False  # through a proxy the app does not trust (RAPIDREVIEW_TRUSTED_PROXIES=0): the address is its
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False
