"""Login, lockout, TOTP and the live event feed, in a real browser."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pyotp
import pytest

from ordersmith.platform import identity
from tests.builders import DEFAULT_PASSWORD, make_api_key, make_user
from tests.support import databases
from tests.support.server import Server


@pytest.fixture
def browser_db_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    """The shell's own pages (login, lockout, TOTP, the feed, API docs) touch no business table: SQLite only.
    The console's business flows run on both databases (test_console_screens.py)."""
    return databases.fresh_sqlite(tmp_path)


def _sign_in(page, email: str, password: str, code: str = "") -> None:
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    if code:
        page.fill("input[name=totp_code]", code)
    page.click("button[type=submit]")


def test_an_agent_signs_in_sees_the_shell_and_no_admin_pages(page, server: Server, fixture_uow):
    make_user(fixture_uow, role="agent", email="agent@example.com")
    page.goto("/")
    assert page.url.endswith("/login?next=/")
    _sign_in(page, "agent@example.com", DEFAULT_PASSWORD)
    page.wait_for_url(f"{server.url}/")
    assert "Welcome, agent@example.com" in page.inner_text("h1")
    nav = page.inner_text("nav")
    assert "Live events" in nav and "Users" not in nav and "API keys" not in nav
    page.goto("/admin/users")
    assert "Not allowed" in page.inner_text("h1")


def test_ten_wrong_passwords_lock_the_account_in_the_console(page, server: Server, fixture_uow):
    make_user(fixture_uow, role="agent", email="agent@example.com")
    for _ in range(10):
        _sign_in(page, "agent@example.com", "not the password")
        assert "wrong e-mail or password" in page.inner_text(".error")
    _sign_in(page, "agent@example.com", DEFAULT_PASSWORD)
    assert "locked" in page.inner_text(".error")
    assert page.url.endswith("/login")
    user = identity.find_user_by_email(fixture_uow, email="agent@example.com")
    assert user is not None and user.locked_until is not None


def test_a_user_with_totp_needs_the_code_to_sign_in(page, server: Server, fixture_uow):
    from ordersmith.platform.settings import Settings

    user = make_user(fixture_uow, role="admin", email="boss@example.com")
    settings = Settings(_env_file=None)  # the server runs with the same development secret key
    enrolment = identity.start_totp_enrolment(fixture_uow, user_id=user.id, settings=settings)
    # Confirmed with the previous step's code (each code is spent once), so the current one still signs in.
    # codes for the server's clock (shifted for stable screenshots: tests/browser/conftest.py)
    previous = pyotp.TOTP(enrolment.secret).at(fixture_uow.now() - timedelta(seconds=30))
    identity.confirm_totp(fixture_uow, user_id=user.id, code=previous, settings=settings)
    _sign_in(page, "boss@example.com", DEFAULT_PASSWORD)
    assert "one-time code" in page.inner_text(".error")
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.fill("input[name=totp_code]", pyotp.TOTP(enrolment.secret).at(fixture_uow.now()))
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}/")
    assert "Users" in page.inner_text("nav")


def test_the_live_feed_shows_events_as_they_happen(page, server: Server, fixture_uow):
    make_user(fixture_uow, role="manager", email="manager@example.com")
    key = make_api_key(fixture_uow, scopes=["sales_channels:write"]).secret
    _sign_in(page, "manager@example.com", DEFAULT_PASSWORD)
    page.wait_for_url(f"{server.url}/")
    page.click("text=Live events")
    page.wait_for_selector("#feed-status.live")
    body = {"code": "amazon-uk", "name": "Amazon UK", "kind": "marketplace", "division": "marketplace"}
    created = httpx.post(
        f"{server.url}/api/v1/sales-channels", json=body, headers={"Authorization": f"Bearer {key}"}
    )
    assert created.status_code == 201
    row = page.wait_for_selector("tr.event[data-type='sales_channel.created']")
    assert row is not None and "amazon-uk" in row.inner_text()


def test_an_admin_creates_an_api_key_and_sees_it_once(page, server: Server, fixture_uow):
    make_user(fixture_uow, role="admin", email="admin@example.com")
    _sign_in(page, "admin@example.com", DEFAULT_PASSWORD)
    page.wait_for_url(f"{server.url}/")
    page.goto("/admin/api-keys")
    page.fill("input[name=name]", "warehouse scanner")
    page.check("input[value='events:read']")
    page.click("text=Create key")
    secret = page.inner_text("#new-key")
    assert secret.startswith("osk_")
    assert httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json()[
        "scopes"
    ] == ["events:read"]
    page.goto("/admin/api-keys")
    assert secret not in page.content()


def test_the_api_docs_render_from_local_assets_with_authentication_described(page, server: Server):
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto("/api/docs")
    # Swagger UI renders the whole document (150-odd paths, ~0.6 MB) before the first path shows: seconds on a
    # loaded two-core machine, so this wait is longer than the pages' default.
    page.wait_for_selector('[data-path="/api/v1/sales-channels"]', timeout=45_000)
    assert page.is_visible("button.authorize")
    assert all(url.startswith(server.url) for url in requests), [
        u for u in requests if not u.startswith(server.url)
    ]
