"""The public portal's loaders and widgets: language switch, maps with merged areas,
trend against target, downloads with licence and citation, methodology.

Every loader asks the views for the public role, whatever role the session holds, and
keeps the role in its cache key: the portal can only ever show what anybody may see.
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from observatory import views
from observatory.i18n import (
    LANGUAGES,
    language_of,
    status_name,
    t,
    theme_name,
    with_unit,
)
from observatory.publish import FORMATS, MEDIA_TYPES, indicator_products, product_bytes
from observatory.roles import Role
from observatory.ui import widgets
from observatory.ui.loaders import Context, _cursor, _registry, context
from observatory.views import portal as portal_views

LANGUAGE_KEY = "public_language"
PUBLIC = Role.PUBLIC
_TTL = "10m"
_ENTRIES = 128
# Okabe-Ito blue and vermilion: told apart with every common colour-vision deficiency.
VALUE_COLOUR, TARGET_COLOUR = "#0072B2", "#D55E00"


def readable_captions() -> None:
    """Darker captions on portal pages: the theme's #76797c on white is 4.37:1, below WCAG AA."""
    st.html("<style>[data-testid='stCaptionContainer'], [data-testid='stCaptionContainer'] *"
            "{color:#55585c !important;opacity:1 !important}</style>")


# -- language ----------------------------------------------------------------------------

def language_switch() -> str:
    """English / French in the sidebar; `?lang=fr` in the URL sets the first choice."""
    readable_captions()
    if LANGUAGE_KEY not in st.session_state:
        st.session_state[LANGUAGE_KEY] = language_of(st.query_params.get("lang"))
    choice = st.sidebar.radio("Language / Langue", options=list(LANGUAGES), key=LANGUAGE_KEY,
                              format_func=LANGUAGES.__getitem__, horizontal=True)
    st.query_params["lang"] = choice
    return choice


# -- loaders -----------------------------------------------------------------------------

@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _catalogue(ctx: Context, role: Role, language: str) -> pl.DataFrame:
    with _cursor(ctx) as con:
        return portal_views.portal_catalogue(con, _registry(ctx), language=language)


def catalogue(language: str) -> pl.DataFrame:
    """Public indicators with results, with their plain-language summary."""
    return _catalogue(context(), PUBLIC, language)


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _choices(ctx: Context, role: Role, name: str, period: str | None) -> list:
    with _cursor(ctx) as con:
        portal_views.public_spec(_registry(ctx), name)
        if period is None:
            return portal_views.public_periods(con, name)
        return portal_views.public_resolutions(con, name, period=period)


def periods(name: str) -> list[str]:
    """Periods of one public indicator, newest first."""
    return _choices(context(), PUBLIC, name, None)


def resolutions(name: str, *, period: str) -> list[int]:
    """Resolutions of one public indicator that fit on a map, finest first."""
    return _choices(context(), PUBLIC, name, period)


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _map(ctx: Context, role: Role, name: str, period: str, resolution: int,
         language: str) -> portal_views.PortalMap:
    with _cursor(ctx) as con:
        loaded = portal_views.public_spec(_registry(ctx), name)
        return portal_views.portal_map(con, loaded, period=period, resolution=resolution,
                                       language=language)


def portal_map(name: str, *, period: str, resolution: int, language: str
               ) -> portal_views.PortalMap:
    """One public indicator at one resolution, disclosure-controlled."""
    return _map(context(), PUBLIC, name, period, resolution, language)


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _trend(ctx: Context, role: Role, name: str) -> pl.DataFrame:
    with _cursor(ctx) as con:
        return portal_views.portal_trend(con, portal_views.public_spec(_registry(ctx), name))


def trend(name: str) -> pl.DataFrame:
    """Whole-area value per period with the target."""
    return _trend(context(), PUBLIC, name)


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _downloads(ctx: Context, role: Role, name: str,
               resolution: int) -> tuple[dict[str, bytes], str, str, str]:
    with _cursor(ctx) as con:
        loaded = portal_views.public_spec(_registry(ctx), name)
        product = next(p for p in indicator_products(con, loaded)
                       if p.resolution == resolution)
    files = {f: product_bytes(product, file_format=f) for f in FORMATS}
    return files, product.stem, product.licence, product.citation


def downloads(name: str, *, resolution: int) -> tuple[dict[str, bytes], str, str, str]:
    """The open-data files of one indicator at one resolution, as the bundle has them."""
    return _downloads(context(), PUBLIC, name, resolution)


@st.cache_data(ttl=_TTL, max_entries=_ENTRIES, show_spinner=False)
def _method(ctx: Context, role: Role, name: str) -> tuple[views.Methodology, object]:
    loaded = portal_views.public_spec(_registry(ctx), name)
    with _cursor(ctx) as con:
        when = portal_views.computed_at(con, name)
        provenance = portal_views.indicator_provenance(con, loaded.spec)
    return views.indicator_methodology(loaded, role=role), (when, provenance)


def methodology(name: str) -> tuple[views.Methodology, object]:
    """Method, code, computation time and sources of one public indicator."""
    return _method(context(), PUBLIC, name)


def of_theme(frame: pl.DataFrame, theme: str) -> pl.DataFrame:
    """The catalogue rows of one theme."""
    return frame.filter(pl.col("theme") == theme)


def catalogue_row(frame: pl.DataFrame, name: str) -> dict[str, object]:
    """One indicator's catalogue row."""
    return frame.filter(pl.col("name") == name).row(0, named=True)


# -- pickers -----------------------------------------------------------------------------

def theme_picker(frame: pl.DataFrame, language: str, *, key: str) -> str | None:
    """Choose a theme among those with public indicators."""
    themes = sorted(set(frame["theme"].to_list()))
    if not themes:
        st.info(t("no_indicator", language))
        return None
    return st.radio(t("theme", language), options=themes, key=key, horizontal=True,
                    format_func=lambda theme: theme_name(theme, language))


def indicator_picker(frame: pl.DataFrame, language: str, *, key: str) -> str | None:
    """Choose one indicator of `frame`, shown by its label in `language`."""
    if frame.is_empty():
        return None
    labels = dict(zip(frame["name"].to_list(), frame["label"].to_list(), strict=True))
    return st.selectbox(t("indicator", language), options=list(labels), key=key,
                        format_func=labels.__getitem__)


def period_and_resolution(name: str, language: str, *, key: str) -> tuple[str | None,
                                                                          int | None]:
    """Period and cell size pickers side by side."""
    left, right = st.columns([1, 2])
    with left:
        period = st.selectbox(t("period", language), options=periods(name), key=f"{key}_period")
    if period is None:
        return None, None
    with right:
        resolution = widgets.resolution_picker(resolutions(name, period=period),
                                               key=f"{key}_resolution",
                                               label=t("cell_size", language))
    return period, resolution


# -- widgets -----------------------------------------------------------------------------

def theme_overview(frame: pl.DataFrame, language: str) -> None:
    """Every indicator of a theme in one table: figure, target status, plain summary."""
    shown = frame.select(
        pl.col("label").alias(t("indicator", language)),
        pl.struct("value", "unit_label").map_elements(
            lambda r: with_unit(r["value"], r["unit_label"], language),
            return_dtype=pl.String).alias(t("value", language)),
        pl.col("period").alias(t("period", language)),
        pl.col("status").map_elements(lambda s: status_name(s, language),
                                      return_dtype=pl.String, skip_nulls=False)
        .alias("status"),
        pl.col("summary"))
    with st.expander(f"{t('overview', language)} ({frame.height})"):
        st.dataframe(shown, hide_index=True, width="stretch")


def headline(row: dict[str, object], language: str) -> None:
    """The whole-area figure of the chosen indicator, its period and its target."""
    with st.container(border=True):
        st.markdown(f"**{row['label']}** · {t('whole_area', language)}, {row['period']}")
        value = with_unit(row["value"], str(row["unit_label"]), language)  # type: ignore[arg-type]
        st.markdown(f"<p style='font-size:2rem;line-height:1.15;margin:0'>{value}</p>",
                    unsafe_allow_html=True)
        st.caption(str(row["summary"]))


def map_block(pmap: portal_views.PortalMap, language: str) -> None:
    """The map (merged areas drawn with their value), the disclosure note, the table."""
    st.header(t("map", language))
    widgets.h3_map(pmap.drawn)
    basis = t(f"basis_{pmap.count_basis}", language)
    with st.container(border=True):
        st.markdown(f"**{t('disclosure_title', language)}.** "
                    + t("disclosure_rule", language, basis=basis, k=pmap.min_count))
        withheld = pmap.withheld
        st.caption(t("withheld_summary", language,
                     published=int((pmap.table["area"] == "cell").sum()),
                     merged=pmap.merged_areas, small=withheld["below_min_count"],
                     complementary=withheld["complementary"], empty=withheld["empty"],
                     k=pmap.min_count))
    widgets.table_behind(pmap.table, label=t("table_behind_map", language))
    footer(pmap.drawn.provenance, period=pmap.period, language=language)


def trend_block(frame: pl.DataFrame, *, unit_label: str, language: str) -> None:
    """Whole-area value per period against the target line, and the table behind."""
    st.header(t("trend", language))
    if frame.height < 2:
        st.caption(t("one_period", language))
    figure = go.Figure()
    figure.add_scatter(x=frame["period"].to_list(), y=frame["value"].to_list(),
                       mode="lines+markers", name=t("value", language),
                       line={"color": VALUE_COLOUR, "width": 3})
    if frame["target"].drop_nulls().len():
        figure.add_scatter(x=frame["period"].to_list(), y=frame["target"].to_list(),
                           mode="lines", name=t("target_line", language),
                           line={"color": TARGET_COLOUR, "dash": "dash", "width": 2})
    figure.update_layout(height=300, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                         yaxis_title=unit_label, xaxis_title=t("period", language),
                         xaxis={"type": "category"}, legend={"orientation": "h"})
    st.plotly_chart(figure, width="stretch", config={"displayModeBar": False})
    widgets.table_behind(frame.with_columns(pl.col("status").map_elements(
        lambda s: status_name(s, language), return_dtype=pl.String, skip_nulls=False)),
        label=t("table_behind_trend", language))


def downloads_block(name: str, *, resolution: int, language: str) -> None:
    """CSV, GeoJSON and Parquet of this indicator at this resolution, licence, citation."""
    st.header(t("downloads", language))
    files, stem, licence, citation = downloads(name, resolution=resolution)
    for column, file_format in zip(st.columns(len(files)), files, strict=True):
        with column:
            st.download_button(f"{file_format.upper()} · res {resolution}",
                               data=files[file_format], file_name=f"{stem}.{file_format}",
                               mime=MEDIA_TYPES[file_format], key=f"public_dl_{file_format}",
                               on_click="ignore", icon=":material/download:")
    st.caption(f"**{t('licence', language)}:** {licence} · **{t('cite_as', language)}:** "
               f"{citation}")


def methodology_block(name: str, language: str) -> None:
    """The method generated from the definition: standard, deviations, parameters, code."""
    method, (when, provenance) = methodology(name)
    with st.expander(t("method", language), icon=":material/menu_book:"):
        note = t("english_only", language)
        st.markdown(f"**{t('standard', language)}:** {method.standard}")
        st.markdown(f"**{t('deviations', language)}:** {method.deviations} {note}")
        if method.parameters:
            st.markdown(f"**{t('parameters', language)}:** " + ", ".join(
                f"`{k}` = {v}" for k, v in sorted(method.parameters.items())))
        if when is not None:
            st.markdown(f"**{t('computed_at', language)}:** {when:%Y-%m-%d %H:%M} UTC")
        st.markdown(f"**{t('code', language)}** (`{method.definition_path}`)")
        st.code(method.code, language=method.code_language)
        footer(provenance, period=None, language=language)


def footer(provenance: views.Provenance, *, period: str | None, language: str) -> None:
    """Unit, period, date the data is as of, and every source with licence and date."""
    widgets.provenance_footer(provenance, period=period, language=language)

