"""The fake ERP's contract over real HTTP, spoken through the real transport: the receiver semantics of the
Idempotency-Key draft (400, 422, 409, the original result again), schema validation, the ledger applied once, and
each chaos switch doing what the chaos tests rely on."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from ebr.adapters.erp.http import ErpTimeouts, HttpErpTransport
from ebr.bootstrap import posting_encoder
from ebr.demo.fake_erp import FakeErp
from ebr.domain.erp import PostingKind
from tests.integration.erp.support import QUICK, posting

XML = "application/xml"


def _xml(batch: str, kind: PostingKind = PostingKind.COMPLETION, **change: object) -> tuple[str, bytes]:
    item = posting(batch, kind, **change)  # type: ignore[arg-type]  # keyword fields of the builder
    return item.key, posting_encoder().xml(item)


@pytest.fixture
def transport(erp: FakeErp) -> Iterator[HttpErpTransport]:
    client = HttpErpTransport(erp.url, QUICK)
    yield client
    client.close()


def test_a_posting_without_an_idempotency_key_is_refused_with_400(erp: FakeErp) -> None:
    _, body = _xml("B-400")
    answer = httpx.post(erp.url, content=body, headers={"Content-Type": XML})
    assert answer.status_code == 400 and "Idempotency-Key" in answer.json()["error"]
    assert erp.applied.total() == 0


def test_a_schema_invalid_body_is_refused_with_422_naming_the_error(erp: FakeErp, transport: HttpErpTransport) -> None:
    key, body = _xml("B-422")
    broken = body.replace(b"<MaterialUse>Produced</MaterialUse>", b"<MaterialUse>Scrap</MaterialUse>")
    result = transport.send(key, XML, broken)
    assert result.status == 422 and "MaterialUse" in result.error and not result.duplicate
    assert erp.applied[key] == 0 and erp.ledger.net()["receipts"] == {}


def test_a_completed_key_gets_its_original_result_again_and_is_applied_once(
    erp: FakeErp, transport: HttpErpTransport
) -> None:
    key, body = _xml("B-DUP")
    first, second = transport.send(key, XML, body), transport.send(key, XML, body)
    assert (first.status, first.duplicate) == (200, False)
    assert (second.status, second.duplicate) == (200, True)
    assert erp.deliveries[key] == 2 and erp.applied[key] == 1
    assert erp.ledger.net()["receipts"] == {"PARA-500/B-DUP": Decimal("118.5")}


def test_a_key_reused_with_other_bytes_is_refused_with_422(erp: FakeErp, transport: HttpErpTransport) -> None:
    key, body = _xml("B-REUSE")
    _, other = _xml("B-REUSE", produced="99")
    assert transport.send(key, XML, body).status == 200
    refused = transport.send(key, XML, other)
    assert refused.status == 422 and "another payload" in refused.error
    assert erp.applied[key] == 1 and erp.ledger.net()["receipts"] == {"PARA-500/B-REUSE": Decimal("118.5")}


def test_a_key_still_being_processed_gets_409_not_a_second_application(
    erp: FakeErp, transport: HttpErpTransport
) -> None:
    key, body = _xml("B-409")
    erp.delay_s = 0.6
    first: list[int | None] = []
    worker = threading.Thread(target=lambda: first.append(transport.send(key, XML, body).status))
    worker.start()
    time.sleep(0.2)
    concurrent = HttpErpTransport(erp.url, QUICK)
    try:
        second = concurrent.send(key, XML, body)
    finally:
        concurrent.close()
    worker.join()
    assert (second.status, second.duplicate) == (409, False)
    assert first == [200] and erp.applied[key] == 1 and erp.max_in_flight_per_key == 2


def test_fail_rate_answers_503_with_retry_after_and_applies_nothing(erp: FakeErp, transport: HttpErpTransport) -> None:
    key, body = _xml("B-503")
    erp.fail_rate = 1.0
    result = transport.send(key, XML, body)
    assert (result.status, result.retry_after) == (503, 1.0)
    assert erp.deliveries[key] == 1 and erp.applied[key] == 0


def test_a_dropped_answer_is_a_transport_error_although_the_posting_was_applied(
    erp: FakeErp, transport: HttpErpTransport
) -> None:
    key, body = _xml("B-DROP")
    erp.drop_rate = 1.0
    lost = transport.send(key, XML, body)
    assert lost.status is None and "RemoteProtocolError" in lost.error
    assert erp.applied[key] == 1
    again = transport.send(key, XML, body)  # a duplicate's answer is never dropped: the sender learns the outcome
    assert (again.status, again.duplicate) == (200, True) and erp.applied[key] == 1


def test_a_down_erp_refuses_connections_then_comes_back_on_its_port(erp: FakeErp, transport: HttpErpTransport) -> None:
    key, body = _xml("B-DOWN")
    port = erp.port
    erp.set_down(True)
    refused = transport.send(key, XML, body)
    assert refused.status is None and "ConnectError" in refused.error
    erp.set_down(False)
    assert erp.port == port and transport.send(key, XML, body).status == 200 and erp.applied[key] == 1


def test_a_slow_erp_costs_the_read_timeout_not_a_hung_sender(erp: FakeErp) -> None:
    key, body = _xml("B-SLOW")
    erp.delay_s = 1.5
    impatient = HttpErpTransport(erp.url, ErpTimeouts(connect=1.0, read=0.3, write=1.0, pool=1.0))
    started = time.monotonic()
    try:
        result = impatient.send(key, XML, body)
    finally:
        impatient.close()
    assert result.status is None and "ReadTimeout" in result.error
    assert time.monotonic() - started < 1.2


def test_a_cancel_takes_back_exactly_the_posting_it_names(erp: FakeErp, transport: HttpErpTransport) -> None:
    key, body = _xml("B-CANCEL")
    decision_key, decision = _xml("B-CANCEL", PostingKind.USAGE_DECISION)
    cancel_key, cancel = _xml("B-CANCEL", PostingKind.REVERSAL, reverses=key)
    for k, b in ((key, body), (decision_key, decision), (cancel_key, cancel)):
        assert transport.send(k, XML, b).status == 200
    net = erp.ledger.net()
    assert net["receipts"] == {} and net["consumption"] == {} and net["decisions"] == {"B-CANCEL": "Released"}
    twice_key, twice = _xml("B-CANCEL", PostingKind.REVERSAL, revision=2, reverses=key)
    refused = transport.send(twice_key, XML, twice)
    assert refused.status == 422 and "cancelled already" in refused.error


def test_an_unknown_material_is_refused_until_the_erp_knows_it(erp: FakeErp, transport: HttpErpTransport) -> None:
    key, body = _xml("B-MAT", material="NEW-EXCIPIENT")
    erp.known_materials = {"PARA-500", "PARA-API"}
    refused = transport.send(key, XML, body)
    assert refused.status == 422 and "NEW-EXCIPIENT" in refused.error and erp.applied[key] == 0
    erp.known_materials.add("NEW-EXCIPIENT")
    assert transport.send(key, XML, body).status == 200 and erp.applied[key] == 1


def test_the_received_view_lists_each_key_with_its_hashes_and_the_net_effect(
    erp: FakeErp, transport: HttpErpTransport
) -> None:
    key, body = _xml("B-VIEW")
    transport.send(key, XML, body)
    transport.send(key, XML, body)
    view = httpx.get(erp.url.replace("/postings", "/received")).json()
    assert view["keys"][key] == {"deliveries": 2, "applied": 1, "sha256": [hashlib.sha256(body).hexdigest()]}
    assert view["order"] == [key] and view["net"]["receipts"] == {"PARA-500/B-VIEW": "118.5"}


def test_the_page_for_people_lists_each_applied_posting_once_with_its_lines(
    erp: FakeErp, transport: HttpErpTransport
) -> None:
    page = httpx.get(erp.url.removesuffix("/postings") + "/")
    assert page.status_code == 200 and "Nothing received yet." in page.text
    key, body = _xml("B-PAGE")
    transport.send(key, XML, body)
    transport.send(key, XML, body)  # a repeat is answered again, never listed twice
    page = httpx.get(erp.url.removesuffix("/postings") + "/")
    assert page.headers["content-type"].startswith("text/html")
    assert page.text.count(f"<code>{key}</code>") == 1
    assert "Produced: PARA-500 lot B-PAGE 118.5" in page.text
    assert "2 / 1" in page.text  # two deliveries, applied once
