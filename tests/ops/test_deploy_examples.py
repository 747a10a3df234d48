"""The shipped deployment files agree with the application and with docs/operations.md: every unit runs a
command this release has, reads the configuration file the book tells the operator to write, and the nginx
site sends the headers the app trusts behind one proxy, so an operator who copies them gets a working service."""

from __future__ import annotations

import configparser
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from flask import request

from rapidreview.runtime import Runtime
from rapidreview.web import create_app
from rapidreview.web.access import PUBLIC, allow
from rapidreview.web.config import CONFIGS, TestConfig
from tests.conftest import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
BOOK = (PROJECT_ROOT / "docs" / "operations.md").read_text()
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
RELEASE_BIN = "/opt/rapidreview/current/bin/"


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string(path.read_text().replace("\\\n", " "))
    return parser


def _exec_start(path: Path) -> list[str]:
    return shlex.split(_unit(path)["Service"]["ExecStart"].replace("%%", "%"))


def test_every_shipped_unit_is_one_the_book_enables() -> None:
    enabled = re.search(r"systemctl enable --now ([\w\- ]+)", BOOK)
    assert enabled, "docs/operations.md has no `systemctl enable --now` step"
    assert sorted(enabled.group(1).split()) == sorted(p.stem for p in UNITS)


@pytest.mark.parametrize("unit", [p for p in UNITS if p.stem != "rapidreview-unoserver"], ids=lambda p: p.stem)
def test_each_app_unit_reads_the_books_configuration_file_and_runs_from_the_release(unit: Path) -> None:
    service = _unit(unit)["Service"]
    assert service["EnvironmentFile"] == "/etc/rapidreview/env" and "/etc/rapidreview/env" in BOOK
    assert service["WorkingDirectory"] in BOOK
    assert _exec_start(unit)[0].startswith(RELEASE_BIN) and "/opt/rapidreview/current" in BOOK
    for path in service.get("ReadWritePaths", "").split():
        assert path in BOOK or path in (DEPLOY / "tmpfiles.d-rapidreview.conf").read_text(), path


def test_the_scheduler_unit_runs_a_command_this_release_has() -> None:
    command = _exec_start(DEPLOY / "systemd" / "rapidreview-scheduler.service")
    assert Path(command[0]).name == "rapidreview"
    result = subprocess.run([sys.executable, "-m", "rapidreview.cli", *command[1:], "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_the_web_unit_serves_the_production_app_with_gunicorn() -> None:
    command = _exec_start(DEPLOY / "systemd" / "rapidreview-web.service")
    assert Path(command[0]).name == "gunicorn"
    requirements = (PROJECT_ROOT / "setup.cfg").read_text()
    assert re.search(r"^\s+gunicorn\b", requirements, re.M), "gunicorn is not a dependency of the package"
    target = command[-1]
    module, _, call = target.partition(":")
    assert module == "rapidreview.web"
    factory = re.fullmatch(r'create_app\("(\w+)"\)', call)
    assert factory and factory.group(1) in CONFIGS
    # The request timeout nginx waits for is longer than gunicorn's, which is longer than a PDF may take.
    timeout = int(command[command.index("--timeout") + 1])
    nginx = (DEPLOY / "nginx" / "rapidreview.conf").read_text()
    read_timeout = int(re.search(r"proxy_read_timeout (\d+)s;", nginx).group(1))  # type: ignore[union-attr]
    assert read_timeout > timeout


def test_behind_the_shipped_nginx_site_the_app_sees_the_client_and_https(runtime: Runtime) -> None:
    """The headers nginx sets (its variables filled in as nginx would for a client at 203.0.113.9 over HTTPS)
    reach the app, configured as the site's comment says (one trusted proxy), as the client's own."""
    nginx = (DEPLOY / "nginx" / "rapidreview.conf").read_text()
    assert "RAPIDREVIEW_TRUSTED_PROXIES=1" in nginx and "RAPIDREVIEW_TRUSTED_PROXIES" in BOOK
    variables = {"$remote_addr": "203.0.113.9", "$scheme": "https", "$host": "rapidreview.council.example",
                 "$server_port": "443"}
    headers = {name: variables[value] for name, value in re.findall(r"proxy_set_header ([\w-]+) (\$\w+);", nginx)}
    assert set(headers) >= {"X-Forwarded-For", "X-Forwarded-Proto", "Host"}

    class BehindNginx(TestConfig):
        TRUSTED_PROXIES = 1

    app = create_app(BehindNginx, runtime=runtime)
    seen: dict[str, str] = {}

    @app.get("/_seen")
    @allow(PUBLIC)  # a probe route, open like the health check
    def _seen() -> str:
        seen.update(addr=str(request.remote_addr), scheme=request.scheme, host=request.host)
        return "ok"

    response = app.test_client().get("/_seen", headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert response.status_code == 200
    assert seen == {"addr": "203.0.113.9", "scheme": "https", "host": "rapidreview.council.example"}
