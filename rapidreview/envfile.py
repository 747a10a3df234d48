"""The environment file (``/etc/rapidreview/env``), read the way systemd's ``EnvironmentFile=`` reads it.

Its format is deliberately the plain subset both agree on: one ``NAME=value`` per line; blank lines and lines
starting with ``#`` are ignored; spaces around the value are dropped; no quotes, no ``export``, no ``$``
expansion, no backslashes. Anything else is refused naming the line, because systemd and a shell would read it
differently and the web app, the scheduler and an operator's command would then run with different settings.
``rapidreview --env-file FILE COMMAND`` loads it for one command.
"""

from __future__ import annotations

import re
from pathlib import Path

from rapidreview.config import ConfigError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse(text: str, source: str = "the environment file") -> dict[str, str]:
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        where = f"{source}, line {number}"
        if line.startswith("export "):
            raise ConfigError(f"{where}: remove 'export' (systemd's EnvironmentFile does not take it)")
        name, equals, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not equals or not _NAME.match(name):
            raise ConfigError(f"{where}: expected NAME=value")
        if value[:1] in ("'", '"') or "\\" in value or "$" in value:
            raise ConfigError(f"{where}: {name} has quotes, a backslash or a $; write the value plainly "
                              "(systemd and a shell would read it differently)")
        values[name] = value
    return values


def load(path: Path) -> dict[str, str]:
    try:
        return parse(path.read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        raise ConfigError(f"--env-file: cannot read {path}: {exc.strerror}") from None
