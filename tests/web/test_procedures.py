"""The procedure pages over HTTP: import, the version page, submit and approve through the signing dialog,
immutability of submitted versions, making a version effective for a product, comparison, dry run, the diagram,
bad uploads and who may reach the routes at all (VAL-08, VAL-10)."""

from __future__ import annotations

import html
import io
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import TestResponse, encode_multipart

from ebr.adapters.alerts.sinks import RecordingAlertSink
from ebr.bootstrap import Runtime, build
from ebr.config import Settings
from ebr.domain.accounts import Role, User
from tests.factories import csrf_token, effective_policy, session_token, sign
from tests.fakes import FakeClock
from tests.web.support import entries_since, last_seq, post, route_calls, sign_dialog, sign_in

ROOT = Path(__file__).resolve().parents[2]
QUICK_CHECK = ROOT / "workflows" / "quick_check" / "procedure.bpmn"
VERSION_PATH = re.compile(r"/procedures/versions/(\d+)$")
DIALOG_PATH = re.compile(r"/sign/[\w-]+$")
ROW_RE = re.compile(r"<tr[^>]*>(.*?)</tr>", re.DOTALL)
TAG_RE = re.compile(r"<[^>]+>")


@pytest.fixture
def policy(runtime: Runtime) -> User:
    """The site signature policy in force: procedures are signed 'authored' by engineers, 'approved' by QA."""
    return effective_policy(runtime)


# --- helpers -----------------------------------------------------------------------------------------------------


def text_of(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def plain(fragment: str) -> str:
    """An HTML fragment as the reader sees it: tags dropped, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(TAG_RE.sub(" ", fragment)).split())


def path_of(location: str) -> str:
    return location.removeprefix("https://localhost").removeprefix("http://localhost")


def version_id(response: TestResponse) -> int:
    """The version a redirect leads to."""
    assert response.status_code == 302, (response.status_code, text_of(response)[:500])
    match = VERSION_PATH.search(path_of(response.location))
    assert match, response.location
    return int(match.group(1))


def import_library(browser: FlaskClient, procedure_id: str) -> int:
    """Press 'Import <procedure> from the library' on the index page; the id of the stored version."""
    return version_id(post(browser, "/procedures/import", {"procedure_id": procedure_id}, token_from="/procedures/"))


def upload(
    browser: FlaskClient, content: bytes, filename: str = "procedure.bpmn", path: str = "/procedures/upload"
) -> TestResponse:
    """Send a .bpmn through the upload form (or the revise form of a version page).

    The multipart body is encoded in memory: werkzeug's test client would spool a body over 500 KB to an
    unnamed temporary file it never closes (a ResourceWarning, an error under -W error)."""
    fields = {"csrf_token": csrf_token(browser, "/procedures/"), "bpmn": FileStorage(io.BytesIO(content), filename)}
    boundary, body = encode_multipart(MultiDict(fields))
    return browser.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def start_signing(browser: FlaskClient, vid: int, action: str) -> TestResponse:
    """Press Submit or Approve on the version page: the answer is a redirect to the signing dialog."""
    return post(browser, f"/procedures/versions/{vid}/{action}", token_from=f"/procedures/versions/{vid}")


def sign_version(browser: FlaskClient, signer: User, vid: int, action: str, meaning_text: str) -> TestResponse:
    """Submit / approve and sign the dialog it opens, checking the dialog names the meaning and the version."""
    started = start_signing(browser, vid, action)
    assert started.status_code == 302, (started.status_code, text_of(started)[:500])
    dialog = path_of(started.location)
    assert DIALOG_PATH.fullmatch(dialog), dialog
    page = text_of(browser.get(dialog))
    assert f'<strong id="sign-meaning">{meaning_text}</strong>' in page
    assert "<th>object</th><td>procedure_version</td>" in page
    assert f"<th>id</th><td>{vid}</td>" in page
    return sign_dialog(browser, dialog, signer.username)


def status_of_version(runtime: Runtime, vid: int) -> str:
    return runtime.services.procedures.view(vid).version.status


def row_of(page: str, table_id: str, cell: str) -> str:
    """The text of the row of a table that contains this cell text."""
    table = page.split(f'<table id="{table_id}">', 1)[1].split("</table>", 1)[0]
    rows = [plain(r) for r in ROW_RE.findall(table)]
    found = [r for r in rows if cell in r]
    assert len(found) == 1, (cell, rows)
    return found[0]


def quick_check_bpmn() -> bytes:
    return QUICK_CHECK.read_bytes()


def version_count(runtime: Runtime) -> int:
    return len(runtime.services.procedures.versions())


# --- the version page of a fresh import --------------------------------------------------------------------------


def test_an_engineer_imports_quick_check_and_the_draft_shows_steps_limits_roles_hash_and_no_problems(
    app: Flask, runtime: Runtime, policy: User
) -> None:
    browser, engineer = sign_in(app, runtime, Role.ENGINEER)
    index = text_of(browser.get("/procedures/"))
    assert 'id="import-quick_check"' in index and 'id="import-granulation"' in index
    assert "No versions yet." in index
    vid = import_library(browser, "quick_check")
    stored = runtime.services.procedures.view(vid).version
    assert (stored.procedure_id, stored.version, stored.status) == ("quick_check", 1, "draft")

    response = browser.get(f"/procedures/versions/{vid}")
    assert response.status_code == 200
    page = text_of(response)
    assert "quick_check version 1 (draft)." in page  # the flash after the import
    assert '<strong id="status">draft</strong>' in page
    assert f'<code id="content-hash">{stored.content_hash}</code>' in page
    assert re.fullmatch(r"[0-9a-f]{64}", stored.content_hash)
    assert '<p id="lint-clean">No problems: the version can be submitted.</p>' in page
    assert 'id="lint-problems"' not in page
    weigh = row_of(page, "steps", "qc_weigh")
    assert weigh == (
        "qc_weigh Weigh the sample critical qc_weigh Net mass [kg]: 1.000 kg ± 0.010 kg ← balance.net_mass "
        "operator supervisor balance"
    )
    deviation = row_of(page, "steps", "qc_deviation")
    assert "operator, supervisor" in deviation  # performer roles, sorted
    steps_table = page.split('<table id="steps">')[1].split("</table>")[0].split("<tbody>")[1]
    shown = [plain(r).split()[0] for r in ROW_RE.findall(steps_table)]
    assert sorted(shown) == ["qc_confirm", "qc_deviation", "qc_identify", "qc_label", "qc_weigh"]
    for path in ("workflows/quick_check/procedure.bpmn", "forms/qc_weigh.json", "equipment/classes/balance.toml"):
        assert f"<code>{path}</code>" in page
    assert 'id="submit"' in page and 'id="approve"' not in page  # the author's actions on a draft
    listing = text_of(browser.get("/procedures/"))
    assert f'href="/procedures/versions/{vid}">v1</a>' in listing
    assert f"<code>{stored.content_hash[:16]}…</code>" in listing
    assert runtime.services.procedures.view(vid).version.created_by == engineer.id


def test_the_diagram_endpoint_returns_the_frozen_bpmn_xml(app: Flask, runtime: Runtime, policy: User) -> None:
    browser, _ = sign_in(app, runtime, Role.ENGINEER)
    vid = import_library(browser, "quick_check")
    response = browser.get(f"/procedures/versions/{vid}/diagram.bpmn")
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert response.get_data() == quick_check_bpmn()
    page = text_of(browser.get(f"/procedures/versions/{vid}"))
    assert f'data-src="/procedures/versions/{vid}/diagram.bpmn"' in page
    assert '<script src="/static/vendor/bpmn-viewer.js"></script>' in page  # served locally, never from a CDN
    with browser.get("/static/vendor/bpmn-viewer.js") as script:  # a file response: close it
        assert script.status_code == 200
    assert browser.get("/procedures/versions/999999/diagram.bpmn").status_code == 404


# --- VAL-08: the signed lifecycle, immutability and the product mapping -----------------------------------------


@pytest.mark.req("VAL-08")
def test_submit_and_qa_approval_through_the_dialog_then_edits_are_409_and_the_version_goes_into_force(
    app: Flask, runtime: Runtime, clock: FakeClock, policy: User
) -> None:
    browser, engineer = sign_in(app, runtime, Role.ENGINEER)
    vid = import_library(browser, "quick_check")
    original = runtime.services.procedures.view(vid).version.content_hash

    clock.advance(minutes=3)
    submitted = sign_version(browser, engineer, vid, "submit", "Authored by")
    assert submitted.status_code == 302 and path_of(submitted.location) == f"/procedures/versions/{vid}"
    assert status_of_version(runtime, vid) == "in_review"
    page = text_of(browser.get(f"/procedures/versions/{vid}"))
    assert '<strong id="status">in_review</strong>' in page
    authored_at = clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f"Authored by: {engineer.full_name} ({engineer.username}), {authored_at}" in page
    assert 'id="submit"' not in page and 'id="approve"' not in page  # the engineer cannot approve

    # The engineer holds no procedure.approve: the approve route is 403 and opens no dialog.
    before = last_seq(runtime)
    assert start_signing(browser, vid, "approve").status_code == 403
    assert [e.draft.action for e in entries_since(runtime, before)] == ["permission_denied"]
    assert status_of_version(runtime, vid) == "in_review"

    qa_browser, qa = sign_in(app, runtime, Role.QA)
    assert 'id="approve"' in text_of(qa_browser.get(f"/procedures/versions/{vid}"))
    clock.advance(minutes=5)
    approved = sign_version(qa_browser, qa, vid, "approve", "Approved by")
    assert approved.status_code == 302 and path_of(approved.location) == f"/procedures/versions/{vid}"
    assert status_of_version(runtime, vid) == "approved"
    page = text_of(qa_browser.get(f"/procedures/versions/{vid}"))
    assert '<strong id="status">approved</strong>' in page
    assert f"Approved by: {qa.full_name} ({qa.username}), {clock.now():%Y-%m-%dT%H:%M:%SZ}" in page
    assert 'id="make-effective"' in page

    # Editing the approved version: 409, no new version, the hash unchanged (VAL-08).
    count = version_count(runtime)
    revised = upload(
        browser,
        quick_check_bpmn().replace(b"Weigh the sample", b"Weigh it"),
        path=f"/procedures/versions/{vid}/revise",
    )
    assert revised.status_code == 409
    assert "content is frozen" in text_of(revised)
    assert version_count(runtime) == count
    assert runtime.services.procedures.view(vid).version.content_hash == original
    assert runtime.services.procedures.bundle(vid).content_hash == original
    assert status_of_version(runtime, vid) == "approved"

    # The author cannot make it effective either; QA does, for product PARA-500.
    assert (
        post(
            browser,
            f"/procedures/versions/{vid}/effective",
            {"products": "PARA-500", "reason": "release of the SOP"},
            token_from=f"/procedures/versions/{vid}",
        ).status_code
        == 403
    )
    made = post(
        qa_browser,
        f"/procedures/versions/{vid}/effective",
        {"products": "PARA-500", "reason": "release of the SOP"},
        token_from=f"/procedures/versions/{vid}",
    )
    assert made.status_code == 302
    assert status_of_version(runtime, vid) == "effective"
    assert "The version is effective." in text_of(qa_browser.get(made.location))
    index = text_of(browser.get("/procedures/"))
    products = index.split("<h2>Products</h2>", 1)[1]
    assert "<tr><td>PARA-500</td><td>quick_check v1</td></tr>" in products
    assert runtime.services.procedures.bundle(vid).content_hash == original
    assert runtime.services.signing.verify() == []


@pytest.mark.req("VAL-08")
def test_the_author_holding_the_qa_role_too_cannot_approve_their_own_version(
    app: Flask, runtime: Runtime, policy: User
) -> None:
    browser, author = sign_in(app, runtime, Role.ENGINEER, Role.QA)
    vid = import_library(browser, "quick_check")
    original = runtime.services.procedures.view(vid).version.content_hash
    assert sign_version(browser, author, vid, "submit", "Authored by").status_code == 302
    started = start_signing(browser, vid, "approve")
    assert started.status_code == 302  # the QA role opens the dialog; the policy refuses the signature itself
    refused = sign_dialog(browser, path_of(started.location), author.username)
    assert refused.status_code == 403
    assert "different person" in text_of(refused)
    assert status_of_version(runtime, vid) == "in_review"
    assert runtime.services.procedures.view(vid).version.content_hash == original


@pytest.mark.req("VAL-08")
def test_a_version_in_review_cannot_be_edited_but_a_draft_can(app: Flask, runtime: Runtime, policy: User) -> None:
    browser, engineer = sign_in(app, runtime, Role.ENGINEER)
    vid = import_library(browser, "quick_check")
    renamed = quick_check_bpmn().replace(b'name="Weigh the sample"', b'name="Weigh the container"')

    # A draft may be replaced: the upload is the next version and the old draft is retired.
    new_id = version_id(upload(browser, renamed, path=f"/procedures/versions/{vid}/revise"))
    assert new_id != vid
    assert status_of_version(runtime, vid) == "retired"
    assert (runtime.services.procedures.view(new_id).version.version, status_of_version(runtime, new_id)) == (
        2,
        "draft",
    )

    other = upload(
        browser, renamed.replace(b'"quick_check"', b'"other_check"'), path=f"/procedures/versions/{new_id}/revise"
    )
    assert other.status_code == 422
    assert "The upload is process 'other_check', not 'quick_check'." in text_of(other)
    assert status_of_version(runtime, new_id) == "draft"

    assert sign_version(browser, engineer, new_id, "submit", "Authored by").status_code == 302
    submitted_hash = runtime.services.procedures.view(new_id).version.content_hash
    count = version_count(runtime)
    refused = upload(browser, quick_check_bpmn(), path=f"/procedures/versions/{new_id}/revise")
    assert refused.status_code == 409
    assert version_count(runtime) == count
    assert runtime.services.procedures.view(new_id).version.content_hash == submitted_hash
    assert status_of_version(runtime, new_id) == "in_review"


def test_product_codes_longer_than_the_column_are_422_and_a_repeated_code_is_mapped_once(
    app: Flask, runtime: Runtime, policy: User
) -> None:
    engineer_browser, engineer = sign_in(app, runtime, Role.ENGINEER)
    vid = import_library(engineer_browser, "quick_check")
    sign(runtime, engineer, session_token(runtime, engineer), "procedure_version", str(vid), "authored")
    browser, qa = sign_in(app, runtime, Role.QA)
    sign(runtime, qa, session_token(runtime, qa), "procedure_version", str(vid), "approved")
    path = f"/procedures/versions/{vid}/effective"
    for codes in ("P" * 65, "PARA-500, BAD\tCODE"):
        refused = post(browser, path, {"products": codes, "reason": "release of the SOP"}, "/")
        assert refused.status_code == 422, refused.status_code  # "P" * 65 was a 500 on PostgreSQL
        assert "A product code has at most 64 printable characters" in text_of(refused)
    assert status_of_version(runtime, vid) == "approved"
    assert runtime.services.procedures.product_mapping() == []
    made = post(browser, path, {"products": "PARA-500, PARA-500,,P" + "9" * 63, "reason": "release of the SOP"}, "/")
    assert made.status_code == 302
    assert [code for code, _ in runtime.services.procedures.product_mapping()] == ["P" + "9" * 63, "PARA-500"]


# --- VAL-10: comparing two versions ------------------------------------------------------------------------------


@pytest.fixture
def library_copy(tmp_path: Path) -> Path:
    """A writable copy of the repository's content folders."""
    target = tmp_path / "library"
    for folder in ("workflows", "forms", "equipment", "signatures"):
        shutil.copytree(ROOT / folder, target / folder)
    return target


@pytest.fixture
def copy_runtime(settings: Settings, clock: FakeClock, library_copy: Path) -> Iterator[Runtime]:
    """The application over the same database, reading its library from the writable copy."""
    rt = build(settings.with_(library_dir=library_copy), clock=clock, alert_sink=RecordingAlertSink())
    yield rt
    rt.engine.dispose()


@pytest.fixture
def copy_app(copy_runtime: Runtime) -> Flask:
    from ebr.web.app import create_app

    flask_app = create_app(runtime=copy_runtime)
    flask_app.config["TESTING"] = True
    return flask_app


def set_target(library: Path, target: str) -> None:
    path = library / "forms" / "qc_weigh.json"
    form = json.loads(path.read_text(encoding="utf-8"))
    form["fields"][0]["limits"]["target"] = target
    path.write_text(json.dumps(form, indent=2), encoding="utf-8")


@pytest.mark.req("VAL-10")
def test_changing_one_limit_between_two_versions_the_compare_page_and_json_show_exactly_that_change(
    copy_app: Flask, copy_runtime: Runtime, library_copy: Path
) -> None:
    effective_policy(copy_runtime)
    browser, _ = sign_in(copy_app, copy_runtime, Role.ENGINEER)
    v1 = import_library(browser, "quick_check")
    set_target(library_copy, "1.005")
    v2 = import_library(browser, "quick_check")
    assert v1 != v2
    hashes = {copy_runtime.services.procedures.view(v).version.content_hash for v in (v1, v2)}
    assert len(hashes) == 2

    page = browser.get(f"/procedures/versions/{v2}")
    assert f'<option value="{v1}">v1 (draft)</option>' in text_of(page)
    compared = browser.get(f"/procedures/compare?old={v1}&new={v2}")
    assert compared.status_code == 200
    body = text_of(compared)
    assert "<h1>quick_check: v1 → v2</h1>" in body
    table = body.split('<table id="changes">', 1)[1].split("</table>", 1)[0]
    rows = [plain(r) for r in ROW_RE.findall(table.split("<tbody>", 1)[1])]
    assert rows == ["changed limit qc_weigh/qc_mass 1.000 kg ± 0.010 kg 1.005 kg ± 0.010 kg"]

    as_json = browser.get(f"/procedures/compare.json?old={v1}&new={v2}")
    assert as_json.status_code == 200 and as_json.mimetype == "application/json"
    assert as_json.get_json() == {
        "old": v1,
        "new": v2,
        "changes": [
            {
                "kind": "changed",
                "what": "limit",
                "where": "qc_weigh/qc_mass",
                "old": "1.000 kg ± 0.010 kg",
                "new": "1.005 kg ± 0.010 kg",
            }
        ],
    }
    same = browser.get(f"/procedures/compare?old={v1}&new={v1}")
    assert 'id="no-changes"' in text_of(same)
    assert browser.get(f"/procedures/compare.json?old={v1}&new={v1}").get_json()["changes"] == []


@pytest.mark.req("VAL-10")
def test_an_uploaded_bpmn_that_renames_one_step_compares_as_exactly_that_step_name_change(
    app: Flask, runtime: Runtime, policy: User
) -> None:
    browser, _ = sign_in(app, runtime, Role.ENGINEER)
    v1 = import_library(browser, "quick_check")
    renamed = quick_check_bpmn().replace(b'name="Weigh the sample"', b'name="Weigh the container"')
    v2 = version_id(upload(browser, renamed, "quick_check.bpmn"))
    assert runtime.services.procedures.view(v2).version.version == 2
    changes = browser.get(f"/procedures/compare.json?old={v1}&new={v2}").get_json()["changes"]
    assert len(changes) == 1, changes
    (change,) = changes
    assert change["kind"] == "changed"
    assert "qc_weigh" in change["where"]
    assert (change["old"], change["new"]) == ("Weigh the sample", "Weigh the container")
    body = text_of(browser.get(f"/procedures/compare?old={v1}&new={v2}"))
    assert "Weigh the sample" in body and "Weigh the container" in body


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("", 422),
        ("?old=1", 422),
        ("?old=x&new=1", 422),
        ("?old=1&new=424242", 404),
        ("?old=1&new=99999999999", 404),  # beyond INTEGER: was a DataError (500) on PostgreSQL
        ("?old=-1&new=1", 404),
    ],
    ids=["none", "no-new", "not-int", "unknown", "huge", "negative"],
)
def test_compare_without_two_version_ids_is_a_clear_4xx(
    app: Flask, runtime: Runtime, policy: User, query: str, status: int
) -> None:
    browser, _ = sign_in(app, runtime, Role.ENGINEER)
    assert import_library(browser, "quick_check") == 1
    for path in ("/procedures/compare", "/procedures/compare.json"):
        response = browser.get(path + query)
        assert response.status_code == status, (path, response.status_code)


# --- the dry run -------------------------------------------------------------------------------------------------


def test_the_dry_run_of_granulation_runs_to_the_end_and_shows_the_path(
    app: Flask, runtime: Runtime, policy: User
) -> None:
    browser, _ = sign_in(app, runtime, Role.ENGINEER)
    vid = import_library(browser, "granulation")
    view = runtime.services.procedures.view(vid)
    assert view.problems == []
    count = version_count(runtime)
    response = post(
        browser, f"/procedures/versions/{vid}/dry-run", {"values": ""}, token_from=f"/procedures/versions/{vid}"
    )
    assert response.status_code == 200
    page = text_of(response)
    outcome = re.search(r'<p id="dry-run-outcome">([^<]*)</p>', page)
    assert outcome and re.fullmatch(r"The procedure ran to the end in \d+ elements\.", outcome.group(1)), outcome
    assert "Simulation: no batch was created and nothing was posted." in page
    path = [
        plain(li) for li in re.findall(r"<li>(.*?)</li>", page.split('<ol id="dry-run-path">', 1)[1].split("</ol>")[0])
    ]
    steps = [p for p in path if p.split()[0] in view.steps]
    assert len(steps) >= 30
    first = next(iter(view.steps.values()))
    assert f"{first.id} {first.name}" in path
    assert version_count(runtime) == count  # nothing stored but the audit entry
    assert status_of_version(runtime, vid) == "draft"


def test_a_dry_run_with_an_out_of_limit_mass_takes_the_deviation_route(
    app: Flask, runtime: Runtime, policy: User
) -> None:
    browser, _ = sign_in(app, runtime, Role.ENGINEER)
    vid = import_library(browser, "quick_check")
    routes = {}
    for mass in ("1.001", "0.500"):
        values = json.dumps({"qc_weigh": {"qc_mass": mass}})
        page = text_of(post(browser, f"/procedures/versions/{vid}/dry-run", {"values": values}, "/procedures/"))
        assert "The procedure ran to the end" in page
        routes[mass] = re.findall(r"<li><code>(\w+)</code>", page)
    assert routes["1.001"] == ["qc_identify", "qc_weigh", "gw_qc_mass", "qc_label", "qc_confirm", "qc_end"]
    assert routes["0.500"] == ["qc_identify", "qc_weigh", "gw_qc_mass", "qc_deviation", "qc_end_deviation"]
    stopped = text_of(
        post(browser, f"/procedures/versions/{vid}/dry-run", {"values": '{"qc_weigh": {"qc_mass": "abc"}}'}, "/")
    )
    assert "The simulation stopped" in stopped
    assert "qc_weigh: field 'qc_mass' needs a number, not 'abc'" in stopped


@pytest.mark.parametrize(
    "values",
    ["{not json", "[1, 2]", '{"weigh": 3}', '{"a":' * 3000, '{"s": {"f": 1' + "0" * 5000 + "}}"],
    ids=["not-json", "list", "not-nested", "too-deep", "too-many-digits"],  # the last two were 500s
)
def test_dry_run_values_that_are_not_an_object_of_objects_are_422(
    app: Flask, runtime: Runtime, policy: User, values: str
) -> None:
    browser, _ = sign_in(app, runtime, Role.ENGINEER)
    vid = import_library(browser, "quick_check")
    response = post(browser, f"/procedures/versions/{vid}/dry-run", {"values": values}, token_from="/procedures/")
    assert response.status_code == 422
    assert "Test values" in text_of(response)


# --- bad uploads: a clear 4xx naming the problem, nothing stored -------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="bomb" targetNamespace="x">
  <bpmn:process id="bomb" name="&lol9;" isExecutable="true"><bpmn:startEvent id="start" /></bpmn:process>
</bpmn:definitions>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="xxe" targetNamespace="x">
  <bpmn:process id="xxe" name="&xxe;" isExecutable="true"><bpmn:startEvent id="start" /></bpmn:process>
</bpmn:definitions>
"""
NOT_BPMN = b'<?xml version="1.0" encoding="UTF-8"?>\n<html><body>A web page saved with the wrong name</body></html>\n'

BAD_UPLOADS = {
    "not-xml": (b"this is not <xml at all", "procedure.bpmn", "is not well-formed XML"),
    "not-bpmn": (NOT_BPMN, "procedure.bpmn", "is not BPMN 2.0: the root element is html"),
    "billion-laughs": (BILLION_LAUGHS, "procedure.bpmn", "a DTD (<!DOCTYPE> or <!ENTITY>) is not allowed"),
    "external-entity": (EXTERNAL_ENTITY, "procedure.bpmn", "a DTD (<!DOCTYPE> or <!ENTITY>) is not allowed"),
    "empty": (b"   \n", "procedure.bpmn", "is empty"),
    "not-utf8": ("<?xml version='1.0'?><a>é</a>".encode("latin-1"), "procedure.bpmn", "not UTF-8"),
    "wrong-extension": (b"<bpmn:definitions/>", "procedure.xml", "only .bpmn files can be imported"),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
@pytest.mark.parametrize("route", ["upload", "revise"])
def test_a_bad_upload_is_422_naming_the_problem_and_stores_nothing(
    app: Flask, runtime: Runtime, policy: User, case: str, route: str
) -> None:
    content, filename, reason = BAD_UPLOADS[case]
    browser, _ = sign_in(app, runtime, Role.ENGINEER)
    vid = import_library(browser, "quick_check")
    path = "/procedures/upload" if route == "upload" else f"/procedures/versions/{vid}/revise"
    count = version_count(runtime)
    response = upload(browser, content, filename, path=path)
    assert response.status_code == 422, (response.status_code, text_of(response)[:500])
    page = text_of(response)
    assert reason in page
    assert filename in page  # the file is named
    assert "root:" not in page  # no entity was ever expanded into the answer
    assert version_count(runtime) == count
    assert status_of_version(runtime, vid) == "draft"


def padded(size: int) -> bytes:
    """quick_check's BPMN made this many bytes larger by an XML comment before the root element."""
    padding = b"<!-- " + b"x" * (size - 10) + b" -->\n"  # 5 + (size - 10) + 5 bytes
    return quick_check_bpmn().replace(b"<bpmn:definitions", padding + b"<bpmn:definitions", 1)


def test_a_6_mb_upload_is_413_and_stores_nothing(app: Flask, runtime: Runtime, policy: User) -> None:
    browser, _ = sign_in(app, runtime, Role.ENGINEER)
    vid = import_library(browser, "quick_check")
    count = version_count(runtime)
    for path in ("/procedures/upload", f"/procedures/versions/{vid}/revise"):
        too_big = upload(browser, padded(6 * 1024 * 1024), path=path)
        assert too_big.status_code == 413, path
        assert "Request Entity Too Large" in text_of(too_big)
    assert version_count(runtime) == count
    assert status_of_version(runtime, vid) == "draft"


def test_the_granulation_bpmn_66_kb_can_be_uploaded(app: Flask, runtime: Runtime, policy: User) -> None:
    browser, _ = sign_in(app, runtime, Role.ENGINEER)
    content = (ROOT / "workflows" / "granulation" / "procedure.bpmn").read_bytes()
    assert len(content) > 64 * 1024
    response = upload(browser, content)
    assert response.status_code == 302, response.status_code
    assert runtime.services.procedures.view(version_id(response)).version.procedure_id == "granulation"


def test_a_bpmn_just_over_5_mb_is_422_naming_the_limit_and_stores_nothing(
    app: Flask, runtime: Runtime, policy: User
) -> None:
    browser, _ = sign_in(app, runtime, Role.ENGINEER)
    count = version_count(runtime)
    over = padded(5 * 1024 * 1024 + 1 - len(quick_check_bpmn()))
    assert len(over) == 5 * 1024 * 1024 + 1
    refused = upload(browser, over)
    assert refused.status_code == 422, refused.status_code
    assert "procedure.bpmn: is 5,242,881 bytes; the limit is 5 MB" in text_of(refused)
    assert version_count(runtime) == count


MISSING_FORM = b'name="ebr:form" value="qc_weigh_missing"'


def test_an_upload_whose_bpmn_references_a_missing_form_is_refused_naming_it_and_stores_nothing(
    app: Flask, runtime: Runtime, policy: User
) -> None:
    browser, _ = sign_in(app, runtime, Role.ENGINEER)
    count = version_count(runtime)
    response = upload(browser, quick_check_bpmn().replace(b'name="ebr:form" value="qc_weigh"', MISSING_FORM))
    assert response.status_code == 422
    assert "qc_weigh: ebr:form 'qc_weigh_missing': forms/qc_weigh_missing.json is not in the library" in text_of(
        response
    )
    assert version_count(runtime) == count
    assert runtime.services.procedures.versions() == []


def test_replacing_a_draft_by_a_bpmn_with_a_missing_form_is_refused_and_stores_nothing(
    app: Flask, runtime: Runtime, policy: User
) -> None:
    browser, _ = sign_in(app, runtime, Role.ENGINEER)
    vid = import_library(browser, "quick_check")
    count = version_count(runtime)
    response = upload(
        browser,
        quick_check_bpmn().replace(b'name="ebr:form" value="qc_weigh"', MISSING_FORM),
        path=f"/procedures/versions/{vid}/revise",
    )
    assert response.status_code == 422, response.status_code
    assert "forms/qc_weigh_missing.json is not in the library" in text_of(response)
    assert version_count(runtime) == count
    assert status_of_version(runtime, vid) == "draft"


def test_an_upload_that_is_a_valid_procedure_is_stored_as_a_draft_of_its_process(
    app: Flask, runtime: Runtime, policy: User
) -> None:
    browser, _ = sign_in(app, runtime, Role.ENGINEER)
    vid = version_id(upload(browser, quick_check_bpmn(), "C:\\models\\quick check.bpmn"))
    view = runtime.services.procedures.view(vid)
    assert (view.version.procedure_id, view.version.status, view.problems) == ("quick_check", "draft", [])
    assert "workflows/quick_check/procedure.bpmn" in view.files
    # The same content again is the same version, not a duplicate.
    assert version_id(upload(browser, quick_check_bpmn())) == vid
    assert import_library(browser, "quick_check") == vid


# --- who reaches the procedure routes ----------------------------------------------------------------------------


def test_an_operator_gets_403_on_every_procedures_route(app: Flask, runtime: Runtime, policy: User) -> None:
    engineer_browser, _ = sign_in(app, runtime, Role.ENGINEER)
    vid = import_library(engineer_browser, "quick_check")
    assert vid == 1  # route_calls() fills <version_id> with 1: the calls hit a real version
    browser, operator = sign_in(app, runtime, Role.OPERATOR)
    assert 'href="/procedures/"' not in text_of(browser.get("/"))  # no menu entry either
    calls = [c for c in route_calls(app, operator.id) if c.endpoint.startswith("procedures.")]
    assert {c.endpoint for c in calls} == {
        f"procedures.{name}"
        for name in (
            "index",
            "import_library",
            "upload",
            "version",
            "diagram",
            "submit",
            "approve",
            "make_effective",
            "retire",
            "return_to_author",
            "revise",
            "dry_run",
            "compare",
            "compare_json",
        )
    }
    before = last_seq(runtime)
    for call in calls:
        if call.method == "GET":
            response = browser.get(call.path + ("?old=1&new=1" if "compare" in call.endpoint else ""))
        else:
            response = post(browser, call.path, {"procedure_id": "quick_check", "reason": "try"})
        assert response.status_code == 403, (str(call), response.status_code)
    denied = [(e.draft.action, e.draft.username) for e in entries_since(runtime, before)]
    assert denied == [("permission_denied", operator.username)] * len(calls)
    assert version_count(runtime) == 1
    assert status_of_version(runtime, vid) == "draft"


def test_a_supervisor_may_read_procedures_but_not_author_or_approve(app: Flask, runtime: Runtime, policy: User) -> None:
    engineer_browser, _ = sign_in(app, runtime, Role.ENGINEER)
    vid = import_library(engineer_browser, "quick_check")
    browser, _ = sign_in(app, runtime, Role.SUPERVISOR)
    assert browser.get("/procedures/").status_code == 200
    page = text_of(browser.get(f"/procedures/versions/{vid}"))
    for action in ('id="submit"', 'id="approve"', 'id="revise"', 'id="dry-run"', 'id="import-quick_check"'):
        assert action not in page
    assert browser.get(f"/procedures/versions/{vid}/diagram.bpmn").status_code == 200
    assert post(browser, "/procedures/import", {"procedure_id": "granulation"}, "/procedures/").status_code == 403
    assert start_signing(browser, vid, "submit").status_code == 403
    assert version_count(runtime) == 1
