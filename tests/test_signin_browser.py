"""Sign-in end to end: a real OpenID Connect provider on 127.0.0.1, the deployment command
(`observatory serve`'s), Streamlit's own `st.login`, and headless Chromium.

The provider is oidc-provider-mock (PyPI): it signs ID tokens (RS256, published JWKS) with
the claims each test user is given here. The browser signs in as an operations user,
acknowledges an alert and the audit row carries that user's e-mail; an analyst and a
person with two roles get their pages; a person with no role lands on the portal; signing
out returns to the portal; an anonymous visitor asking for a staff page by URL is refused.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from observatory.opsdb import ops_database
from observatory.opsdb.schema import alert_events
from observatory.settings import SECRETS_ENV, serve_command
from tests.conftest_ops import copy_store, evaluate_alerts
from tests.signin import COOKIE_SECRET
from tests.streamlit_server import free_port, running

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SCRIPT_DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
USERS = {
    "ops-1": {"email": "aino.ops@city.example", "name": "Aino Operations",
              "roles": ["operations"]},
    "ana-1": {"email": "eero.analyst@city.example", "name": "Eero Analyst",
              "roles": ["analysts"]},
    "two-1": {"email": "sanna@city.example", "name": "Sanna Two Roles",
              "roles": ["officials", "analysts"]},
    "none-1": {"email": "visitor@city.example", "name": "No Role"},
}


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """oidc-provider-mock on 127.0.0.1 with the test users, in its own process."""
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("oidc_provider.py")), json.dumps(USERS)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        for pipe in (process.stdin, process.stdout):
            if pipe:
                pipe.close()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def signed_store(helsinki_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo store with its alerts evaluated into its own SQLite database."""
    store = copy_store(helsinki_store, tmp_path_factory.mktemp("signin"))
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("OBSERVATORY_DATABASE_URL", raising=False)
        evaluate_alerts(store)
    return store


@pytest.fixture(scope="module")
def app(signed_store: Path, provider: str,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard served as a deployment (`observatory serve`'s command) with sign-in."""
    port = free_port()
    folder = tmp_path_factory.mktemp("secrets")
    secrets = folder / "secrets.toml"
    secrets.write_text(
        f'[auth]\nredirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{COOKIE_SECRET}"\n\n[auth.city]\nlabel = "City account"\n'
        'client_id = "observatory"\nclient_secret = "test-client-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n',
        encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SECRETS_ENV, str(secrets))
        patch.delenv("OBSERVATORY_DEMO_ROLES", raising=False)
        patch.delenv("OBSERVATORY_DATABASE_URL", raising=False)
        command, env = serve_command(signed_store, port=port, address="127.0.0.1")
    assert env["OBSERVATORY_DEMO_ROLES"] == "0"  # a deployment never offers the switcher
    with running(command, env, port=port, log=folder / "server.log") as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run the README's test command.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def _open(page, url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    page.wait_for_selector(SCRIPT_DONE, timeout=60_000)


def _sign_in(browser, app: str, sub: str):  # type: ignore[no-untyped-def]
    """A fresh browser context signed in as `sub` through the provider's form."""
    context = browser.new_context(viewport={"width": 1400, "height": 2200})
    page = context.new_page()
    _open(page, app)
    page.get_by_role("button", name="Sign in with City account").click()
    page.wait_for_url("**/oauth2/authorize**", timeout=30_000)
    page.locator(f'button[name="sub"][value="{sub}"]').click()
    page.wait_for_url(f"{app}/**", timeout=30_000)
    page.wait_for_selector(SCRIPT_DONE, timeout=60_000)
    try:
        page.get_by_text(f"Signed in as {USERS[sub]['name']}").wait_for(timeout=30_000)
    except Exception:
        page.screenshot(path="/tmp/signin_failure.png")
        raise
    return context, page


def _heading(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator("h1").first.inner_text(timeout=10_000).strip()


def _menu(page) -> set[str]:  # type: ignore[no-untyped-def]
    links = page.locator('[data-testid="stSidebar"] [data-testid="stPageLink-NavLink"]')
    links.first.wait_for(timeout=10_000)  # the sidebar may draw after the page's heading
    # each link reads "<icon name>\n\n<title>": the title is the last line
    return {links.nth(i).inner_text().strip().splitlines()[-1].strip()
            for i in range(links.count())}


def test_an_operations_user_signs_in_acts_and_the_audit_row_names_them(
        app: str, browser, signed_store: Path) -> None:  # type: ignore[no-untyped-def]
    context, page = _sign_in(browser, app, "ops-1")
    try:
        assert _heading(page) == "Data health"
        assert "_streamlit_user" not in page.evaluate("document.cookie")  # HTTP-only
        cookies = {c["name"]: c for c in context.cookies()}
        identity = [c for name, c in cookies.items() if name.startswith("_streamlit_user")]
        assert identity and all(c["httpOnly"] for c in identity)
        assert any("xsrf" in name for name in cookies)  # Streamlit's XSRF protection is on
        assert {"Data health", "Alerts", "Live feeds", "Indicators"} <= _menu(page)
        assert "Indicator registry" not in _menu(page)
        _open(page, f"{app}/alerts")
        page.get_by_text("You act as aino.ops@city.example").wait_for(timeout=30_000)
        assert page.get_by_label("Your name").count() == 0  # nobody types a name
        page.get_by_text("acknowledge", exact=True).first.click()
        page.get_by_role("textbox", name="Comment").fill("crew on the way")
        page.get_by_role("button", name="Apply").click()
        page.get_by_text("acknowledge recorded").wait_for(timeout=30_000)
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/oauth2/end_session**", timeout=30_000)  # the provider's too
        page.get_by_role("button", name="End session").click()
        page.wait_for_url(f"{app}/**", timeout=30_000)
        page.get_by_role("button", name="Sign in with City account").wait_for(timeout=30_000)
        assert _heading(page) == "Neighbourhood indicators"
    finally:
        context.close()
    with ops_database(signed_store).read() as conn:
        rows = conn.execute(sa.select(alert_events).where(
            alert_events.c.action == "acknowledged")).mappings().all()
    assert [(r["actor"], r["actor_email"], r["actor_subject"], r["via"], r["comment"])
            for r in rows] == [("aino.ops@city.example", "aino.ops@city.example", "ops-1",
                                "app", "crew on the way")]


def test_an_analyst_and_a_person_with_two_roles_get_their_pages(
        app: str, browser) -> None:  # type: ignore[no-untyped-def]
    context, page = _sign_in(browser, app, "ana-1")
    try:
        assert _heading(page) == "Indicator registry"
        assert "Alerts" not in _menu(page) and "People and roles" in _menu(page)
    finally:
        context.close()
    context, page = _sign_in(browser, app, "two-1")
    try:
        assert _heading(page) == "Overview"
        assert {"Overview", "Compare areas", "Indicator registry", "Forecasts",
                "Indicators"} <= _menu(page)
        _open(page, f"{app}/alerts")
        page.get_by_text("You need the Operations role").wait_for(timeout=30_000)
    finally:
        context.close()


def test_no_role_lands_on_the_portal_and_anonymous_urls_are_refused(
        app: str, browser) -> None:  # type: ignore[no-untyped-def]
    context, page = _sign_in(browser, app, "none-1")
    try:
        assert _heading(page) == "Neighbourhood indicators"
        assert _menu(page) == {"Indicators", "About the data"}
    finally:
        context.close()
    context = browser.new_context()
    page = context.new_page()
    try:
        for path in ("alerts?role=operations", "registry?role=analysts", "overview"):
            _open(page, f"{app}/{path}")
            page.get_by_text("You need the").wait_for(timeout=30_000)
            assert page.locator('[data-testid="stDataFrame"]').count() == 0
        assert "Store:" not in page.locator('[data-testid="stSidebar"]').inner_text()
    finally:
        context.close()
