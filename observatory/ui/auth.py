"""Sign-in on the dashboard: the viewer of each run, derived on the server.

With `[auth]` configured in `.streamlit/secrets.toml`, a visitor is anonymous (public
portal only) until they sign in with OpenID Connect (`st.login`); their roles are then
derived on every run from the ID-token claims Streamlit verified at sign-in and keeps in a
signed, HTTP-only cookie (observatory/access.py), so nothing the browser sends (URL,
`?role=`, widget or session values) can raise them. Without `[auth]`, `observatory demo`
offers the labelled demo role switcher and every other deployment serves the public
portal only. A misconfigured `[auth]` is named on the page and in the server log, and
nobody gets a role from it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import streamlit as st

from observatory import people, settings
from observatory.access import (
    ANONYMOUS,
    AccessConfig,
    AccessFileError,
    Viewer,
    access_path,
    load_access,
)
from observatory.access import signed_in_viewer as _signed_in
from observatory.opsdb import ops_database
from observatory.roles import DEFAULT_ROLE, Role

LOG = logging.getLogger("observatory.auth")
VIEWER_KEY, PAGE_ROLE_KEY, SEEN_KEY = "_observatory_viewer", "_observatory_page_role", "_seen"
_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
_SHARED_KEYS = ("redirect_uri", "cookie_secret", "expose_tokens")


@dataclass(frozen=True)
class AuthSettings:
    """What `[auth]` holds: the providers offered (name → label), or the problem."""

    providers: Mapping[str, str]  # "" is the unnamed default provider
    problem: str | None = None

    @property
    def configured(self) -> bool:
        """True when `[auth]` exists at all (even if it is wrong)."""
        return bool(self.providers) or self.problem is not None


def _auth_section() -> Mapping[str, Any] | None:
    try:
        section = st.secrets.get("auth")
    except Exception:  # no secrets file: Streamlit raises rather than returning nothing
        return None
    return section if isinstance(section, Mapping) else None


def auth_settings() -> AuthSettings:
    """`[auth]` checked: every missing or wrong setting named (see `_problems`)."""
    section = _auth_section()
    if section is None:
        return AuthSettings(providers={})
    named = {key: value for key, value in section.items() if isinstance(value, Mapping)}
    providers: dict[str, str] = {name: str(body.get("label") or name.replace("_", " ").title())
                                 for name, body in named.items()}
    if not named and any(key in section for key in _PROVIDER_KEYS):
        providers[""] = "your organisation"
    problems = _problems(section, named)
    if problems:
        message = ("Sign-in is misconfigured, so nobody can sign in and every visitor sees "
                   "the public portal only: " + " ".join(problems))
        LOG.error(message)
        return AuthSettings(providers=providers, problem=message)
    return AuthSettings(providers=providers)


def _problems(section: Mapping[str, Any], named: Mapping[str, Mapping[str, Any]]) -> list[str]:
    problems = [f"`[auth] {key}` is missing." for key in ("redirect_uri", "cookie_secret")
                if not str(section.get(key) or "").strip()]
    redirect = str(section.get("redirect_uri") or "")
    if redirect and not redirect.rstrip("/").endswith("/oauth2callback"):
        problems.append(f"`[auth] redirect_uri` is {redirect!r}; it must be this app's "
                        "address followed by /oauth2callback.")
    if len(str(section.get("cookie_secret") or "")) in range(1, 32):
        problems.append("`[auth] cookie_secret` is shorter than 32 characters; use a long "
                        "random value, e.g. `python -c \"import secrets; "
                        "print(secrets.token_urlsafe(48))\"`.")
    bodies = named or ({"": section} if any(k in section for k in _PROVIDER_KEYS) else {})
    if not bodies:
        problems.append("`[auth]` names no provider: add `[auth.NAME]` with client_id, "
                        "client_secret and server_metadata_url.")
    for name, body in bodies.items():
        where = f"[auth.{name}]" if name else "[auth]"
        problems += [f"`{where} {key}` is missing." for key in _PROVIDER_KEYS
                     if not str(body.get(key) or "").strip()]
    return problems


def redirect_mismatch() -> str | None:
    """Why sign-in would fail because `[auth] redirect_uri` names another address than the
    one this page is served at, or None."""
    section = _auth_section() or {}
    redirect, here = str(section.get("redirect_uri") or ""), st.context.url
    if not redirect or not here:
        return None
    want, got = urlsplit(redirect), urlsplit(here)
    if (want.hostname, want.port) == (got.hostname, got.port):
        return None
    message = (f"`[auth] redirect_uri` is {redirect}, but this app is served at "
               f"{got.scheme}://{got.netloc}: the identity provider would send people to "
               "the wrong address. Set it to this address followed by /oauth2callback and "
               "register that address with the provider.")
    LOG.error(message)
    return message


def provider_problem(name: str) -> str | None:
    """Why the provider `name` cannot be used for sign-in (its discovery document cannot be
    read), or None; also written to the server log."""
    section = _auth_section() or {}
    body = section.get(name) if name else section
    url = str((body or {}).get("server_metadata_url") or "")
    problem = _metadata_problem(url)
    if problem is None:
        return None
    where = f"[auth.{name}]" if name else "[auth]"
    message = (f"Sign-in with this provider is unavailable: the identity provider's discovery "
               f"document at {url} (`{where} server_metadata_url`) {problem}. Check the "
               "setting and that the provider is reachable from this server.")
    LOG.error(message)
    return message


@st.cache_data(ttl=60, max_entries=16, show_spinner=False)
def _metadata_problem(url: str) -> str | None:
    """None when `url` serves an OpenID Connect discovery document, else what is wrong."""
    import json
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=3) as reply:  # noqa: S310 (configured URL)
            document = json.loads(reply.read(1_000_000))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"cannot be read ({getattr(exc, 'reason', exc)})"
    if not isinstance(document, dict) or "authorization_endpoint" not in document:
        return "is not an OpenID Connect discovery document (no authorization_endpoint)"
    return None


@st.cache_data(ttl=10, max_entries=256, show_spinner=False)
def _granted(url: str, email: str) -> frozenset[Role]:
    return people.granted_roles(ops_database(url=url), email)


def _access() -> tuple[AccessConfig, str | None]:
    """The access file's settings, read once per version of the file (not every rerun)."""
    path = access_path()
    stamp = path.stat().st_mtime_ns if path.exists() else 0
    return _access_file(str(path), stamp)


@st.cache_resource(max_entries=4, show_spinner=False)
def _access_file(path: str, stamp: int) -> tuple[AccessConfig, str | None]:
    try:
        return load_access(Path(path)), None
    except AccessFileError as exc:
        LOG.error("%s", exc)  # once per version of the file
        return AccessConfig(), f"The access file has problems, so none of its roles apply: {exc}"


def _signed_in_viewer() -> tuple[Viewer, str | None]:
    claims = st.user.to_dict()
    config, problem = _access()
    email = str(claims.get("email") or "")
    grants = _granted(_ops_url(), email.lower()) if email else frozenset()
    viewer = _signed_in(claims, config, grants)
    if viewer.mode == "signed_in" and st.session_state.get(SEEN_KEY) != viewer.cache_key:
        people.record_sign_in(ops_database(url=_ops_url()), viewer)
        st.session_state[SEEN_KEY] = viewer.cache_key
    return viewer, problem


def _ops_url() -> str:
    from observatory.opsdb import ops_url_for

    return ops_url_for(settings.store_path())


def current_viewer() -> tuple[Viewer, AuthSettings, str | None]:
    """The viewer of this run, the sign-in settings, and a problem to show (or None).

    Computed afresh on every run; whatever the session held before is overwritten.
    """
    auth = auth_settings()
    viewer, problem = ANONYMOUS, auth.problem
    if auth.configured and auth.problem is None and st.user.is_logged_in:
        viewer, problem = _signed_in_viewer()
    elif not auth.configured and settings.demo_roles_enabled():
        viewer = _demo_viewer()
    st.session_state[VIEWER_KEY] = viewer
    return viewer, auth, problem


def _demo_viewer() -> Viewer:
    from observatory.ui.widgets import role_switcher

    role = role_switcher()
    return Viewer(mode="demo", roles=frozenset() if role is Role.PUBLIC else frozenset({role}))


def viewer() -> Viewer:
    """The viewer established at the top of this run (anonymous before that)."""
    held = st.session_state.get(VIEWER_KEY)
    return held if isinstance(held, Viewer) else ANONYMOUS


def set_page_role(role: Role) -> None:
    """Record the role whose page this run shows (the gateway asks the views for it)."""
    st.session_state[PAGE_ROLE_KEY] = role.value


def page_role() -> Role:
    """The role of the page this run shows, if the viewer holds it; else the public."""
    held = st.session_state.get(PAGE_ROLE_KEY)
    role = Role(held) if held in Role._value2member_map_ else DEFAULT_ROLE
    return role if viewer().holds(role) else DEFAULT_ROLE


def _sign_in(provider: str) -> None:
    if provider:
        st.login(provider)
    else:
        st.login()


def identity_block(viewer: Viewer, auth: AuthSettings, problem: str | None) -> None:
    """The sidebar's who-am-I: name, roles and sign-out; or the sign-in buttons."""
    if problem:
        st.sidebar.error(problem, icon=":material/lock:")
    if viewer.mode == "signed_in":
        roles = ", ".join(r.label for r in sorted(viewer.roles)) or "none (public portal only)"
        st.sidebar.markdown(f"Signed in as **{viewer.label}**")
        st.sidebar.caption(f"{viewer.email or viewer.subject} · roles: {roles}")
        for note in viewer.notes:
            st.sidebar.caption(note)
        st.sidebar.button("Sign out", icon=":material/logout:", key="auth_sign_out",
                          on_click=st.logout)
        return
    for note in viewer.notes:
        st.sidebar.warning(note)
    if auth.configured and auth.problem is None:
        if mismatch := redirect_mismatch():
            st.sidebar.error(mismatch, icon=":material/lock:")
            return
        for name, label in auth.providers.items():
            if problem := provider_problem(name):
                st.sidebar.error(problem, icon=":material/lock:")
                continue
            # callbacks: a trigger read in the script body is lost on this entry page
            st.sidebar.button(f"Sign in with {label}", icon=":material/login:",
                              key=f"auth_sign_in_{name or 'default'}", on_click=_sign_in,
                              args=(name,))


def demo_notice(viewer: Viewer) -> None:
    """On every page of the demo: sign-in is off and roles are picked by hand."""
    if viewer.mode == "demo":
        st.caption(":material/science: Demo: sign-in is off. The role is chosen in the "
                   "sidebar; a deployment signs people in with the city's identity provider.")


@st.cache_data(ttl=5, max_entries=8, show_spinner=False)
def _people(url: str, roles: tuple[str, ...]) -> Any:
    config, _ = _access()
    return people.people(ops_database(url=url), config)


def people_table() -> Any:
    """Who holds which role and why (analysts only: empty for anyone else)."""
    if not viewer().holds(Role.ANALYSTS):
        return people.people_frame([])
    return _people(_ops_url(), viewer().cache_key)
