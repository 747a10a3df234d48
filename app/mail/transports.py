"""Mail transports behind one interface. Only ``file`` exists yet; smtp, ews and graph come next."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import Protocol

from app.mail.message import OutgoingMail, to_email_message


class TemporaryMailError(RuntimeError):
    """Try again later (server busy, network down)."""


class PermanentMailError(RuntimeError):
    """Retrying will not help (bad address, rejected content): a person must look."""


class Transport(Protocol):
    name: str

    def send(self, mail: OutgoingMail, sent_at: datetime) -> str:
        """Deliver ``mail``; return the provider's id for it."""
        ...


class FileTransport:
    """Writes each message as an ``.eml`` file: the default, and what the simulator shows users."""

    name = "file"

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, mail: OutgoingMail, sent_at: datetime) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9.-]+", "_", mail.message_id.strip("<>"))
        path = self.directory / f"{sent_at.strftime('%Y%m%dT%H%M%SZ')}-{stem}.eml"
        data = to_email_message(mail, sent_at).as_bytes()
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)  # a reader never sees half a message
        except OSError as exc:
            raise TemporaryMailError(f"cannot write {path}: {exc}") from exc
        return str(path)


def make_transport(name: str, outbox_dir: Path) -> Transport:
    if name == "file":
        return FileTransport(outbox_dir)
    raise PermanentMailError(f"mail transport {name!r} is not available yet; use 'file'")
