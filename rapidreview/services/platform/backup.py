"""Backups of special-category data: the database and the documents in one archive, readable by its owner only,
optionally encrypted to a public key, and a restore that checks every file before touching anything.

The archive is a tar file: ``manifest.json`` (release, migration, time, and a SHA-256 per file), the database
(``database.dump`` from ``pg_dump --format=custom``, or ``database.sqlite`` from SQLite's online backup) and
``documents/``. The database is dumped first and the documents copied second: documents are only ever added,
so every document the dump refers to is in the copy.

Encryption uses age (https://age-encryption.org, through ``pyrage``): the host that makes backups holds only
the public key (``age1...``), so a stolen backup or backup host reveals nothing; the private key stays
offline with the people who may restore. ``age -d -i key.txt`` decrypts the same file without this program.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import make_url

from rapidreview import clock
from rapidreview.config import Settings
from rapidreview.errors import RapidReviewError
from rapidreview.resources import installed_version
from rapidreview.store import schema_revisions
from rapidreview.store.db import make_engine

FORMAT = 1
AGE_MAGIC = b"age-encryption.org/v1"
PG_TIMEOUT = 3600


class BackupError(RapidReviewError, RuntimeError):
    pass


@dataclass(frozen=True)
class BackupResult:
    path: Path
    encrypted: bool
    documents: int
    revision: str | None
    size: int


# -- making a backup ------------------------------------------------------------------------------------------

def create_backup(settings: Settings, target: Path, *, schema: str | None = None,
                  recipients: list[str] | None = None) -> BackupResult:
    """Write a backup to ``target`` (a file, or a folder to put a dated file in), mode 0600."""
    recipients = [r.strip() for r in recipients or [] if r.strip()]
    age_recipients = _age_recipients(recipients)
    if target.is_dir():
        stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
        target = target / f"rapidreview-{stamp}.tar{'.age' if recipients else ''}"
    if target.exists():
        raise BackupError(f"{target} exists already; backups are never overwritten")
    if not target.parent.is_dir():
        raise BackupError(f"no folder {target.parent} to write the backup to")
    engine = make_engine(settings.database_url, schema=schema)
    try:
        with _private_scratch(target.parent) as scratch:
            revision = schema_revisions.current_of(engine)
            database_file = _dump_database(engine, settings.database_url, scratch)
            documents = _copy_documents(settings.documents_dir, scratch / "documents")
            manifest = _manifest(scratch, database_file, revision, engine.dialect.name)
            (scratch / "manifest.json").write_text(json.dumps(manifest, indent=2))
            archive = scratch / "backup.tar"
            with _private_file(archive) as handle, tarfile.open(fileobj=handle, mode="w") as tar:
                tar.add(scratch / "manifest.json", "manifest.json")
                tar.add(database_file, database_file.name)
                tar.add(scratch / "documents", "documents")
            if age_recipients:
                encrypted = scratch / "backup.tar.age"
                _private_file_create(encrypted)
                import pyrage

                pyrage.encrypt_file(str(archive), str(encrypted), age_recipients)
                archive = encrypted
            os.replace(archive, target)  # same filesystem: the scratch folder is beside the target
    finally:
        engine.dispose()
    return BackupResult(target, bool(age_recipients), documents, revision, target.stat().st_size)


def _age_recipients(recipients: list[str]) -> list[Any]:
    if not recipients:
        return []
    import pyrage

    found = []
    for recipient in recipients:
        try:
            found.append(pyrage.x25519.Recipient.from_str(recipient))
        except Exception:
            raise BackupError(f"{recipient[:20]!r}... is not an age public key (it starts age1...): make a key pair "
                              "with `age-keygen -o key.txt` and give its public key") from None
    return found


def _dump_database(engine: Engine, url: str, scratch: Path) -> Path:
    if engine.dialect.name == "sqlite":
        import sqlite3

        source = make_url(url).database
        if not source or not Path(source).is_file():
            raise BackupError(f"no SQLite database at {source} (DATABASE_URL): nothing to back up")
        out = scratch / "database.sqlite"
        _private_file_create(out)
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(out) as dst:
            src.backup(dst)  # a consistent copy while the app keeps writing
        return out
    with engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar()
    out = scratch / "database.dump"
    command = ["pg_dump", "--format=custom", "--no-owner", f"--file={out}"]
    if schema and schema != "public":
        command.append(f"--schema={schema}")
    _run_pg(command, url)
    os.chmod(out, 0o600)
    return out


def _copy_documents(source: Path, target: Path) -> int:
    """A fresh install has no documents/ yet: that is an empty copy, not an error."""
    target.mkdir(mode=0o700)
    if not source.is_dir():
        return 0
    count = 0
    for path in sorted(source.rglob("*")):
        if path.is_file() and not path.name.startswith("."):  # .tmp files of a write in progress
            destination = target / path.relative_to(source)
            destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            shutil.copy2(path, destination)
            os.chmod(destination, 0o600)
            count += 1
    return count


def _manifest(scratch: Path, database_file: Path, revision: str | None, dialect: str) -> dict[str, Any]:
    files = {str(p.relative_to(scratch)): _sha256(p) for p in sorted(scratch.rglob("*"))
             if p.is_file() and p.name != "manifest.json"}
    return {"format": FORMAT, "release": installed_version(), "created_at": clock.now().isoformat(),
            "database": dialect, "database_file": database_file.name, "migration": revision, "files": files}


# -- restoring ------------------------------------------------------------------------------------------------

def restore_backup(settings: Settings, source: Path, *, schema: str | None = None,
                   identity_file: Path | None = None) -> dict[str, Any]:
    """Restore a backup into an empty database and an empty documents folder; the manifest, as read."""
    if not source.is_file():
        raise BackupError(f"no backup at {source}")
    engine = make_engine(settings.database_url, schema=schema)
    try:
        _refuse_unless_empty(engine, settings.documents_dir)
        with _private_scratch(settings.data_dir if settings.data_dir.is_dir() else None) as scratch:
            archive = _decrypted(source, identity_file, scratch)
            unpacked = scratch / "unpacked"
            manifest = _unpack_checked(archive, unpacked)
            if manifest["database"] != engine.dialect.name:
                raise BackupError(f"the backup is of a {manifest['database']} database, DATABASE_URL is "
                                  f"{engine.dialect.name}: restore into the same kind")
            _restore_database(engine, settings.database_url, unpacked / manifest["database_file"])
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            if settings.documents_dir.exists():
                settings.documents_dir.rmdir()  # empty, checked above
            shutil.move(str(unpacked / "documents"), settings.documents_dir)
        _forget_schedulers(engine)
    finally:
        engine.dispose()
    return manifest


def _refuse_unless_empty(engine: Engine, documents: Path) -> None:
    if inspect(engine).get_table_names():
        raise BackupError("the database DATABASE_URL names is not empty: restore into a new, empty database "
                          "(and keep the one you have until the restore is checked)")
    if documents.is_dir() and any(documents.iterdir()):
        raise BackupError(f"{documents} is not empty: restore into an empty RAPIDREVIEW_DATA_DIR")


def _decrypted(source: Path, identity_file: Path | None, scratch: Path) -> Path:
    with source.open("rb") as handle:
        encrypted = handle.read(len(AGE_MAGIC)) == AGE_MAGIC
    if not encrypted:
        return source
    if identity_file is None:
        raise BackupError(f"{source} is encrypted: give the private key with --identity KEYFILE")
    import pyrage

    try:
        identities = [pyrage.x25519.Identity.from_str(line.strip()) for line in identity_file.read_text().splitlines()
                      if line.strip().startswith("AGE-SECRET-KEY-")]
    except OSError as exc:
        raise BackupError(f"cannot read the key file {identity_file}: {exc.strerror}") from None
    if not identities:
        raise BackupError(f"{identity_file} holds no age private key (a line AGE-SECRET-KEY-...)")
    out = scratch / "backup.tar"
    _private_file_create(out)
    try:
        pyrage.decrypt_file(str(source), str(out), identities)
    except Exception:
        raise BackupError(f"{source} could not be decrypted with the key in {identity_file}: "
                          "it was made for another key, or it is damaged") from None
    return out


def _unpack_checked(archive: Path, target: Path) -> dict[str, Any]:
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")  # no absolute paths, links out or devices
    except tarfile.TarError as exc:
        raise BackupError(f"{archive} is not a backup made by `rapidreview backup` ({exc})") from None
    try:
        manifest: dict[str, Any] = json.loads((target / "manifest.json").read_text())
    except (OSError, ValueError):
        raise BackupError("the backup has no readable manifest.json: it is not a backup made by "
                          "`rapidreview backup`") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"the backup's format {manifest.get('format')} is not one this release reads ({FORMAT})")
    (target / "documents").mkdir(exist_ok=True)
    for name, digest in manifest["files"].items():
        path = target / name
        if not path.is_file() or _sha256(path) != digest:
            raise BackupError(f"the backup is damaged: {name} is missing or differs from when it was made")
    return manifest


def _restore_database(engine: Engine, url: str, dump: Path) -> None:
    if engine.dialect.name == "sqlite":
        database = make_url(url).database
        assert database
        engine.dispose()
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):  # the empty database the check opened
            Path(database + suffix).unlink(missing_ok=True)
        shutil.copyfile(dump, database)
        os.chmod(database, 0o600)
        return
    _run_pg(["pg_restore", "--no-owner", "--exit-on-error", "--single-transaction", str(dump)], url)


def _forget_schedulers(engine: Engine) -> None:
    """The backup's live schedulers are the production host's: marked stopped, so that a restore elsewhere does
    not look as if a scheduler were running there (and /healthz/ready waits for this host's own)."""
    with engine.begin() as connection:
        now = clock.now()
        connection.execute(text("UPDATE scheduler_heartbeats SET stopped_at = :now WHERE stopped_at IS NULL"),
                           {"now": now})


# -- small helpers --------------------------------------------------------------------------------------------

def _run_pg(command: list[str], url: str) -> None:
    """Run a PostgreSQL client with the connection from DATABASE_URL; the password goes in the environment,
    not on the command line, where other users of the host could read it."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    conninfo = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed: on Debian, apt-get install postgresql-client "
                          "(the same major version as the server, or newer)")
    try:
        done = subprocess.run([*command, f"--dbname={conninfo}"], env=env, capture_output=True, text=True,
                              timeout=PG_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise BackupError(f"{command[0]} did not finish within {PG_TIMEOUT} seconds") from None
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()
        raise BackupError(f"{command[0]} failed: {detail[-1] if detail else done.returncode}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _private_file_create(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


@contextmanager
def _private_file(path: Path) -> Iterator[Any]:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        yield handle


@contextmanager
def _private_scratch(beside: Path | None) -> Iterator[Path]:
    """A folder only this user can read (mkdtemp makes it 0700), removed afterwards whatever happens."""
    folder = Path(tempfile.mkdtemp(prefix=".rapidreview-backup-", dir=beside))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)

