"""`ebr verify audit` and `ebr audit checkpoint` from the command line, against the test's own database (VAL-02)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result

from ebr.bootstrap import Runtime
from ebr.cli import main
from ebr.config import Settings
from tests.fakes import FakeClock
from tests.integration.db import tampering
from tests.integration.db.activity import record_real_activity
from tests.integration.db.tampering import chain_head


def ebr(settings: Settings, *args: str) -> Result:
    """Run `ebr ARGS` in-process with the environment an operator would set for this instance."""
    env = {
        "EBR_INSTANCE_PATH": str(settings.instance_path),
        "EBR_DATABASE_URL": settings.database_url,
        "EBR_ENV": "test",
        "EBR_FAST_HASHING": "1",
    }
    return CliRunner(env=env, catch_exceptions=False).invoke(main, list(args))


def failures(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("FAIL ")]


@pytest.fixture
def activity(runtime: Runtime, clock: FakeClock) -> int:
    """Real activity through the services; returns the chain length."""
    return record_real_activity(runtime, clock)


def test_verify_audit_exits_0_on_untouched_data(settings: Settings, activity: int) -> None:
    result = ebr(settings, "verify", "audit")

    assert result.exit_code == 0, result.output
    assert "audit trail: OK" in result.stdout
    assert failures(result) == []


@pytest.mark.req("VAL-02")
def test_verify_audit_exits_non_zero_and_names_the_entry_edited_through_raw_sql(
    settings: Settings, owner_url: str, runtime: Runtime, activity: int
) -> None:
    clean = ebr(settings, "verify", "audit")
    assert clean.exit_code == 0, clean.output
    target = activity - 4

    tampering.edit_and_rehash(owner_url, target, '{"roles": "admin"}')
    result = ebr(settings, "verify", "audit")

    assert result.exit_code == 1
    lines = failures(result)
    assert lines, result.output
    assert lines[0].startswith(f"FAIL entry {target}: "), lines
    assert all(line.startswith(f"FAIL entry {target}: ") for line in lines), "only the edited entry is named"
    assert "audit trail: OK" not in result.output


@pytest.mark.req("AUD-06")
def test_verify_audit_reports_the_last_three_entries_lost_after_a_checkpoint(
    settings: Settings, owner_url: str, runtime: Runtime, activity: int
) -> None:
    checkpoint = ebr(settings, "audit", "checkpoint")
    assert checkpoint.exit_code == 0, checkpoint.output
    assert f"checkpoint at entry {activity}: {chain_head(runtime)[1]}" in checkpoint.stdout

    tampering.delete_tail(owner_url, 3)
    result = ebr(settings, "verify", "audit")

    assert result.exit_code == 1
    [line] = failures(result)
    assert line.startswith(f"FAIL entry {activity - 2}: entries {activity - 2}..{activity} are missing"), line
    assert f"recorded {activity} entries" in line


def test_verify_without_a_subcommand_checks_the_audit_trail(settings: Settings, owner_url: str, activity: int) -> None:
    assert ebr(settings, "verify").exit_code == 0

    tampering.delete_entry(owner_url, 2)
    result = ebr(settings, "verify")

    assert result.exit_code == 1
    assert failures(result)[0] == "FAIL entry 2: entries 2..2 are missing"
