"""Where incidents go is a deployment setting: a webhook, an SMTP relay or the log; bad settings refuse to start."""

from __future__ import annotations

import pytest

from ebr.adapters.notify.notifiers import EmailNotifier, LogNotifier, WebhookNotifier
from ebr.bootstrap import notifier_for
from ebr.config import ConfigError, from_env

SMTP = {"EBR_NOTIFY_SMTP_HOST": "relay.plant.example", "EBR_NOTIFY_SMTP_FROM": "ebr@plant.example"}


def test_the_deployment_chooses_webhook_email_or_the_log() -> None:
    assert isinstance(notifier_for(from_env({})), LogNotifier)
    hook = from_env({"EBR_NOTIFY_WEBHOOK_URL": " https://hooks.plant.example/ebr "})
    assert hook.notify_webhook_url == "https://hooks.plant.example/ebr"
    assert isinstance(notifier_for(hook), WebhookNotifier)
    mail = from_env(
        {**SMTP, "EBR_NOTIFY_SMTP_PORT": "2525", "EBR_NOTIFY_SMTP_TO": "qa@plant.example, sv@plant.example"}
    )
    assert (mail.notify_smtp_port, mail.notify_smtp_to) == (2525, ("qa@plant.example", "sv@plant.example"))
    assert isinstance(notifier_for(mail), EmailNotifier)


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"EBR_NOTIFY_WEBHOOK_URL": "hooks.plant.example/ebr"}, "EBR_NOTIFY_WEBHOOK_URL must be an http"),
        ({"EBR_NOTIFY_WEBHOOK_URL": "ftp://hooks.plant.example/"}, "EBR_NOTIFY_WEBHOOK_URL must be an http"),
        ({"EBR_NOTIFY_WEBHOOK_URL": "https://"}, "EBR_NOTIFY_WEBHOOK_URL must be an http"),
        ({"EBR_NOTIFY_WEBHOOK_URL": "https://hooks.example:99999/"}, "EBR_NOTIFY_WEBHOOK_URL must be an http"),
        ({"EBR_NOTIFY_WEBHOOK_URL": "https://[::1/"}, "EBR_NOTIFY_WEBHOOK_URL must be an http"),
        (
            {**SMTP, "EBR_NOTIFY_SMTP_TO": "qa@plant.example", "EBR_NOTIFY_WEBHOOK_URL": "https://hooks.example/"},
            "or by e-mail",
        ),
        (SMTP, "EBR_NOTIFY_SMTP_TO"),
        ({**SMTP, "EBR_NOTIFY_SMTP_TO": "qa at plant"}, "EBR_NOTIFY_SMTP_TO"),
        ({**SMTP, "EBR_NOTIFY_SMTP_TO": "qa@plant.example", "EBR_NOTIFY_SMTP_PORT": "smtp"}, "must be a number"),
        ({**SMTP, "EBR_NOTIFY_SMTP_TO": "qa@plant.example", "EBR_NOTIFY_SMTP_PORT": "0"}, "port number"),
    ],
)
def test_bad_notification_settings_refuse_to_start_with_a_clear_message(environ: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        from_env(environ)
