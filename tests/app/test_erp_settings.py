"""The ERP endpoint is a deployment setting: an http(s) URL (https in production) with bounded timeouts; without one
the dispatcher has nothing to send to; the retry policy is GMP settings with safe ranges."""

from __future__ import annotations

import pytest

from ebr.config import ConfigError, from_env
from ebr.domain.configuration import spec_for
from ebr.domain.errors import InvalidInput

PRODUCTION = {"EBR_ENV": "production", "EBR_SECRET_KEY": "x" * 40, "EBR_FORCE_HTTPS": "1"}


def test_the_endpoint_and_its_timeouts_come_from_the_environment() -> None:
    settings = from_env(
        {
            "EBR_ERP_URL": " https://erp.plant.example/b2mml/postings ",
            "EBR_ERP_CONNECT_TIMEOUT": "2.5",
            "EBR_ERP_READ_TIMEOUT": "45",
            "EBR_ERP_CONCURRENCY": "8",
        }
    )
    assert settings.erp_url == "https://erp.plant.example/b2mml/postings"
    assert (settings.erp_connect_timeout_seconds, settings.erp_read_timeout_seconds) == (2.5, 45.0)
    assert settings.erp_concurrency == 8
    assert from_env({}).erp_url == ""


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"EBR_ERP_URL": "erp.plant.example/postings"}, "EBR_ERP_URL must be an http"),
        ({"EBR_ERP_URL": "ftp://erp.plant.example/"}, "EBR_ERP_URL must be an http"),
        ({**PRODUCTION, "EBR_ERP_URL": "http://erp.plant.example/postings"}, "over HTTPS only"),
        ({"EBR_ERP_READ_TIMEOUT": "0"}, "EBR_ERP_READ_TIMEOUT must be more than 0"),
        ({"EBR_ERP_CONNECT_TIMEOUT": "nan"}, "EBR_ERP_CONNECT_TIMEOUT must be more than 0"),
        ({"EBR_ERP_READ_TIMEOUT": "soon"}, "must be a number of seconds"),
        ({"EBR_ERP_CONCURRENCY": "0"}, "EBR_ERP_CONCURRENCY must be between 1 and 32"),
    ],
)
def test_a_bad_erp_setting_refuses_to_start(environ: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        from_env(environ)


@pytest.mark.limits
@pytest.mark.parametrize(
    ("key", "low", "high"),
    [("erp.max_attempts", 1, 100), ("erp.backoff_base_seconds", 1, 3600), ("erp.backoff_cap_seconds", 1, 86400)],
)
def test_the_retry_policy_settings_accept_their_range_and_nothing_beyond(key: str, low: int, high: int) -> None:
    spec = spec_for(key)
    assert (spec.parse(low), spec.parse(high)) == (low, high)
    for outside in (low - 1, high + 1):
        with pytest.raises(InvalidInput, match="must be between"):
            spec.parse(outside)
