"""`ebr`: demo, serve, worker, db upgrade, users, settings, audit, verify."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from ebr.app.context import Actor
from ebr.app.documents import DocumentFinding, SignatureCheck
from ebr.bootstrap import Runtime, build, migrate, pdf_signature_check
from ebr.cli_records import archive, backup, restore
from ebr.cli_validation import validation_report
from ebr.config import ConfigError, Settings, from_env
from ebr.domain.accounts import Role
from ebr.domain.errors import DomainError


def _settings() -> Settings:
    try:
        return from_env()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _runtime(settings: Settings | None = None) -> Runtime:
    settings = settings or _settings()
    try:
        rt = build(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        # Close the pool when the command ends: an in-process caller (tests, tooling) must not inherit open
        # connections (on PostgreSQL they leaked as ResourceWarnings and held the database open).
        ctx.call_on_close(rt.engine.dispose)
    if settings.production and rt.services.system.demo_seeded():
        raise click.ClickException("This database holds demo data: production mode refuses to run on it.")
    return rt


@click.group()
def main() -> None:
    """Electronic batch record system."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration (as the schema owner)."""
    migrate(_settings())
    click.echo("database is at the newest schema")


@main.command()
@click.option("--port", type=int, default=None, help="Port on 127.0.0.1 (default EBR_PORT or 5000).")
@click.option("--no-serve", is_flag=True, help="Set up and seed, then exit.")
def demo(port: int | None, no_serve: bool) -> None:
    """Set up the demo plant in the instance folder and serve it on 127.0.0.1."""
    from ebr.demo.plant import DEMO_PASSWORD, DEMO_USERS, DemoRefused, seed

    settings = _settings()
    migrate(settings)
    if not settings.erp_url and not no_serve:
        from ebr.demo.fake_erp import FakeErp

        erp = FakeErp().start()  # the demo plant's ERP: the worker delivers postings to it
        click.get_current_context().call_on_close(erp.stop)  # Ctrl-C closes its port too, not only the app's
        settings = settings.with_(erp_url=erp.url)
        click.echo(f"Fake ERP on {erp.url}; what it received: {erp.url.removesuffix('/postings')}/")
    rt = _runtime(settings)
    try:
        seed(rt)
    except DemoRefused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        "Demo users (password "
        + DEMO_PASSWORD
        + "): "
        + ", ".join(f"{u.username} ({'/'.join(sorted(u.roles))})" for u in DEMO_USERS)
    )
    if not no_serve:
        import threading

        from ebr.demo.console import HELP, serve_console
        from ebr.demo.plant import simulated_plant

        _demo_worker(rt)
        try:
            plant = simulated_plant(rt)
        except DemoRefused as exc:
            raise click.ClickException(str(exc)) from None
        with plant:
            click.echo(f"Simulated plant (Modbus TCP) on 127.0.0.1:{plant.port}: balance, probes, granulator, dryer")
            click.echo(HELP)
            threading.Thread(
                target=serve_console, args=(plant, sys.stdin, click.echo), name="plant-console", daemon=True
            ).start()
            _serve(rt, port or settings.port)
        click.echo("Demo stopped: web server, simulated plant, worker and fake ERP.")


def _demo_worker(rt: Runtime) -> None:
    """The background jobs in-process (production runs `ebr worker` separately); when the command ends, the round
    under way finishes before the database closes, so Ctrl-C leaves no half-run job and no traceback."""
    import threading

    from ebr.worker.loop import run_forever

    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=(rt, stop), name="ebr-worker", daemon=True)

    def finish() -> None:
        stop.set()
        thread.join(timeout=30)

    click.get_current_context().call_on_close(finish)
    thread.start()


@main.command()
@click.option("--port", type=int, default=None)
@click.option("--check", is_flag=True, help="Check the settings and prepare the database, then exit.")
def serve(port: int | None, check: bool) -> None:
    """Serve the web application (several workers: gunicorn 'ebr.web.wsgi:create()')."""
    rt = _runtime()
    if rt.settings.production:
        temporary = rt.services.accounts.ensure_bootstrap_admin()
        if temporary:
            click.echo(f"Bootstrap administrator 'admin' created; one-time password: {temporary}")
    if check:
        click.echo(f"ready: eBR {rt.services.system.version} ({rt.settings.env})")
        return
    _serve(rt, port or rt.settings.port)


def _serve(rt: Runtime, port: int) -> None:
    from werkzeug.serving import run_simple

    from ebr.web.app import create_app

    app = create_app(runtime=rt)
    click.echo(f"eBR {rt.services.system.version} on http://{rt.settings.host}:{port}/")
    run_simple(rt.settings.host, port, app, threaded=True, use_reloader=False)


@main.command()
@click.option("--once", is_flag=True, help="Run every job once and exit.")
def worker(once: bool) -> None:
    """Run the background jobs (alerts, audit checkpoints, clock and integrity checks)."""
    from ebr.worker.loop import HOURLY, JOBS, run_forever, run_once

    rt = _runtime()
    if once:
        for name, result in run_once(rt, JOBS + HOURLY).items():
            click.echo(f"{name}: {result}")
        return
    run_forever(rt)


@main.command()
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option(
    "--interval", type=click.FloatRange(0.1, 3600), default=2.0, show_default=True, help="Seconds between rounds."
)
def dispatch(once: bool, interval: float) -> None:
    """Deliver ERP postings from the outbox, alone (several may run at once: each leases its own postings)."""
    import time

    rt = _runtime()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per posting is noise: the attempt log records each
    dispatcher = rt.services.dispatcher
    if not dispatcher.enabled:
        raise click.ClickException("No ERP endpoint is configured (EBR_ERP_URL): postings stay pending, none is sent.")
    click.echo(f"dispatching ERP postings as {dispatcher.settings.name}")
    try:
        while True:
            try:
                report = dispatcher.drain()
            except Exception:  # e.g. the database is away: leases keep the postings safe; try again next round
                if once:
                    raise
                logging.getLogger("ebr.dispatch").exception("dispatch round failed; trying again")
            else:
                if report.claimed or once:
                    click.echo(f"{report.sent} sent, {report.retried} to retry, {report.dead} dead")
            if once:
                return
            time.sleep(interval)
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        dispatcher.close()


@main.group()
def users() -> None:
    """Accounts (administration from the command line is audited as the system)."""


@users.command("list")
def users_list() -> None:
    """Every account with roles and status."""
    for u in _runtime().services.accounts.list_users():
        status = "disabled" if not u.active else ("locked" if u.locked_at else "active")
        flags = " must-change-password" if u.must_change_password else ""
        click.echo(f"{u.id}\t{u.username}\t{u.full_name}\t{','.join(sorted(u.roles))}\t{status}{flags}")


@users.command("create")
@click.argument("username")
@click.option("--name", "full_name", required=True, help="Printed full name.")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice([str(r) for r in Role]))
@click.option("--reason", required=True)
@click.password_option("--password", help="One-time password the user must change at first login.")
def users_create(username: str, full_name: str, roles: tuple[str, ...], reason: str, password: str) -> None:
    """Create an account with a one-time password."""
    try:
        user = _runtime().services.accounts.create_user(
            Actor.system(), username, full_name, frozenset(Role(r) for r in roles), password, reason
        )
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {user.username} (id {user.id})")


@users.command("unlock")
@click.argument("username")
@click.option("--reason", required=True)
def users_unlock(username: str, reason: str) -> None:
    """Unlock a locked account."""
    svc = _runtime().services.accounts
    target = next((u for u in svc.list_users() if u.username == username.lower()), None)
    if target is None:
        raise click.ClickException(f"no user {username}")
    svc.unlock(Actor.system(), target.id, reason)
    click.echo(f"unlocked {target.username}")


@main.group()
def settings() -> None:
    """GMP settings."""


@settings.command("export")
def settings_export() -> None:
    """Print the configuration as JSON."""
    click.echo(_runtime().services.settings.export(), nl=False)


@settings.command("diff")
@click.argument("baseline", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def settings_diff(baseline: Path) -> None:
    """Compare with a baseline export; exits 1 when they differ."""
    changes = _runtime().services.settings.diff_against(baseline.read_text(encoding="utf-8"))
    for key, old, new in changes:
        click.echo(f"{key}: {old} -> {new}")
    sys.exit(1 if changes else 0)


@main.group()
def audit() -> None:
    """The audit trail."""


@audit.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the chain head now and keep it in the instance folder."""
    cp = _runtime().services.trail.checkpoint()
    click.echo(f"checkpoint at entry {cp.seq}: {cp.head_hash}")


@main.group(invoke_without_command=True)
@click.pass_context
def verify(ctx: click.Context) -> None:
    """Check everything verifiable; exits non-zero and names each failure."""
    if ctx.invoked_subcommand is None:
        from ebr.app.integrity import IntegrityService

        rt = _runtime()
        report = IntegrityService(rt.services, pades_check(rt)).check()
        failed = False
        for area, findings in report.findings.items():
            failed |= _report(area, findings)
        sys.exit(1 if failed else 0)


def _report(what: str, findings: Sequence[object]) -> bool:
    for finding in findings:
        click.echo(f"FAIL {finding}", err=True)
    click.echo(f"{what}: {'FAILED (' + str(len(findings)) + ')' if findings else 'OK'}")
    return bool(findings)


@verify.command("audit")
def verify_audit() -> None:
    """Recompute the audit chain and hold it against the seals and signed checkpoints."""
    if _report("audit trail", _runtime().services.trail.verify()):
        sys.exit(1)


@verify.command("signatures")
def verify_signatures() -> None:
    """Check every signature: certificate chain to the site CA, signature, signer and signed content."""
    if _report("signatures", _runtime().services.signing.verify()):
        sys.exit(1)


@verify.command("documents")
def verify_documents() -> None:
    """Recompute the SHA-256 of every stored record PDF and compare it with the one stored with it."""
    if _report("documents", document_findings(_runtime())):
        sys.exit(1)


def document_findings(rt: Runtime, signature_check: SignatureCheck | None = None) -> list[DocumentFinding]:
    """Stored PDFs that fail verification: their hash, and the PAdES signature of every signed one (PDF-03)."""
    return rt.services.documents.verify(signature_check or pades_check(rt))


def pades_check(rt: Runtime) -> SignatureCheck:
    """A signed PDF passes when each signature validates against the site CA and nothing changed after it."""
    return pdf_signature_check(rt.settings)


@main.group()
def policy() -> None:
    """The site signature policy (approval is a QA signature in the web application)."""


@policy.command("import")
def policy_import() -> None:
    """Import signatures/policy.toml from the library as a draft version."""
    try:
        stored = _runtime().services.policy.import_library(Actor.system())
    except DomainError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"policy version {stored.version}: {stored.status} ({stored.content_hash})")


@main.command("version")
def version_cmd() -> None:
    """Print the software version and build commit."""
    import ebr
    from ebr.bootstrap import build_commit

    click.echo(json.dumps({"version": ebr.__version__, "commit": build_commit(_settings())}))


main.add_command(validation_report)
main.add_command(archive)
main.add_command(backup)
main.add_command(restore)
