"""Sending a stored document to the browser, the same way from every page that offers one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import abort, flash, redirect, send_file
from werkzeug.wrappers import Response


def send_stored(found: tuple[Path, Any] | None, back_to: str) -> Response:
    """404 when the user may not have it (or it does not exist); a clear message when its file is gone."""
    if found is None:
        abort(404)
    path, doc = found
    if not path.is_file():
        flash("That document's file is missing from storage. Tell your administrator.", "error")
        return redirect(back_to)
    return send_file(path, mimetype=doc.media_type, as_attachment=True, download_name=doc.filename)
