"""Which pages each role gets: plain data, turned into `st.Page`s by `pages_for`."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from observatory.roles import Role
from observatory.settings import REPO_ROOT


@dataclass(frozen=True)
class PageEntry:
    """One page script: where it is and how the navigation shows it."""

    path: str  # relative to the repository root
    title: str
    icon: str
    url_path: str


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
    ),
}


def page_entries(role: Role) -> tuple[PageEntry, ...]:
    """The pages `role` may open, the first being its home page."""
    return ROLE_PAGES[role]


def pages_for(role: Role) -> list[st.Page]:
    """`st.navigation` input for `role`: only that role's pages, as one flat list (a section
    header would put a <div> inside the menu's <ul>, which screen readers stumble on)."""
    return [
        st.Page(REPO_ROOT / entry.path, title=entry.title, icon=entry.icon,
                url_path=entry.url_path, default=index == 0)
        for index, entry in enumerate(page_entries(role))
    ]


def setup_pages(problem: str) -> list[st.Page]:
    """A single page saying why there is nothing to show and how to fix it."""

    def setup() -> None:
        st.title("Observatory")
        st.error(problem, icon=":material/database:")
        st.markdown("Build the demo store from the OpenStreetMap extract of central Helsinki "
                    "shipped with the project (a few seconds), then reload this page:")
        st.code("uv run observatory demo", language="bash")

    return [st.Page(setup, title="Set up", icon=":material/build:", url_path="setup",
                    default=True)]
