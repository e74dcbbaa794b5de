"""Migration support for the sweep's working tables: on PostgreSQL they are UNLOGGED (never written to the
write-ahead log; after a crash simply empty), since every sweep empties them and nothing reads them between
sweeps."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def unlogged(*tables: str) -> migrations.RunPython:
    """A migration operation that makes ``tables`` UNLOGGED on PostgreSQL (reversed: LOGGED again)."""

    def set_to(logged: str) -> Any:
        def run(apps: Any, schema_editor: Any) -> None:
            if schema_editor.connection.vendor == "postgresql":
                for table in tables:
                    schema_editor.execute(f"ALTER TABLE {table} SET {logged}")

        return run

    return migrations.RunPython(set_to("UNLOGGED"), set_to("LOGGED"), elidable=False)
