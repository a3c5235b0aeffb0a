"""The public portal's widgets: language switch, maps with merged areas,
trend against target, downloads with licence and citation, methodology.

The portal's pages belong to the public role, so every view the gateway runs for them is
asked for the public role, whatever other roles the session holds: the portal can only
ever show what anybody may see.
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
    unit_name,
    with_unit,
)
from observatory.publish import MEDIA_TYPES, open_data_files
from observatory.ui import widgets
from observatory.ui.gateway import fetch

LANGUAGE_KEY = "public_language"
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


# -- data --------------------------------------------------------------------------------

def periods(name: str) -> list[str]:
    """Periods of one public indicator, newest first."""
    return fetch(views.available_periods, name)


def resolutions(name: str, *, period: str) -> list[int]:
    """Resolutions of one public indicator that fit on a map, finest first."""
    return fetch(views.map_resolutions_of, name, period=period)


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
                                               label=t("cell_size", language),
                                               language=language)
    return period, resolution


# -- widgets -----------------------------------------------------------------------------

def theme_overview(frame: pl.DataFrame, language: str) -> None:
    """Every indicator of a theme in one table: figure, target status, plain summary."""
    values = [with_unit(v, u, language)
              for v, u in zip(frame["value"].to_list(), frame["unit_label"].to_list(),
                              strict=True)]
    shown = frame.select(
        pl.col("label").alias(t("indicator", language)),
        pl.Series(t("value", language), values, dtype=pl.String),
        pl.col("period").alias(t("period", language)),
        pl.Series("status", _statuses(frame["status"], language), dtype=pl.String),
        pl.col("summary"))
    with st.expander(f"{t('overview', language)} ({frame.height})"):
        st.dataframe(shown.to_arrow(), hide_index=True, width="stretch")


def _statuses(column: pl.Series, language: str) -> list[str]:
    return [status_name(s, language) for s in column.to_list()]


def headline(row: dict[str, object], language: str) -> None:
    """The whole-area figure of the chosen indicator, its period and its target."""
    with st.container(border=True):
        st.markdown(f"**{row['label']}** · {t('whole_area', language)}, {row['period']}")
        value = with_unit(row["value"], str(row["unit_label"]), language)  # type: ignore[arg-type]
        st.markdown(f"<p style='font-size:2rem;line-height:1.15;margin:0'>{value}</p>",
                    unsafe_allow_html=True)
        st.caption(str(row["summary"]))
        st.markdown(str(row["description"]))


def map_block(pmap: views.IndicatorMap, language: str) -> None:
    """The map (merged areas drawn with their value), the disclosure note, the table."""
    st.header(t("map", language))
    widgets.h3_map(pmap.drawn, language=language)
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
    widgets.table_behind(pmap.table, label=t("table_behind_map", language), language=language)
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
                         yaxis_title=unit_name(unit_label, language),
                         xaxis_title=t("period", language),
                         xaxis={"type": "category"}, legend={"orientation": "h"})
    st.plotly_chart(figure, width="stretch", config={"displayModeBar": False})
    widgets.table_behind(frame.with_columns(
        pl.Series("status", _statuses(frame["status"], language), dtype=pl.String)),
        label=t("table_behind_trend", language), language=language)


def downloads_block(name: str, *, resolution: int, language: str) -> None:
    """CSV, GeoJSON and Parquet of this indicator at this resolution, licence, citation."""
    st.header(t("downloads", language))
    files, stem, licence, citation = fetch(open_data_files, name, resolution=resolution)
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
    method = fetch(views.indicator_methodology, name, language=language)
    with st.expander(t("method", language), icon=":material/menu_book:"):
        st.markdown(f"**{t('standard', language)}:** {method.standard}")
        st.markdown(f"**{t('deviations', language)}:** {method.deviations}")
        if method.parameters:
            st.markdown(f"**{t('parameters', language)}:** " + ", ".join(
                f"`{k}` = {v}" for k, v in sorted(method.parameters.items())))
        if method.computed_at is not None:
            st.markdown(f"**{t('computed_at', language)}:** "
                        f"{method.computed_at:%Y-%m-%d %H:%M} UTC")
        st.markdown(f"**{t('code', language)}** (`{method.definition_path}`)")
        st.code(method.code, language=method.code_language)
        if method.provenance is not None:
            footer(method.provenance, period=None, language=language)


def footer(provenance: views.Provenance, *, period: str | None, language: str) -> None:
    """Unit, period, date the data is as of, and every source with licence and date."""
    widgets.provenance_footer(provenance, period=period, language=language)

