"""The Notifier contract, run against the test sink and the real webhook and e-mail notifiers on loopback.

Each channel must deliver an incident once with its subject, severity, key and message, and must raise
DeliveryFailed when the receiver refuses it or cannot be reached, so the worker keeps it pending.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from ebr.adapters.notify.notifiers import EmailNotifier, LogNotifier, WebhookNotifier
from ebr.app.ports import DeliveryFailed, Incident, Notifier
from tests.contracts.receivers import SmtpReceiver, WebhookReceiver, free_port
from tests.fakes import RecordingNotifier

INCIDENT = Incident(
    id=41,
    key="hold-overdue:17",
    kind="hold_overdue",
    severity="critical",
    subject="Hold time exceeded: granulation",
    message="Step 17 of batch B-2026-001 waited 49 h; the maximum is 48 h.",
    opened_at=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
)


@dataclass
class Channel:
    """A notifier and what its receiver got, each delivery as one text."""

    notifier: Notifier
    deliveries: Callable[[], list[str]]
    refuse: Callable[[], None]
    unreachable: Callable[[], Notifier]


def _recording() -> Iterator[Channel]:
    sink = RecordingNotifier()

    def refuse() -> None:
        sink.failing = True

    def unreachable() -> Notifier:
        dead = RecordingNotifier()
        dead.failing = True
        return dead

    yield Channel(sink, lambda: [repr(i) for i in sink.received], refuse, unreachable)


def _webhook() -> Iterator[Channel]:
    with WebhookReceiver() as receiver:

        def refuse() -> None:
            receiver.status = 503

        yield Channel(
            WebhookNotifier(receiver.url, timeout_seconds=5),
            lambda: [str(body) for body, _ in receiver.accepted],
            refuse,
            lambda: WebhookNotifier(f"http://127.0.0.1:{free_port()}/x", timeout_seconds=2),
        )


def _email() -> Iterator[Channel]:
    with SmtpReceiver() as relay:
        yield Channel(
            EmailNotifier("127.0.0.1", relay.port, "ebr@plant.example", ["qa@plant.example"], timeout_seconds=5),
            lambda: [f"{m['Subject']}\n{m.get_content()}" for _, _, m in relay.messages],
            relay.refuse_all,
            lambda: EmailNotifier("127.0.0.1", free_port(), "ebr@plant.example", ["qa@plant.example"], 2),
        )


CHANNELS = {"recording": _recording, "webhook": _webhook, "email": _email}


@pytest.fixture(params=sorted(CHANNELS))
def channel(request: pytest.FixtureRequest) -> Iterator[Channel]:
    yield from CHANNELS[request.param]()


def test_a_sent_incident_arrives_once_with_its_subject_severity_key_and_message(channel: Channel) -> None:
    channel.notifier.send(INCIDENT)
    [delivered] = channel.deliveries()
    for part in (INCIDENT.subject, INCIDENT.severity, INCIDENT.key, INCIDENT.message):
        assert part in delivered


def test_a_refused_delivery_raises_delivery_failed_and_delivers_nothing(channel: Channel) -> None:
    channel.refuse()
    with pytest.raises(DeliveryFailed):
        channel.notifier.send(INCIDENT)
    assert channel.deliveries() == []


def test_an_unreachable_receiver_raises_delivery_failed(channel: Channel) -> None:
    with pytest.raises(DeliveryFailed):
        channel.unreachable().send(INCIDENT)


def test_the_webhook_posts_json_with_an_idempotency_key() -> None:
    with WebhookReceiver() as receiver:
        WebhookNotifier(receiver.url).send(INCIDENT)
    [(body, headers)] = receiver.accepted
    assert body == {
        "id": 41,
        "key": "hold-overdue:17",
        "kind": "hold_overdue",
        "severity": "critical",
        "subject": "Hold time exceeded: granulation",
        "message": INCIDENT.message,
        "opened_at": "2026-11-25T09:00:00.000000Z",
    }
    assert headers["idempotency-key"] == "ebr-incident-41"
    assert headers["content-type"] == "application/json"


def test_the_email_goes_from_and_to_the_configured_addresses() -> None:
    recipients = ["qa@plant.example", "supervisor@plant.example"]
    with SmtpReceiver() as relay:
        EmailNotifier("127.0.0.1", relay.port, "ebr@plant.example", recipients).send(INCIDENT)
    [(sender, envelope, message)] = relay.messages
    assert (sender, envelope) == ("<ebr@plant.example>", ["<qa@plant.example>", "<supervisor@plant.example>"])
    assert message["Subject"] == "[eBR critical] Hold time exceeded: granulation"
    assert (message["From"], message["To"]) == ("ebr@plant.example", "qa@plant.example, supervisor@plant.example")
    assert "Opened: 2026-11-25T09:00:00.000000Z" in message.get_content()


@pytest.mark.parametrize("url", ["", "ftp://host/x", "http://", "not a url", "hooks.example/incidents"])
def test_a_webhook_notifier_refuses_a_url_that_is_not_http(url: str) -> None:
    with pytest.raises(ValueError, match="not an http"):
        WebhookNotifier(url)


def test_the_log_notifier_logs_the_incident_at_warning(caplog: pytest.LogCaptureFixture) -> None:
    LogNotifier().send(INCIDENT)
    [logged] = [r for r in caplog.records if r.name == "ebr.incidents"]
    assert logged.levelname == "WARNING"
    assert INCIDENT.key in logged.getMessage() and INCIDENT.subject in logged.getMessage()
