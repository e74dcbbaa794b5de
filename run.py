#!/usr/bin/env python3
"""Polku's two quick-start commands; needs only Python 3.11+.

    python3 run.py demo     install what the demo needs, load a demo region and serve it on 127.0.0.1:8000
    python3 run.py test     install what the tests need, run the linters and the whole test suite on
                            PostgreSQL (if one is reachable) and on SQLite, then the browser tests
                            (Debian's Chromium, installed if missing)

Each creates ./.venv on first use and re-installs when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def ensure_venv(extras: str) -> None:
    """Create .venv and install Polku (with ``extras``) unless pyproject.toml is unchanged since last time."""
    if sys.version_info < (3, 11):
        sys.exit(f"Polku needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    stamp = VENV / f".polku-installed-{extras or 'base'}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest and PYTHON.exists():
        return
    if not PYTHON.exists():
        say("Creating the virtual environment .venv")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    say("Installing Polku and its dependencies into .venv (first run takes a minute)")
    target = f".[{extras}]" if extras else "."
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", target],
                   check=True, cwd=ROOT)
    stamp.write_text(digest)


def demo(args: list[str]) -> int:
    ensure_venv("")
    return subprocess.call([str(BIN / "polku"), "demo", *args], cwd=ROOT)


def postgres_url() -> str | None:
    """A reachable PostgreSQL server (trying to start the local cluster once), or None."""
    url = os.environ.get("POLKU_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    probe = ("import sys, psycopg\n"
             "try:\n    psycopg.connect(sys.argv[1], connect_timeout=3).close()\n"
             "except Exception as exc:\n    print(exc, file=sys.stderr); sys.exit(1)\n")

    def reachable() -> bool:
        return subprocess.run([str(PYTHON), "-c", probe, url], capture_output=True).returncode == 0

    if reachable():
        return url
    ctl = shutil.which("pg_ctlcluster")
    versions = sorted(Path("/etc/postgresql").glob("*")) if Path("/etc/postgresql").exists() else []
    if ctl and versions:
        say("PostgreSQL is not answering; trying to start the local cluster")
        subprocess.run([ctl, "--skip-systemctl-redirect", versions[-1].name, "main", "start"], capture_output=True)
        for _ in range(10):
            if reachable():
                return url
            time.sleep(1)
    return None


CHROMIUM = Path(os.environ.get("POLKU_CHROMIUM", "/usr/bin/chromium"))


def apt_install(package: str, purpose: str) -> None:
    """Install a Debian package with apt-get when this is a root shell on Debian (else do nothing)."""
    apt = shutil.which("apt-get")
    if apt and hasattr(os, "geteuid") and os.geteuid() == 0:
        say(f"Installing Debian's {package} {purpose}")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run([apt, "install", "-y", "-q", package], env=env, capture_output=True).returncode != 0:
            subprocess.run([apt, "update", "-q"], env=env, capture_output=True)
            subprocess.run([apt, "install", "-y", "-q", package], env=env, capture_output=True)


def ensure_chromium() -> bool:
    """Debian's Chromium for the browser tests (never a browser downloaded by a test tool): installed with
    apt-get when it is missing and this is a root shell on Debian."""
    if CHROMIUM.exists():
        return True
    apt_install("chromium", "for the browser tests")
    return CHROMIUM.exists()


def ensure_pdftoppm() -> bool:
    """poppler-utils' pdftoppm, with which the tests turn the PDF reports into page images."""
    if shutil.which("pdftoppm"):
        return True
    apt_install("poppler-utils", "to check the PDF reports")
    return shutil.which("pdftoppm") is not None


def run_pytest(label: str, env: dict[str, str], args: list[str], totals: dict[str, int]) -> int:
    say(f"Test suite on {label}")
    with tempfile.TemporaryDirectory(prefix="polku-junit-") as out:
        report = Path(out) / "report.xml"
        code = subprocess.call([str(PYTHON), "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                f"--junitxml={report}", *args], cwd=ROOT, env=env)
        if report.exists():
            suites = ElementTree.parse(report).getroot()  # noqa: S314 - our own pytest report
            for suite in suites.iter("testsuite"):
                tests, skipped = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
                failed = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
                totals["passed"] += tests - skipped - failed
                totals["failed"] += failed
                totals["skipped"] += skipped
    if code == 5:  # pytest: no tests collected is a failure here
        say(f"No tests ran on {label}")
        return 1
    return code


def test(args: list[str]) -> int:
    ensure_venv("dev")
    failures = 0
    say("ruff check")
    failures += subprocess.call([str(BIN / "ruff"), "check", "src", "tests", "bench", "run.py"], cwd=ROOT) != 0
    say("mypy")
    failures += subprocess.call([str(BIN / "mypy")], cwd=ROOT) != 0
    if not ensure_pdftoppm():
        say("pdftoppm (poppler-utils) not found: the PDF report test is skipped (it fails under CI=true)")
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    # The suite runs on defaults: a database URL or POLKU_* settings of the caller's environment must not leak in.
    base_env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL" and not k.startswith("POLKU_")}
    url = postgres_url()
    if url is None:
        if os.environ.get("CI", "").lower() == "true":
            say("PostgreSQL is required under CI=true and none is reachable at "
                + os.environ.get("POLKU_TEST_POSTGRES_URL", DEFAULT_POSTGRES))
            return 1
        say("PostgreSQL not found (set POLKU_TEST_POSTGRES_URL to use one); running on SQLite only")
    else:
        # A database name of this run's own, so parallel runs on one server never collide; pytest-django
        # creates test_<name> fresh and drops it afterwards.
        pg_url = urlsplit(url)._replace(path=f"/polku_{os.getpid()}").geturl()
        failures += run_pytest("PostgreSQL", {**base_env, "DATABASE_URL": pg_url}, ["--create-db", *args], totals)
    with tempfile.TemporaryDirectory(prefix="polku-test-") as data_dir:
        failures += run_pytest("SQLite", {**base_env, "POLKU_DATA_DIR": data_dir}, args, totals)
    # The browser tests seed one region for their whole run, so they run as a pytest run of their own
    # (``pytest --browser``), on PostgreSQL when there is one, else on SQLite. Given test paths that name no
    # browser test, they are left out.
    if not args or any("browser" in arg for arg in args):
        if not ensure_chromium():
            if os.environ.get("CI", "").lower() == "true":
                say(f"Chromium is required under CI=true and none is at {CHROMIUM} (apt-get install chromium)")
                return 1
            say(f"Chromium not found at {CHROMIUM} and could not be installed; skipping the browser tests")
        else:
            browser_args = ["--browser", *[arg for arg in args if "tests/" not in arg or "browser" in arg]]
            if url is not None:
                browser_url = urlsplit(url)._replace(path=f"/polku_browser_{os.getpid()}").geturl()
                failures += run_pytest("a browser (Chromium) over PostgreSQL",
                                       {**base_env, "DATABASE_URL": browser_url},
                                       ["--create-db", *browser_args], totals)
            else:
                with tempfile.TemporaryDirectory(prefix="polku-browser-") as data_dir:
                    failures += run_pytest("a browser (Chromium) over SQLite", {**base_env, "POLKU_DATA_DIR": data_dir},
                                           browser_args, totals)
    print(f"polku: {totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped", flush=True)
    return 1 if failures or totals["failed"] else 0


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"demo", "test"}:
        print(__doc__)
        return 2
    command, args = sys.argv[1], sys.argv[2:]
    return demo(args) if command == "demo" else test(args)


if __name__ == "__main__":
    sys.exit(main())
