"""Behind a reverse proxy: whose address a request comes from, and whether it came over HTTPS.

The app trusts ``X-Forwarded-For``, ``-Proto``, ``-Host`` and ``-Port`` only from as many proxies as
``RAPIDREVIEW_TRUSTED_PROXIES`` says (default 0: none), through werkzeug's ProxyFix, which reads each header
from the right, one value per trusted proxy. Trusting none when there is a proxy makes every person share
the proxy's address, so the per-address sign-in lockout locks everyone out at once; trusting one too many
lets a client choose its own address by sending the header itself.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from rapidreview.config import TRUSTED_PROXIES_ENV, trusted_proxies  # noqa: F401 - read with the other settings


def trust_proxies(app: Flask, count: int) -> None:
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_port=count)  # type: ignore[method-assign]
