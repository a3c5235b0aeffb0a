"""Public portal: open indicators by theme, with map, trend, table, downloads and method.

Everything shown comes through the gateway (observatory/ui/gateway.py), which asks the
views for this page's role, the public: internal indicators and withheld cells never reach
this page.
"""

import streamlit as st

from observatory import views
from observatory.ui import portal
from observatory.ui.gateway import fetch
from observatory.ui.i18n import t

language = portal.language_switch()
st.title(t("portal_title", language))
st.markdown(t("portal_intro", language))

catalogue = fetch(views.indicator_overview, language=language)
theme = portal.theme_picker(catalogue, language, key="public_portal_theme")
if theme is None:
    st.stop()
in_theme = portal.of_theme(catalogue, theme)
portal.theme_overview(in_theme, language)
name = portal.indicator_picker(in_theme, language, key="public_portal_indicator")
if name is None:
    st.stop()
period, resolution = portal.period_and_resolution(name, language, key="public_portal")
if period is None or resolution is None:
    st.stop()

row = portal.catalogue_row(in_theme, name)
portal.headline(row, language)
cells = fetch(views.indicator_map, name, period=period, resolution=resolution,
              language=language)
portal.map_block(cells, language)
portal.trend_block(fetch(views.whole_area_trend, name), unit_label=row["unit_label"],
                   language=language)
portal.downloads_block(name, resolution=resolution, language=language)
portal.methodology_block(name, language)
