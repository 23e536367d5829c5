"""`ebr dispatch` from the command line: it refuses to run without an ERP endpoint, and `--once` delivers what is
due to the ERP the environment names, then exits."""

from __future__ import annotations

from click.testing import CliRunner, Result

from ebr.app.ports import PostingStatus
from ebr.bootstrap import Runtime
from ebr.cli import main
from ebr.config import Settings
from ebr.demo.fake_erp import FakeErp
from ebr.domain.erp import PostingKind
from tests.integration.erp.support import enqueue_all, posting


def ebr(settings: Settings, *args: str, erp_url: str = "") -> Result:
    """Run `ebr ARGS` in-process with the environment an operator would set for this instance."""
    env = {
        "EBR_INSTANCE_PATH": str(settings.instance_path),
        "EBR_DATABASE_URL": settings.database_url,
        "EBR_ENV": "test",
        "EBR_FAST_HASHING": "1",
        "EBR_ERP_URL": erp_url,
    }
    return CliRunner(env=env, catch_exceptions=False).invoke(main, list(args))


def test_dispatch_without_an_erp_endpoint_refuses_to_run(settings: Settings, runtime: Runtime) -> None:
    result = ebr(settings, "dispatch", "--once")
    assert result.exit_code == 1 and "EBR_ERP_URL" in result.output


def test_dispatch_once_delivers_what_is_due_in_order_and_exits(settings: Settings, runtime: Runtime) -> None:
    items = [posting("B-CLI"), posting("B-CLI", PostingKind.USAGE_DECISION)]
    enqueue_all(runtime, items)
    with FakeErp() as erp:
        result = ebr(settings, "dispatch", "--once", erp_url=erp.url)
    assert result.exit_code == 0, result.output
    assert "2 sent, 0 to retry, 0 dead" in result.output
    assert erp.order == [item.key for item in items]
    assert runtime.services.outbox.counts()[PostingStatus.SENT] == 2
