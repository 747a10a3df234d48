"""Who is signed in, for each request: the cookie names a session the server holds (services.sessions).

The cookie (Flask's signed session) carries the session's token, Flask-WTF's CSRF token and, before sign-in,
the short-lived state of the two sign-in steps. Everything that decides whether someone is signed in is on the
server, so ending a session there ends it for every copy of the cookie.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, g, request, session

from rapidreview.runtime import Runtime
from rapidreview.services.people import sessions
from rapidreview.services.people.users import EXPIRED, IDLE, SIGNED_OUT, SignedIn

TOKEN = "sid"
STATUS_ENDPOINT = "session.status"  # views/session_timeout.py
ENDED = "ended"  # why the last session ended, for the sign-in page


def _runtime() -> Runtime:
    rt: Runtime = current_app.extensions["rapidreview"]
    return rt


def limits() -> sessions.SessionLimits:
    config = current_app.config
    idle: timedelta = config["IDLE_TIMEOUT"]
    absolute: timedelta = config["PERMANENT_SESSION_LIFETIME"]
    return sessions.SessionLimits(idle=idle, absolute=absolute)


def load_user() -> None:
    """Set ``g.user`` (None when nobody is signed in) and, for pages, when the session would end."""
    g.user = None
    token = session.get(TOKEN)
    if not token:
        return
    # The timeout warning's question "how long is left?" must not itself count as activity.
    resolved = sessions.resolve(_runtime(), str(token), limits(), touch=request.endpoint != STATUS_ENDPOINT)
    if resolved.user is None:
        # The session has ended: keep the reason for the sign-in page and whose it was, so an answer posted
        # after the limit can still be kept for them (web/kept_answers.py). A session that ran out keeps its
        # (now useless) token in the cookie until the next sign-in, so that a page read in the meantime (the
        # timeout warning's question, another tab) does not forget whose the form still open is.
        if resolved.ended_reason not in (IDLE, EXPIRED):
            session.pop(TOKEN, None)
        if resolved.ended_reason:
            session[ENDED] = resolved.ended_reason
        g.ended_session_owner = resolved.owner_id
        g.ended_reason = resolved.ended_reason
        return
    g.user = resolved.user
    g.session_ends_at = resolved.ends_at
    g.partnership_name = resolved.partnership_name


def begin(user: SignedIn, provider: sessions.ProviderSession | None = None) -> None:
    """Start a server-held session for ``user``: a new cookie, so a token planted before sign-in is useless.
    ``provider``: the identity provider the person signed in through (sign-out ends its session too)."""
    session.clear()
    session[TOKEN] = sessions.start(_runtime(), user.id, limits(), ip=request.remote_addr,
                                    user_agent=request.user_agent.string, provider=provider)


def current_token() -> str | None:
    token = session.get(TOKEN)
    return str(token) if token else None


def end(reason: str = SIGNED_OUT) -> sessions.ProviderSession | None:
    """End the session; returns the identity provider it was signed in through, if any."""
    token = current_token()
    provider = sessions.end(_runtime(), token, reason) if token else None
    session.clear()
    return provider


def seconds_left() -> int | None:
    """How long the signed-in session has before it ends if nothing more happens, for the timeout warning."""
    from rapidreview import clock

    ends_at = g.get("session_ends_at")
    return max(0, int((ends_at - clock.now()).total_seconds())) if g.get("user") and ends_at else None


def pop_ended_reason() -> str | None:
    reason = session.pop(ENDED, None)
    return str(reason) if reason else None
