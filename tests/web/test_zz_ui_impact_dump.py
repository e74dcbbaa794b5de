from typing import Any
from tests.web.test_impact_pages import trained, Trained, login, _life_situation  # noqa
from tests import factories as f
from polku.organisations.models import StaffRole


def test_dump(trained: Any, joint: Any) -> None:
    _life_situation(joint, 3)
    for who in ("coordinator", "social_worker"):
        html = login(getattr(joint, who)).get(f"/clients/{joint.client.pk}/").content.decode()
        open(f"/tmp/ui_impact/dump/client-{who}.html", "w").write(html)
    manager = f.staff(joint.employment, StaffRole.MANAGER)
    for lang in ("en", "fi"):
        html = login(manager, lang).get("/impact/").content.decode()
        open(f"/tmp/ui_impact/dump/impact-{lang}.html", "w").write(html)
