"""HttpErpTransport against a plain HTTP server: the key travels as Idempotency-Key with the exact bytes and their
content type, answers are reported (never raised) and redirects are not followed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from ebr.adapters.erp.http import HttpErpTransport
from tests.integration.erp.support import QUICK

BODY = b'<?xml version="1.0" encoding="UTF-8"?>\n<ProcessOperationsPerformance/>\n'


@pytest.fixture
def transport(httpserver: HTTPServer) -> Iterator[HttpErpTransport]:
    client = HttpErpTransport(httpserver.url_for("/postings"), QUICK)
    yield client
    client.close()


def test_the_key_the_content_type_and_the_exact_bytes_arrive(
    httpserver: HTTPServer, transport: HttpErpTransport
) -> None:
    seen: list[tuple[str | None, str | None, bytes]] = []

    def record(request: Request) -> Response:
        seen.append((request.headers.get("Idempotency-Key"), request.headers.get("Content-Type"), request.get_data()))
        return Response('{"ok": true}', status=201)

    httpserver.expect_request("/postings", method="POST").respond_with_handler(record)
    result = transport.send("key-1", "application/xml", BODY)
    assert (result.status, result.error, result.duplicate) == (201, "", False)
    assert seen == [("key-1", "application/xml", BODY)]


def test_a_refusal_is_reported_with_the_erps_words_not_raised(
    httpserver: HTTPServer, transport: HttpErpTransport
) -> None:
    httpserver.expect_request("/postings").respond_with_data('{"error":   "unknown\n material"}', status=422)
    result = transport.send("key-2", "application/xml", BODY)
    assert (result.status, result.error) == (422, '{"error": "unknown material"}')


def test_a_redirect_is_not_followed(httpserver: HTTPServer, transport: HttpErpTransport) -> None:
    httpserver.expect_request("/postings").respond_with_data("", status=302, headers={"Location": "http://elsewhere/"})
    assert transport.send("key-3", "application/xml", BODY).status == 302


def test_a_duplicate_answer_and_a_retry_after_are_read(httpserver: HTTPServer, transport: HttpErpTransport) -> None:
    httpserver.expect_request("/postings").respond_with_data("", status=200, headers={"Idempotent-Replayed": "true"})
    assert transport.send("key-4", "application/xml", BODY).duplicate is True
    httpserver.clear()
    httpserver.expect_request("/postings").respond_with_data("", status=429, headers={"Retry-After": "42"})
    assert transport.send("key-4", "application/xml", BODY).retry_after == 42.0


def test_only_an_http_url_with_a_host_is_accepted() -> None:
    for bad in ("ftp://erp/postings", "erp.example/postings", "http:///postings"):
        with pytest.raises(ValueError, match="not an http"):
            HttpErpTransport(bad)
