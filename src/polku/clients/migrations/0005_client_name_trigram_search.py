"""Trigram indexes for searching clients by part of a name (PostgreSQL only).

The client search matches a piece of the first or the last name anywhere (``icontains``: ``UPPER(name) LIKE
UPPER('%piece%')``), which no B-tree index serves; in a region of a million clients it read every row. The
``pg_trgm`` extension's GIN indexes on the upper-cased names answer such a match from the index. SQLite (the
embedded default, small regions) has no such index and needs none.
"""

from django.db import migrations

INDEXES = (
    ("client_first_name_trgm", "first_name"),
    ("client_last_name_trgm", "last_name"),
)


def create(apps, schema_editor):  # noqa: ANN001, ANN201 - migration signature
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON clients_client USING gin (UPPER({column}::text) gin_trgm_ops)"
        )


def drop(apps, schema_editor):  # noqa: ANN001, ANN201 - migration signature
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _column in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("clients", "0004_alter_client_municipality_code_and_more")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
