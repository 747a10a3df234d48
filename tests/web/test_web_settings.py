"""The web app's settings come from the one settings object (rapidreview.config), read from the environment
once: the session key (or its file), the trusted proxies and the metrics token."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapidreview.config import ConfigError, Settings, from_environment
from rapidreview.web import create_app


def test_the_secret_key_comes_from_the_environment_or_a_file_and_is_never_shown(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("from-a-file-0123456789abcdef\n")
    settings = from_environment({"RAPIDREVIEW_SECRET_KEY_FILE": str(key_file), "RAPIDREVIEW_METRICS_TOKEN": "tok",
                                 "RAPIDREVIEW_TRUSTED_PROXIES": "1"})
    assert settings.secret_key == "from-a-file-0123456789abcdef" and settings.metrics_token == "tok"
    assert settings.trusted_proxies == 1
    assert "from-a-file" not in repr(settings) and "tok'" not in repr(settings)
    with pytest.raises(ConfigError, match="not both"):
        from_environment({"RAPIDREVIEW_SECRET_KEY": "x", "RAPIDREVIEW_SECRET_KEY_FILE": str(key_file)})
    with pytest.raises(ConfigError, match="RAPIDREVIEW_TRUSTED_PROXIES"):
        from_environment({"RAPIDREVIEW_TRUSTED_PROXIES": "many"})


def test_production_refuses_to_start_without_a_key_and_uses_the_one_it_is_given(tmp_path: Path) -> None:
    base = Settings(database_url=f"sqlite:///{tmp_path / 'db.sqlite'}", data_dir=tmp_path / "data")
    with pytest.raises(RuntimeError, match="RAPIDREVIEW_SECRET_KEY"):
        create_app("production", settings=base)
    from dataclasses import replace

    app = create_app("production", settings=replace(base, secret_key="k" * 40))
    assert app.config["SECRET_KEY"] == "k" * 40
    assert len(create_app("development", settings=base).config["SECRET_KEY"]) == 64  # generated for make run
