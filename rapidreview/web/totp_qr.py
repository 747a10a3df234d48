"""The authenticator set-up link as a QR code, drawn on the server (no script, no third party sees the key)."""

from __future__ import annotations

import segno


def qr_code(uri: str) -> str:
    """An SVG data URI of ``uri``'s QR code, for an <img> (the page's policy allows data: images)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=4, dark="#0b0c0c"))


def grouped(key: str) -> str:
    """The key in groups of four, as authenticator apps accept it, so it is easy to read and wraps on a phone."""
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))
