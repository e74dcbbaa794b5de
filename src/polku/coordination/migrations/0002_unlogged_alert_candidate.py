"""The sweep's working table is emptied inside every sweep and never read outside it, so on PostgreSQL it need
not be written to the write-ahead log: UNLOGGED makes filling it cheaper (after a crash it is simply empty)."""

from django.db import migrations


def set_unlogged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE coordination_alertcandidate SET UNLOGGED")


def set_logged(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE coordination_alertcandidate SET LOGGED")


class Migration(migrations.Migration):
    dependencies = [("coordination", "0001_initial")]
    operations = [migrations.RunPython(set_unlogged, set_logged, elidable=False)]
