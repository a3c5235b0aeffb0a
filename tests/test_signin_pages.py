"""Sign-in with Streamlit's AppTest: every page under every role set, roles from the
verified identity only, nothing raised from the browser, caches never shared across roles.

`tests/test_signin_browser.py` does the same through a real OpenID Connect provider and
Chromium; here `st.user` holds the claims (AppTest.user), as Streamlit's signed cookie
would after the provider's ID token was verified.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from observatory.access import Viewer
from observatory.cli import main
from observatory.roles import Role
from observatory.settings import STORE_ENV
from observatory.ui import auth
from observatory.ui.navigation import ROLE_PAGES, STAFF_ORDER, PageEntry
from tests.signin import AUTH, anonymous, open_url, signed_in

STAFF_PAGES = [(role, entry) for role in STAFF_ORDER for entry in ROLE_PAGES[role]]
INTERNAL_LABEL = "Residents (modelled)"  # residents_modelled_count, visibility: internal


def _links(at: AppTest) -> set[str]:
    return {str(link.proto.label) for link in at.sidebar.get("page_link")}


def _locked(at: AppTest, role: Role) -> bool:
    """The page says which role it needs and shows none of its data."""
    says = any(f"You need the {role.label} role" in w.value for w in at.warning)
    return says and not at.dataframe and not at.get("deck_gl_json_chart") and not at.metric


def _sidebar_text(at: AppTest) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "caption", "error", "warning")
                    for e in getattr(at.sidebar, kind))


@pytest.fixture(autouse=True)
def _fresh_grants() -> Iterator[None]:
    auth._granted.clear()
    yield
    auth._granted.clear()


@pytest.mark.parametrize(("role", "entry"), STAFF_PAGES,
                         ids=[f"{r.value}-{e.url_path}" for r, e in STAFF_PAGES])
def test_a_staff_page_by_url_shows_nothing_to_those_without_its_role(
        ui_store: Path, app_script: Path, role: Role, entry: PageEntry) -> None:
    other = next(r for r in STAFF_ORDER if r is not role)
    for at in (anonymous(app_script), signed_in(app_script), signed_in(app_script, other)):
        at.query_params["role"] = role.value  # the URL asks for it: ignored
        at.session_state["role"] = role.value
        open_url(at.run(), entry.url_path).run()
        assert not at.exception, [e.value for e in at.exception]
        assert _locked(at, role), (entry.url_path, [w.value for w in at.warning])


def test_two_roles_get_the_union_of_their_pages(ui_store: Path, app_script: Path) -> None:
    at = signed_in(app_script, Role.OPERATIONS, Role.ANALYSTS).run()
    assert not at.exception
    assert at.title[0].value == "Data health"  # the first role's home page
    titles = {e.title for r in (Role.OPERATIONS, Role.ANALYSTS, Role.PUBLIC)
              for e in ROLE_PAGES[r]}
    assert _links(at) == titles
    assert "Overview" not in _links(at)  # officials' pages are not theirs
    text = _sidebar_text(at)
    assert "Aino Virtanen" in text and "aino@city.example" in text
    assert "Analysts" in text and "Operations" in text
    assert any(b.label == "Sign out" for b in at.sidebar.button)
    at.switch_page("pages/analysts/registry.py").run()
    assert at.title[0].value == "Indicator registry" and not at.exception


def test_a_person_without_a_role_lands_on_the_portal(ui_store: Path,
                                                      app_script: Path) -> None:
    at = signed_in(app_script).run()
    assert at.title[0].value == "Neighbourhood indicators" and not at.exception
    assert _links(at) == {e.title for e in ROLE_PAGES[Role.PUBLIC]}
    assert "none (public portal only)" in _sidebar_text(at)


def test_an_anonymous_visitor_is_offered_sign_in_and_the_portal(
        ui_store: Path, app_script: Path) -> None:
    at = anonymous(app_script).run()
    assert at.title[0].value == "Neighbourhood indicators"
    assert [b.label for b in at.sidebar.button] == ["Sign in with City account"]
    assert "Store:" not in _sidebar_text(at)  # the server's paths are not the public's


def test_unknown_roles_in_the_claim_are_ignored_and_said(ui_store: Path,
                                                          app_script: Path) -> None:
    at = signed_in(app_script, Role.ANALYSTS, roles=["mayor", "analysts"]).run()
    assert at.title[0].value == "Indicator registry"
    assert "`mayor` in the `roles` claim is not a role; ignored." in _sidebar_text(at)


def test_an_expired_session_gets_the_portal_and_is_asked_to_sign_in_again(
        ui_store: Path, app_script: Path) -> None:
    at = signed_in(app_script, Role.ANALYSTS, iat=int(time.time()) - 9 * 3600).run()
    assert at.title[0].value == "Neighbourhood indicators"
    assert "sign in again" in _sidebar_text(at)
    open_url(at, "registry").run()
    assert _locked(at, Role.ANALYSTS)


def test_forged_session_values_cannot_raise_a_role(ui_store: Path, app_script: Path) -> None:
    forged = Viewer(mode="signed_in", roles=frozenset({Role.ANALYSTS}), email="x@y.z")
    at = anonymous(app_script)
    at.session_state[auth.VIEWER_KEY] = forged
    at.session_state[auth.PAGE_ROLE_KEY] = "analysts"
    at.session_state["role"] = "analysts"
    open_url(at.run(), "registry").run()
    assert _locked(at, Role.ANALYSTS)
    assert at.session_state[auth.VIEWER_KEY].roles == frozenset()


def test_misconfigured_sign_in_names_the_setting_and_grants_nothing(
        ui_store: Path, app_script: Path) -> None:
    at = signed_in(app_script, Role.ANALYSTS)
    at.secrets["auth"] = {**AUTH, "city": {k: v for k, v in AUTH["city"].items()  # type: ignore[attr-defined]
                                           if k != "client_secret"}}
    at.run()
    assert "`[auth.city] client_secret` is missing." in _sidebar_text(at)
    assert at.title[0].value == "Neighbourhood indicators"
    open_url(at, "registry").run()
    assert _locked(at, Role.ANALYSTS)


def test_data_cached_for_one_role_is_never_served_to_another(ui_store: Path,
                                                             app_script: Path) -> None:
    """As Superset tests row-level security: warm the cache as one role, read as another."""
    analyst = signed_in(app_script, Role.ANALYSTS).run()
    assert INTERNAL_LABEL in analyst.selectbox(key="analysts_registry_indicator").options
    public = anonymous(app_script).run()
    public.radio(key="public_portal_theme").set_value("population").run()
    assert INTERNAL_LABEL not in public.selectbox(key="public_portal_indicator").options
    again = signed_in(app_script, Role.ANALYSTS).run()
    assert INTERNAL_LABEL in again.selectbox(key="analysts_registry_indicator").options


def test_access_file_groups_emails_and_domains(ui_store: Path, app_script: Path,
                                               tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    access = tmp_path / "access.yml"
    access.write_text("claim: groups\ngroups:\n  city-ops: operations\n"
                      "users:\n  mayor@city.example: [officials]\n"
                      "domains:\n  analytics.city.example: [analysts]\n", encoding="utf-8")
    monkeypatch.setenv("OBSERVATORY_ACCESS", str(access))
    at = signed_in(app_script, groups=["city-ops", "other"]).run()
    assert at.title[0].value == "Data health"
    at = signed_in(app_script, email="mayor@city.example").run()
    assert at.title[0].value == "Overview"
    at = signed_in(app_script, email="eero@analytics.city.example").run()
    assert at.title[0].value == "Indicator registry"
    for verified in (False, "false", None):  # refused, said, or not said at all
        unverified = signed_in(app_script, email="mayor@city.example",
                               email_verified=verified).run()
        assert unverified.title[0].value == "Neighbourhood indicators", verified
        assert "not confirmed that your e-mail address is verified" in _sidebar_text(
            unverified)
    at = signed_in(app_script, groups=["analysts"]).run()  # unmapped, named like a role
    assert at.title[0].value == "Neighbourhood indicators"
    assert "`analysts` in the `groups` claim is not a role" in _sidebar_text(at)


def test_a_broken_access_file_is_named_and_gives_no_role(ui_store: Path, app_script: Path,
                                                         tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    access = tmp_path / "access.yml"
    access.write_text("users:\n  mayor@city.example: [mayors]\n", encoding="utf-8")
    monkeypatch.setenv("OBSERVATORY_ACCESS", str(access))
    at = signed_in(app_script, email="mayor@city.example").run()
    assert at.title[0].value == "Neighbourhood indicators"
    assert "access.yml line 2: `mayors` is not a role" in _sidebar_text(at)


def test_grants_made_on_the_command_line_apply_and_are_listed(
        store_copy: Path, app_script: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(STORE_ENV, str(store_copy))
    store = ["--store", str(store_copy)]
    assert main(["users", "grant", "@city.example", "analysts", "--by", "admin", *store]) == 0
    assert main(["users", "grant", "@city.example", "analysts", *store]) == 2
    assert "already holds analysts (granted by admin" in capsys.readouterr().err
    at = signed_in(app_script, email="eero@city.example").run()
    assert at.title[0].value == "Indicator registry"
    at.switch_page("pages/analysts/people.py").run()
    table = at.dataframe[0].value
    rows = set(zip(table["who"], table["role"], table["source"], strict=True))
    assert ("@city.example", "analysts", "granted (cli)") in rows
    assert ("eero@city.example", "analysts", "signed in (city)") in rows
    assert main(["users", "revoke", "@city.example", "analysts", *store]) == 0
    assert main(["users", "revoke", "@city.example", "analysts", *store]) == 2
    assert "holds no granted analysts role" in capsys.readouterr().err
    auth._granted.clear()
    at = signed_in(app_script, email="eero@city.example").run()
    assert at.title[0].value == "Neighbourhood indicators"
    assert main(["users", "list", "--json", *store]) == 0


def test_an_unreachable_provider_is_named_and_offers_no_button(ui_store: Path,
                                                                app_script: Path) -> None:
    at = anonymous(app_script)
    closed = "http://127.0.0.1:9/.well-known/openid-configuration"
    at.secrets["auth"] = {**AUTH, "city": {**AUTH["city"], "server_metadata_url": closed}}  # type: ignore[dict-item]
    at.run()
    assert not at.sidebar.button
    assert f"{closed} (`[auth.city] server_metadata_url`) cannot be read" in _sidebar_text(at)
    assert at.title[0].value == "Neighbourhood indicators"
