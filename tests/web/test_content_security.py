"""The Content-Security-Policy allows no inline script or style, and no template needs either."""

from __future__ import annotations

import re

from flask import Flask

from rapidreview.config import PROJECT_ROOT

TEMPLATES = PROJECT_ROOT / "rapidreview" / "web" / "templates"


def test_every_response_forbids_inline_styles_and_scripts(app: Flask) -> None:
    policy = app.test_client().get("/sign-in").headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["style-src"] == "'self'"
    assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-eval'" not in directives["script-src"]


def test_no_template_has_a_style_element_or_attribute() -> None:
    # The browser tests catch what the browser refuses; this names the file before anyone gets that far.
    assert len(list(TEMPLATES.rglob("*.html"))) > 20, f"no templates found under {TEMPLATES}"
    offenders = [f"{path.relative_to(TEMPLATES)}:{n}" for path in sorted(TEMPLATES.rglob("*.html"))
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if re.search(r"<style\b|\sstyle\s*=", line)]
    assert offenders == []
