"""Open networks: HTTP is redirected to HTTPS and HSTS is sent (ACC-10; 21 CFR 11.30)."""

from __future__ import annotations

import pytest
from flask import Flask

from ebr.bootstrap import Runtime
from ebr.config import ConfigError, from_env
from ebr.web.app import create_app


def _forced(runtime: Runtime, **changes: object) -> Flask:
    settings = runtime.settings.with_(force_https=True, **changes)
    return create_app(
        runtime=Runtime(
            settings, runtime.services, runtime.engine, runtime.limiter_storage_uri, runtime.limiter_storage_options
        )
    )


@pytest.mark.req("ACC-10")
def test_plain_http_is_redirected_to_https_keeping_method_and_path(runtime: Runtime) -> None:
    client = _forced(runtime).test_client()
    response = client.post("/login?next=/audit/", data={"username": "x"})
    assert response.status_code == 308
    assert response.headers["Location"] == "https://localhost/login?next=/audit/"
    assert client.get("/health").status_code == 200  # the load balancer's probe stays on plain HTTP


@pytest.mark.req("ACC-10")
def test_https_responses_carry_hsts(runtime: Runtime) -> None:
    response = _forced(runtime).test_client().get("/login", base_url="https://localhost")
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_behind_a_trusted_proxy_the_forwarded_scheme_counts(runtime: Runtime) -> None:
    client = _forced(runtime, trusted_proxies=1).test_client()
    assert client.get("/login", headers={"X-Forwarded-Proto": "https"}).status_code == 200
    untrusted = _forced(runtime).test_client()
    assert untrusted.get("/login", headers={"X-Forwarded-Proto": "https"}).status_code == 308


def test_production_refuses_to_start_without_https() -> None:
    env = {"EBR_ENV": "production", "EBR_SECRET_KEY": "k" * 40, "EBR_SECURE_COOKIES": "1", "EBR_FORCE_HTTPS": "0"}
    try:
        from_env(env)
    except ConfigError as refused:
        assert "HTTPS" in str(refused)
    else:
        raise AssertionError("production started without HTTPS")
    assert from_env({**env, "EBR_FORCE_HTTPS": "1"}).force_https
