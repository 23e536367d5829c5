"""Production mode: no demo users or secrets, one bootstrap admin who must change the password (ACC-05)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ebr.cli import main
from ebr.config import DEMO_SECRET, ConfigError, Settings, from_env

STRONG_SECRET = "p" * 16 + "Q" * 16 + "7"


def _env(tmp_path: Path, mode: str) -> dict[str, str]:
    return {
        "EBR_ENV": mode,
        "EBR_INSTANCE_PATH": str(tmp_path / "instance"),
        "EBR_SECRET_KEY": STRONG_SECRET,
        "EBR_DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "EBR_SECURE_COOKIES": "1",
        "EBR_BUILD_COMMIT": "abc123def456",
    }


@pytest.mark.req("ACC-05")
def test_production_start_creates_only_a_bootstrap_admin_and_refuses_the_demo_seed(tmp_path: Path) -> None:
    runner, env = CliRunner(), _env(tmp_path, "production")
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    started = runner.invoke(main, ["serve", "--check"], env=env)
    assert started.exit_code == 0, started.output
    assert "one-time password" in started.output
    listed = runner.invoke(main, ["users", "list"], env=env)
    lines = [line.split("\t") for line in listed.output.strip().splitlines()]
    assert [(cols[1], cols[3]) for cols in lines] == [("admin", "admin")]
    assert lines[0][4].endswith("must-change-password")
    demo = runner.invoke(main, ["demo", "--no-serve"], env=env)
    assert demo.exit_code != 0
    assert "production" in demo.output
    assert runner.invoke(main, ["users", "list"], env=env).output == listed.output


@pytest.mark.req("ACC-05")
def test_production_refuses_a_database_that_holds_demo_data(tmp_path: Path) -> None:
    runner = CliRunner()
    seeded = runner.invoke(main, ["demo", "--no-serve"], env={**_env(tmp_path, "demo"), "EBR_FAST_HASHING": "1"})
    assert seeded.exit_code == 0, seeded.output
    refused = runner.invoke(main, ["serve", "--check"], env=_env(tmp_path, "production"))
    assert refused.exit_code != 0
    assert "demo data" in refused.output


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"EBR_SECRET_KEY": DEMO_SECRET}, "EBR_SECRET_KEY"),
        ({"EBR_FAST_HASHING": "1"}, "hashing"),
        ({"EBR_SECURE_COOKIES": "0"}, "secure cookies"),
        ({"EBR_ENV": "prod"}, "EBR_ENV"),
    ],
)
def test_unsafe_production_settings_refuse_to_start(tmp_path: Path, changes: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        from_env({**_env(tmp_path, "production"), **changes})


def test_demo_defaults_are_safe_for_a_laptop() -> None:
    settings = from_env({})
    assert settings.env == "demo" and settings.host == "127.0.0.1"
    assert isinstance(settings, Settings) and not settings.production
