"""Reading one setting from the environment: a value, or a secret given directly or in a file.

A leaf shared by ``rapidreview.config`` and the modules that read their own settings with it (organisations'
identity providers), so none of them imports another to read a variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names the variable and what to do."""


def value(env: Mapping[str, str], name: str) -> str:
    return (env.get(name) or "").strip()


def secret(env: Mapping[str, str], name: str) -> str:
    """``NAME`` or the contents of the file named by ``NAME_FILE`` (for container secrets)."""
    direct, path = env.get(name) or "", value(env, f"{name}_FILE")
    if direct and path:
        raise ConfigError(f"set {name} or {name}_FILE, not both")
    if not path:
        return direct
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise ConfigError(f"{name}_FILE: cannot read {path}: {exc.strerror}") from None
