"""Process versions: the BPMN and form files new cases run on. Running cases keep their own."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import clock
from app.engine.process import ProcessBundle
from app.services import audit
from app.services.runtime import Runtime
from app.store.db import transaction
from app.store.models import ProcessFile, ProcessVersion


def active_version(session: Session) -> ProcessVersion | None:
    return session.scalars(select(ProcessVersion).where(ProcessVersion.active.is_(True)).limit(1)).first()


def bundle_of(version: ProcessVersion) -> ProcessBundle:
    return ProcessBundle({f.path.split("/", 1)[1]: f.content for f in version.files if f.path.startswith("bpmn/")})


def deploy_directory(rt: Runtime, bpmn_dir: Path, forms_dir: Path, *, deployed_by: str, note: str = "") -> ProcessVersion:
    """Parse, store and activate the files in ``bpmn_dir`` and ``forms_dir``; reuse an identical version."""
    bundle = ProcessBundle.from_directory(bpmn_dir)
    rt.compiled(bundle, rt.settings.main_process_id)  # refuse a version that does not parse
    files = {f"bpmn/{name}": content for name, content in bundle.files.items()}
    files.update({f"forms/{p.name}": p.read_bytes() for p in sorted(forms_dir.glob("*.json"))})
    digest = hashlib.sha256(b"".join(k.encode() + hashlib.sha256(v).digest() for k, v in sorted(files.items()))).hexdigest()
    with transaction(rt.sessions) as session:
        current = active_version(session)
        if current is not None and current.sha256 == digest:
            return current
        number = (session.scalar(select(func.max(ProcessVersion.number))) or 0) + 1
        if current is not None:
            current.active = False
        version = ProcessVersion(number=number, process_id=rt.settings.main_process_id, sha256=digest,
                                 deployed_by=deployed_by, deployed_at=clock.now(), note=note, active=True)
        version.files = [ProcessFile(path=path, sha256=hashlib.sha256(content).hexdigest(), content=content)
                         for path, content in sorted(files.items())]
        session.add(version)
        session.flush()
        audit.record(session, None, "process_deployed", actor=deployed_by, version=number, sha256=digest, note=note)
        return version
