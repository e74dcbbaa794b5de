from django.db import migrations


def forwards(apps, schema_editor):
    from polku.assessments.instruments import sync_instruments

    sync_instruments(apps.get_model("assessments", "Instrument"), apps.get_model("assessments", "InstrumentItem"))


class Migration(migrations.Migration):
    dependencies = [("assessments", "0002_shipped_instruments")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
