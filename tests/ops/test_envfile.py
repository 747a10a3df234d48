"""The environment file is read as systemd's EnvironmentFile= reads it, and anything a shell would read
differently is refused naming the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapidreview.cli import main
from rapidreview.config import ConfigError
from rapidreview.envfile import parse

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "env.example"


def test_plain_lines_comments_and_spaces_in_values() -> None:
    assert parse("# comment\n\nA=1\n  B = two words  \nC=\n") == {"A": "1", "B": "two words", "C": ""}


@pytest.mark.parametrize("line", ["export A=1", 'A="quoted"', "A='quoted'", "A=$HOME/x", "A=back\\slash", "no equals",
                                  "1A=x"])
def test_lines_systemd_and_a_shell_read_differently_are_refused(line: str) -> None:
    with pytest.raises(ConfigError, match="line 2"):
        parse(f"OK=1\n{line}\n", "env")


def test_the_shipped_example_is_in_the_format_and_loads_for_a_command(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse(EXAMPLE.read_text())["RAPIDREVIEW_TRUSTED_PROXIES"] == "1"
    env = tmp_path / "env"
    env.write_text(f"DATABASE_URL=sqlite:///{tmp_path / 'rr.db'}\nRAPIDREVIEW_DATA_DIR={tmp_path}\n")
    for name in ("DATABASE_URL", "RAPIDREVIEW_DATA_DIR"):  # so that what the file sets is undone afterwards
        monkeypatch.setenv(name, "set by the file")
    assert main(["--env-file", str(env), "db", "upgrade"]) == 0
    assert (tmp_path / "rr.db").is_file()
