"""Per-table row counts and order-independent checksums of the whole database (``polku db checksum``).

A backup restored elsewhere is the same database when every table has the same count and checksum. The checksum
of a table is the sum, modulo 2**64, of the first 64 bits of the MD5 of each row's text (PostgreSQL's
``row::text``): it does not depend on the order of the rows or on their physical place, so a restored copy (whose
rows lie elsewhere on disk) gives the same figure, and any changed, added or removed row changes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import connections

MOD = 2**64


def tables(using: str = "default") -> list[str]:
    """Every table of the installed Django apps that exists, and Django's migration record."""
    connection = connections[using]
    names = set(connection.introspection.django_table_names(only_existing=True, include_views=False))
    existing = set(connection.introspection.table_names(include_views=False))
    names |= {"django_migrations"} & existing
    return sorted(names)


def _postgres(cursor: Any, quoted: str) -> tuple[int, int]:
    row_hash = "('x' || substr(md5(polku_row_::text), 1, 16))::bit(64)::bigint::numeric"
    cursor.execute(f"SELECT count(*), coalesce(sum({row_hash}), 0) FROM {quoted} AS polku_row_")  # noqa: S608
    count, total = cursor.fetchone()
    return int(count), int(Decimal(total)) % MOD


def _generic(cursor: Any, quoted: str) -> tuple[int, int]:
    cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608 - the name is quoted by the backend
    count = total = 0
    while rows := cursor.fetchmany(5000):
        for row in rows:
            text = "|".join("\\N" if v is None else v.hex() if isinstance(v, bytes | memoryview) else str(v)
                            for v in row)
            total += int(hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()[:16], 16)
            count += 1
    return count, total % MOD


def checksums(using: str = "default", only: list[str] | None = None,
              progress: Callable[[str], None] | None = None) -> dict[str, dict[str, Any]]:
    """``{table: {"rows": n, "checksum": "16 hex digits"}}`` for every table (or those in ``only``)."""
    connection = connections[using]
    compute = _postgres if connection.vendor == "postgresql" else _generic
    result: dict[str, dict[str, Any]] = {}
    with connection.cursor() as cursor:
        for name in only or tables(using):
            if progress:
                progress(name)
            count, total = compute(cursor, connection.ops.quote_name(name))
            result[name] = {"rows": count, "checksum": f"{total:016x}"}
    return result


def digest(per_table: dict[str, dict[str, Any]]) -> str:
    """One SHA-256 over every table's name, count and checksum: equal digests, equal databases."""
    text = "\n".join(f"{name}\t{v['rows']}\t{v['checksum']}" for name, v in sorted(per_table.items()))
    return hashlib.sha256(text.encode()).hexdigest()
