"""The package installs from a built wheel into a fresh virtualenv and runs from any directory.

This is what an operator does (docs/operations.md, Installing): build or download the wheel, install it with
its dependencies, and run it with no checkout in sight. A file the build forgot (a BPMN file, a form, a
migration, a template, a front-end asset) fails here, because the new virtualenv sees only what the wheel
carries: it is created without the project's .venv and without system site-packages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rapidreview import resources
from rapidreview.config import PROJECT_ROOT

pytestmark = pytest.mark.slow

SOURCES = ("setup.py", "setup.cfg", "pyproject.toml", "MANIFEST.in", "README.md", "rapidreview",
           *resources.BUNDLED_FOLDERS)


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _copy_source(target: Path) -> None:
    """The checkout as a fresh clone plus `npm ci` has it: no build leftovers, no bundled copy."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "bundled", "*.egg-info")
    for name in SOURCES:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    for folder, _patterns in resources.VENDOR_FILES.values():
        shutil.copytree(PROJECT_ROOT / "node_modules" / folder, target / "node_modules" / folder)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bin/ of a new virtualenv with the wheel and its dependencies installed, nothing else."""
    base = tmp_path_factory.mktemp("install")
    source, wheels, venv = base / "source", base / "wheels", base / "venv"
    source.mkdir()
    _copy_source(source)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(wheels), str(source)], base)
    (wheel,) = wheels.glob("rapidreview-*.whl")
    _run([sys.executable, "-m", "venv", str(venv)], base)
    _run([str(venv / "bin" / "pip"), "install", "--quiet", str(wheel)], base, timeout=600)
    return venv / "bin"


def _clean_env(home: Path, **extra: str) -> dict[str, str]:
    # No RAPIDREVIEW_* or DATABASE_URL from the developer's shell, and no PYTHONPATH back into the checkout.
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8", **extra}


def test_the_installed_command_reports_its_version_and_validates_the_bundled_process(installed: Path,
                                                                                     tmp_path: Path) -> None:
    env = _clean_env(tmp_path)
    assert _run([str(installed / "rapidreview"), "--version"], tmp_path, env).strip() == "rapidreview 0.2.0"
    out = _run([str(installed / "rapidreview"), "validate"], tmp_path, env)
    assert out.startswith("valid: information_sharing.bpmn, rapid_review.bpmn with")
    location = _run([str(installed / "python"), "-c", "from rapidreview import resources; print(resources.root())"],
                    tmp_path, env).strip()
    assert "site-packages" in location and not location.startswith(str(PROJECT_ROOT))


def test_every_file_of_the_package_is_in_the_wheel(installed: Path) -> None:
    site = next((installed.parent / "lib").glob("python3*/site-packages"))
    ours = {p.relative_to(PROJECT_ROOT) for p in (PROJECT_ROOT / "rapidreview").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and "bundled" not in p.parts}
    missing = sorted(str(p) for p in ours if not (site / p).is_file())
    assert not missing, f"left out of the wheel (add them to setup.cfg's package_data): {missing}"


def test_the_installed_package_simulates_a_scenario_from_another_directory(installed: Path, tmp_path: Path) -> None:
    shutil.copy(PROJECT_ROOT / "scenarios" / "happy_path.json", tmp_path / "scenario.json")
    out = _run([str(installed / "rapidreview"), "simulate", "scenario.json", "--json", "--out", "run"], tmp_path,
               _clean_env(tmp_path))
    result = json.loads(out)
    assert result["case"]["status"] == "submitted" and result["case"]["late"] is False
    assert any(e["type"] == "email_sent" for e in result["events"])
    assert list((tmp_path / "run" / "outbox").glob("*.eml"))


def test_the_installed_package_migrates_a_database_and_serves_its_pages_and_assets(installed: Path,
                                                                                   tmp_path: Path) -> None:
    env = _clean_env(tmp_path, RAPIDREVIEW_DATA_DIR=str(tmp_path / "data"), RAPIDREVIEW_SECRET_KEY="x" * 40,
                     DATABASE_URL=f"sqlite:///{tmp_path / 'data' / 'rr.db'}")
    out = _run([str(installed / "rapidreview"), "db", "upgrade"], tmp_path, env)
    assert out.startswith("created the database schema: applied") and "0001 initial schema" in out
    probe = """
from rapidreview.web import create_app
client = create_app("production").test_client()
for path in ("/sign-in", "/static/css/app.css", "/vendor/govuk/govuk-frontend.min.css",
             "/vendor/govuk/govuk-frontend.min.js", "/assets/images/favicon.ico",
             "/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js", "/vendor/bpmn-js/assets/bpmn-js.css"):
    print(path, client.get(path, base_url="https://rr.example").status_code)
from rapidreview.services.people import users
print("common passwords", len(users.common_passwords()))
"""
    lines = _run([str(installed / "python"), "-c", probe], tmp_path, env).splitlines()
    statuses = dict(line.rsplit(" ", 1) for line in lines if line.startswith("/"))
    assert statuses == {path: "200" for path in statuses} and len(statuses) == 7, lines
    assert int(lines[-1].split()[-1]) >= 50  # the password check's list of common passwords came along
