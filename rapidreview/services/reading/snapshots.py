"""Plain copies of database rows for pages: a row's columns as a frozen dataclass, detached from the session.

A page gets what the service read inside its transaction and nothing more: a snapshot has no relationships
to follow and no lazy loads, so a template cannot query the database after the transaction has ended, and
it cannot change what it shows. Where a page needs more than a row's columns, its read model names it
(``CaseSummary``, ``TaskDetail`` ...).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import inspect

from rapidreview.store.models import Base

# Secrets never leave the service that checks them, not even towards a page that would not show them.
NEVER_COPIED = frozenset({"password_hash", "totp_secret", "totp_last_step", "token_hash"})


@cache
def _snapshot_class(model: type[Base]) -> type[Any]:
    names = [attribute.key for attribute in inspect(model).column_attrs if attribute.key not in NEVER_COPIED]
    # Read-only properties of the model that pages use are computed from the columns once, here.
    names += [name for name, value in vars(model).items() if isinstance(value, property)]
    return dataclasses.make_dataclass(f"{model.__name__}Snapshot", names, frozen=True)


Row = TypeVar("Row", bound=Base)


def snapshot(row: Row) -> Row:
    """``row``'s columns (and plain properties) as a frozen dataclass with the same attribute names.

    Typed as the row's own class so that reading a column is checked; it has no relationships, and setting
    an attribute raises ``FrozenInstanceError``."""
    cls = _snapshot_class(type(row))
    copy: Row = cls(**{field.name: getattr(row, field.name) for field in dataclasses.fields(cls)})
    return copy


def snapshots(rows: Iterable[Row]) -> list[Row]:
    return [snapshot(row) for row in rows]
