"""A fuzz run over the JSON/XML API from its own OpenAPI description: for every operation, requests generated from
its schemas, with a valid API client token and without one. No answer is a server error, every status is one the
operation documents, and a refused request stores nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok

from ebr.app.clients import API_PERMISSIONS
from ebr.bootstrap import Runtime
from ebr.web.api.openapi import OPERATIONS
from tests.app.inbound_support import counts, erp_client, known_world

EXAMPLES = 25  # per operation and token: ten operations, twice, stay well under a minute
PERMISSIONS = tuple(str(p) for p in API_PERMISSIONS)  # everything a machine client may hold


def row_counts(runtime: Runtime) -> dict[str, int]:
    """Rows of orders, BOM lines, materials, lots and inbound messages: what an API request may write."""
    return counts(runtime)


def fuzz(app: Flask, runtime: Runtime, headers: dict[str, str]) -> dict[int, int]:
    """Run every operation's generated requests; returns how often each status was answered."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    seen: dict[int, int] = {}
    results = list(schema.get_all_operations())
    assert not [r.err() for r in results if not isinstance(r, Ok)]
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    # The loader leaves out the document it was loaded from; every other operation is fuzzed.
    expected = sorted(f"{o.method.upper()} {o.path}" for o in OPERATIONS if o.path != "/api/openapi.json")
    assert sorted(o.label for o in operations) == expected
    for operation in operations:
        documented = {int(code) for code in operation.definition.raw["responses"]}
        check = _checker(runtime, headers, documented, seen, f"{operation.method.upper()} {operation.path}")
        settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )(given(case=operation.as_strategy())(check))()
    return seen


def _checker(
    runtime: Runtime, headers: dict[str, str], documented: set[int], seen: dict[int, int], name: str
) -> Callable[[schemathesis.Case], None]:
    def check(case: schemathesis.Case) -> None:
        before = row_counts(runtime)
        response = case.call(headers=headers)
        status = response.status_code
        seen[status] = seen.get(status, 0) + 1
        assert status < 500, f"{name} answered {status}: {response.text[:300]}"
        assert status in documented, f"{name} answered {status}, not one of {sorted(documented)}"
        if status >= 400:
            assert row_counts(runtime) == before, f"{name} refused with {status} but stored rows"

    return check


@pytest.mark.slow
def test_fuzzed_requests_with_a_valid_token_never_fail_the_server_and_refusals_store_nothing(
    app: Flask, runtime: Runtime
) -> None:
    known_world(runtime)
    _, token = erp_client(runtime, *PERMISSIONS)
    seen = fuzz(app, runtime, {"Authorization": f"Bearer {token}"})
    assert any(400 <= status < 500 and status not in {401, 403} for status in seen), seen  # input reached validation


@pytest.mark.slow
def test_fuzzed_requests_without_a_token_are_all_refused_and_store_nothing(app: Flask, runtime: Runtime) -> None:
    known_world(runtime)
    before = row_counts(runtime)
    seen = fuzz(app, runtime, {})
    # 404: a generated path the router does not match.
    assert set(seen) <= {401, 403, 404}, seen
    assert seen.get(401, 0) > 0
    assert row_counts(runtime) == before
