"""Which pages each role gets: plain data, turned into `st.Page`s by `navigate`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from observatory.access import Viewer
from observatory.roles import Role
from observatory.settings import REPO_ROOT
from observatory.ui.widgets import GO_HOME_KEY


@dataclass(frozen=True)
class PageEntry:
    """One page script: where it is and how the navigation shows it."""

    path: str  # relative to the repository root
    title: str
    icon: str
    url_path: str
    has_map: bool = True  # every page but the people page shows one (tests/test_pages.py)


ROLE_PAGES: dict[Role, tuple[PageEntry, ...]] = {
    Role.OFFICIALS: (
        PageEntry("pages/officials/overview.py", "Overview", ":material/dashboard:",
                  "overview"),
        PageEntry("pages/officials/compare.py", "Compare areas", ":material/compare:",
                  "compare"),
    ),
    Role.OPERATIONS: (
        PageEntry("pages/operations/data_health.py", "Data health",
                  ":material/monitor_heart:", "data-health"),
        PageEntry("pages/operations/alerts.py", "Alerts", ":material/notifications:", "alerts"),
        PageEntry("pages/operations/live.py", "Live feeds", ":material/sensors:", "live"),
    ),
    Role.PUBLIC: (
        PageEntry("pages/public/portal.py", "Indicators", ":material/public:", "portal"),
        PageEntry("pages/public/about.py", "About the data", ":material/info:", "about"),
    ),
    Role.ANALYSTS: (
        PageEntry("pages/analysts/registry.py", "Indicator registry", ":material/rule:",
                  "registry"),
        PageEntry("pages/analysts/catalogue.py", "Data catalogue", ":material/dataset:",
                  "catalogue"),
        PageEntry("pages/analysts/forecasts.py", "Forecasts", ":material/trending_up:",
                  "forecasts"),
        PageEntry("pages/analysts/drafts.py", "Indicator drafts", ":material/edit_note:",
                  "drafts", has_map=False),
        PageEntry("pages/analysts/workbench.py", "SQL workbench", ":material/terminal:",
                  "workbench", has_map=False),
        PageEntry("pages/analysts/people.py", "People and roles", ":material/group:",
                  "people", has_map=False),
    ),
    Role.PLANNERS: (
        PageEntry("pages/planning/whatif.py", "What-if", ":material/add_location_alt:",
                  "what-if"),
        PageEntry("pages/planning/scenarios.py", "Saved scenarios", ":material/bookmarks:",
                  "scenarios", has_map=False),
    ),
}


def page_entries(role: Role) -> tuple[PageEntry, ...]:
    """The pages `role` may open, the first being its home page."""
    return ROLE_PAGES[role]


STAFF_ORDER = (Role.OFFICIALS, Role.OPERATIONS, Role.ANALYSTS, Role.PLANNERS)


def home_role(viewer: Viewer) -> Role:
    """The role whose first page is the viewer's home: their first staff role, else the
    public portal."""
    return next((role for role in STAFF_ORDER if viewer.holds(role)), Role.PUBLIC)


def _locked(entry: PageEntry, role: Role, viewer: Viewer) -> Callable[[], None]:
    def locked() -> None:
        st.title(entry.title)
        st.warning(f"You need the {role.label} role to open this page.",
                   icon=":material/lock:")
        if viewer.mode == "anonymous":
            st.markdown("Sign in with your organisation's account (in the sidebar) if you "
                        "hold it. The public portal is open to everyone.")
        elif viewer.mode == "demo":
            st.markdown(f"Choose {role.label} in the demo role switcher in the sidebar.")
        else:
            st.markdown("Ask an administrator to grant it "
                        f"(`observatory users grant {viewer.email or 'EMAIL'} {role.value}`) "
                        "or to add it to your identity provider's groups.")
        st.page_link(REPO_ROOT / ROLE_PAGES[Role.PUBLIC][0].path, label="Open the public portal",
                     icon=":material/public:")

    return locked


def navigate(viewer: Viewer) -> tuple[StreamlitPage, Role]:
    """Every page of every role, so that a URL never lands on "page not found": the
    viewer's own pages run their scripts, the others only say which role they need and
    load nothing. The menu (`menu`) lists the viewer's pages only. "/" opens the viewer's
    home page (a default page cannot be reached by its own URL in Streamlit, so no role
    page is the default: a hidden one forwards to the home page). Returns the page this
    run shows and the role it belongs to."""
    home_of = home_role(viewer)
    roles: dict[int, Role] = {}
    pages: list[StreamlitPage] = []
    for role, entries in ROLE_PAGES.items():
        for entry in entries:
            if viewer.holds(role):
                page = st.Page(REPO_ROOT / entry.path, title=entry.title, icon=entry.icon,
                               url_path=entry.url_path)
            else:
                page = st.Page(_locked(entry, role, viewer), title=entry.title,
                               icon=entry.icon, url_path=entry.url_path)
            roles[id(page)] = role
            pages.append(page)
    home = next(p for p in pages if roles[id(p)] is home_of)
    forward = st.Page(lambda: st.switch_page(home, query_params=st.query_params.to_dict()),
                      title=home.title, icon=home.icon, url_path="home", default=True,
                      visibility="hidden")  # the URL's ?lang= and ?role= come along
    current = st.navigation([forward, *pages], position="hidden")
    _home_on_role_change(current, home)
    menu(viewer, pages, roles)
    return current, roles.get(id(current), home_of)


def _home_on_role_change(current: StreamlitPage, home: StreamlitPage) -> None:
    """When the demo role changed (the switcher's callback sets the flag), open its home."""
    if st.session_state.pop(GO_HOME_KEY, False) and current is not home:
        st.switch_page(home)


def menu(viewer: Viewer, pages: list[StreamlitPage], roles: dict[int, Role]) -> None:
    """The viewer's pages in the sidebar, grouped by role, their home role first."""
    held = [r for r in (*STAFF_ORDER, Role.PUBLIC) if viewer.holds(r)]
    for role in held:
        if len(held) > 1:
            st.sidebar.caption(role.label)
        for page in pages:
            if roles.get(id(page)) is role:
                st.sidebar.page_link(page, label=page.title, icon=page.icon)


def setup_pages(problem: str, *, staff: bool) -> list[st.Page]:
    """A single page saying there is nothing to show yet: to staff, why and how to fix it;
    to the public, only that no data is published yet (never the server's paths)."""

    def setup() -> None:
        st.title("Observatory")
        if not staff:
            st.info("No data has been published here yet. Please come back later.",
                    icon=":material/hourglass_empty:")
            return
        st.error(problem, icon=":material/database:")
        st.markdown("Build the demo store from the OpenStreetMap extract of central Helsinki "
                    "shipped with the project (a few seconds), then reload this page:")
        st.code("uv run observatory demo", language="bash")

    return [st.Page(setup, title="Set up", icon=":material/build:", url_path="setup",
                    default=True)]
