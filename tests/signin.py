"""AppTest as a signed-in person: `[auth]` configured and `st.user` holding the claims an
identity provider would sign (Streamlit's own `AppTest.user`), or as a demo visitor."""

from __future__ import annotations

import http.server
import json
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from observatory.roles import Role

COOKIE_SECRET = "test-cookie-secret-that-is-long-enough-0123456789"


class _Discovery(http.server.BaseHTTPRequestHandler):
    """A discovery document, so that the sign-in button is offered (nobody signs in)."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = json.dumps({"issuer": "http://127.0.0.1",
                           "authorization_endpoint": "http://127.0.0.1/authorize"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


_SERVER = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Discovery)
threading.Thread(target=_SERVER.serve_forever, daemon=True).start()
DISCOVERY = f"http://127.0.0.1:{_SERVER.server_port}/.well-known/openid-configuration"
AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": COOKIE_SECRET,
    "city": {"client_id": "observatory", "client_secret": "not-a-real-secret",
             "server_metadata_url": DISCOVERY,
             "label": "City account"},
}


def signed_in(app_script: Path, *roles: Role | str, email: str = "aino@city.example",
              name: str = "Aino Virtanen", timeout: float = 30,
              **claims: object) -> AppTest:
    """An AppTest (not yet run) of a person signed in with these roles in their token."""
    at = AppTest.from_file(str(app_script), default_timeout=timeout)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "sub": f"sub-{email}", "email": email, "name": name,
               "provider": "city", "iat": int(time.time()), "email_verified": True,
               "roles": [Role(r).value for r in roles], **claims}
    return at


def anonymous(app_script: Path, *, timeout: float = 30) -> AppTest:
    """An AppTest of a visitor who has not signed in, with sign-in configured."""
    at = AppTest.from_file(str(app_script), default_timeout=timeout)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": False}
    return at


def demo(app_script: Path, role: Role | str, monkeypatch: pytest.MonkeyPatch, *,
         timeout: float = 30) -> AppTest:
    """An AppTest of the demo (no `[auth]`, the role switcher on) showing `role`."""
    monkeypatch.setenv("OBSERVATORY_DEMO_ROLES", "1")
    at = AppTest.from_file(str(app_script), default_timeout=timeout)
    at.session_state["role"] = Role(role).value
    return at


def open_url(at: AppTest, url_path: str) -> AppTest:
    """Open the page registered under `url_path`, as a browser asking for /url_path does.

    AppTest.switch_page matches script files only, and a page the viewer may not open is a
    function page; this picks the registered page by its URL the way the server does.
    """
    for page_hash, info in at._registered_pages.items():
        if info.get("url_pathname") == url_path:
            at._page_hash = page_hash
            return at
    raise ValueError(f"no page registered at /{url_path}")
