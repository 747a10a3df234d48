"""``rapidreview backup`` and ``rapidreview restore``: the database and the documents (docs/operations.md)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rapidreview.config import ConfigError, from_environment
from rapidreview.services.platform.backup import BackupError, create_backup, restore_backup

RECIPIENT_ENV = "RAPIDREVIEW_BACKUP_RECIPIENT"


def register(subparsers: argparse._SubParsersAction) -> None:
    backup = subparsers.add_parser("backup", help="back up the database and the documents to one file (mode 0600)")
    backup.add_argument("target", type=Path, help="a folder (a dated file is made in it) or a file name")
    backup.add_argument("--recipient", action="append", default=[], metavar="AGE_PUBLIC_KEY",
                        help=f"encrypt to this age public key (age1...); repeatable; default ${RECIPIENT_ENV}")
    backup.add_argument("--no-encryption", action="store_true",
                        help=f"write an unencrypted backup even though {RECIPIENT_ENV} is set")
    backup.set_defaults(handler=backup_cmd)

    restore = subparsers.add_parser("restore", help="restore a backup into an empty database and data folder")
    restore.add_argument("source", type=Path, help="the backup file")
    restore.add_argument("--identity", type=Path, metavar="KEYFILE", help="the age private key, for an encrypted backup")
    restore.set_defaults(handler=restore_cmd)


def backup_cmd(args: argparse.Namespace) -> int:
    recipients = list(args.recipient)
    if not recipients and not args.no_encryption and os.environ.get(RECIPIENT_ENV, "").strip():
        recipients = [r for r in os.environ[RECIPIENT_ENV].split(",") if r.strip()]
    try:
        result = create_backup(from_environment(), args.target, recipients=recipients)
    except (ConfigError, BackupError) as exc:
        print(f"rapidreview: error: backup not made: {exc}", file=sys.stderr)
        return 2
    print(f"backup written to {result.path} ({result.size} bytes, {result.documents} documents, database at "
          f"migration {result.revision}, {'encrypted' if result.encrypted else 'NOT encrypted'})")
    return 0


def restore_cmd(args: argparse.Namespace) -> int:
    try:
        manifest = restore_backup(from_environment(), args.source, identity_file=args.identity)
    except (ConfigError, BackupError) as exc:
        print(f"rapidreview: error: nothing restored: {exc}", file=sys.stderr)
        return 2
    print(f"restored the backup made at {manifest['created_at']} by release {manifest['release']} "
          f"(migration {manifest['migration']}), {sum(n.startswith('documents/') for n in manifest['files'])} documents")
    print("next: `rapidreview db upgrade`, then `rapidreview status`, and read it before starting the services "
          "(docs/operations.md, Restoring)")
    return 0
