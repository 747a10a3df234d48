"""Behind a reverse proxy: whose address a request comes from, and whether it came over HTTPS.

The app trusts ``X-Forwarded-For``, ``-Proto``, ``-Host`` and ``-Port`` only from as many proxies as
``RAPIDREVIEW_TRUSTED_PROXIES`` says (default 0: none), through werkzeug's ProxyFix, which reads each header
from the right, one value per trusted proxy. Trusting none when there is a proxy makes every person share
the proxy's address, so the per-address sign-in lockout locks everyone out at once; trusting one too many
lets a client choose its own address by sending the header itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from rapidreview.config import ConfigError

TRUSTED_PROXIES_ENV = "RAPIDREVIEW_TRUSTED_PROXIES"


def trusted_proxies(environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    raw = (env.get(TRUSTED_PROXIES_ENV) or "").strip()
    if not raw:
        return 0
    if not raw.isdigit() or int(raw) > 5:
        raise ConfigError(f"{TRUSTED_PROXIES_ENV} must be the number of reverse proxies in front of the app "
                          f"(0 to 5; 1 for a single nginx), not {raw!r}")
    return int(raw)


def trust_proxies(app: Flask, count: int) -> None:
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_port=count)  # type: ignore[method-assign]
