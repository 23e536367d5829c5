from flask.testing import FlaskClient

from ebr.bootstrap import Runtime
from ebr.domain.accounts import Role
from tests.factories import login, make_user


def test_login_then_home_page_greets_the_user(runtime: Runtime, client: FlaskClient) -> None:
    user = make_user(runtime, Role.QA)
    assert login(client, user.username) == 302
    page = client.get("/")
    assert page.status_code == 200
    assert user.full_name in page.get_data(as_text=True)
