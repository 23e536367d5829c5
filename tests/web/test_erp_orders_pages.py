"""ERP orders on the pages (their BOM and planned dates on the order list and the worklist), and the admin page that
issues, lists and revokes the ERP's API tokens."""

from __future__ import annotations

from flask import Flask

from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from tests.app.inbound_support import erp_client, known_world, message, order_doc
from tests.factories import actor_of, make_user
from tests.web.support import entries, new_client, post, sign_in


def erp_order(runtime: Runtime) -> int:
    """An order received from the ERP; its id."""
    known_world(runtime)
    client, _ = erp_client(runtime)
    answer = runtime.services.inbound.orders(message(client, order_doc()))
    order_id = answer.body["orders"][0]["order_id"]  # type: ignore[index]
    assert isinstance(order_id, int)
    return order_id


def test_the_order_list_shows_an_erp_orders_source_planned_dates_and_bom(app: Flask, runtime: Runtime) -> None:
    order_id = erp_order(runtime)
    browser, _ = sign_in(app, runtime, Role.SUPERVISOR)
    html = browser.get("/orders/").get_data(as_text=True)
    row = html[html.index(f'id="order-{order_id}"') :].split("</tr>")[0]
    assert "PO-7001" in row and '<td class="source-erp">ERP</td>' in row
    assert "2026-12-01T05:00:00Z → 2026-12-01T18:00:00Z" in row
    assert "<summary>BOM (2)</summary>" in row
    assert "<li>PARA-API: 60 kg</li>" in row and "<li>MCC-101: 24.6 kg</li>" in row


def test_a_released_erp_order_waits_in_the_worklist_with_its_plan(app: Flask, runtime: Runtime) -> None:
    order_id = erp_order(runtime)
    browser, _ = sign_in(app, runtime, Role.OPERATOR)
    assert f'id="start-{order_id}"' not in browser.get("/batches/").get_data(as_text=True)  # planned, not released
    runtime.services.orders.release(actor_of(make_user(runtime, Role.SUPERVISOR)), order_id)
    html = browser.get("/batches/").get_data(as_text=True)
    row = html[html.index(f'id="order-{order_id}"') :].split("</tr>")[0]
    assert "B-7001" in row and "2026-12-01T05:00:00Z → 2026-12-01T18:00:00Z" in row
    assert "<li>PARA-API: 60 kg</li>" in row and f'id="start-{order_id}"' in row


def test_the_admin_lists_api_clients_and_revokes_one_with_a_reason(app: Flask, runtime: Runtime) -> None:
    client, token = erp_client(runtime)
    browser, _ = sign_in(app, runtime, Role.ADMIN)
    page = browser.get("/admin/api-clients").get_data(as_text=True)
    assert f'id="api-client-{client.id}"' in page and "ERP production" in page and f'id="revoke-{client.id}"' in page
    path = f"/admin/api-clients/{client.id}/revoke"
    assert post(browser, path, {"reason": ""}, token_from="/admin/api-clients").status_code == 422
    bearer = {"Authorization": f"Bearer {token}"}
    assert new_client(app).get("/api/erp/orders/PO-0", headers=bearer).status_code == 404  # still valid
    done = post(browser, path, {"reason": "ERP interface moved"}, token_from="/admin/api-clients")
    assert done.status_code == 302
    assert new_client(app).get("/api/erp/orders/PO-0", headers=bearer).status_code == 401
    revoked = [e.draft for e in entries(runtime, object_type="api_client") if e.draft.field == "revoked_at"]
    assert [(d.object_id, d.reason) for d in revoked] == [(str(client.id), "ERP interface moved")]
    page = browser.get("/admin/api-clients").get_data(as_text=True)
    assert f'id="revoke-{client.id}"' not in page and "revoked" in page
    again = post(browser, path, {"reason": "once more"}, token_from="/admin/api-clients")
    assert again.status_code == 422 and "already revoked" in again.get_data(as_text=True)
