"""The README's quick start is what CI runs, and holds exactly two commands."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick_start_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_readme__quick_start_has_exactly_two_commands() -> None:
    commands = quick_start_commands()
    assert commands == ["python3 run.py demo", "python3 run.py test"]


def test_ci__runs_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    executed = [line.strip() for line in script.splitlines() if line.strip() and not line.strip().startswith("#")]
    test_command = quick_start_commands()[1]
    assert any(line.endswith(test_command) for line in executed), executed
