"""Streamlit widgets pages compose: H3 maps, KPI cards, pickers, tables and provenance.

Widgets draw what views computed; they format, colour and lay out, never query.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime

import polars as pl
import streamlit as st

from observatory.i18n import format_number, t, unit_name
from observatory.roles import DEFAULT_ROLE, Role, UnknownRoleError, role_from_name
from observatory.settings import demo_roles_enabled
from observatory.ui.deck import deck, hexagon_layer
from observatory.views import (
    CellMap,
    IndicatorSummary,
    Methodology,
    Provenance,
    WalkingMethod,
)
from observatory.views.colours import (
    NO_VALUE_RGBA,
    Scale,
    format_value,
    legend_labels,
    scale_of,
)

# Average H3 cell edge length per resolution, for the resolution picker.
EDGE_LENGTH = {7: "1.2 km", 8: "460 m", 9: "175 m", 10: "65 m"}
THEME_LABELS = {"land_use": "Land use"}
STATUS_ICONS = {"met": "✅", "not met": "⚠️", "target declared": "🎯", "no value": "…",
                "no target declared": "—"}


# -- role and pickers --------------------------------------------------------------------

GO_HOME_KEY, CHOSEN_KEY = "_observatory_go_home", "_observatory_demo_role"
ROLE_KEY = "role"  # the demo role switcher's widget


def _role_changed() -> None:
    """The demo role changed: remember it outside the widget (the page switch that opens
    the role's home page, observatory/ui/navigation.py, reruns without widget values)."""
    st.session_state[GO_HOME_KEY] = True
    st.session_state[CHOSEN_KEY] = st.session_state[ROLE_KEY]


def role_switcher() -> Role:
    """The demo role switcher in the sidebar; `?role=` in the URL sets the first choice.

    With the switcher turned off (a public deployment) every visitor is the public and
    neither the session nor the URL can change that.
    """
    key = ROLE_KEY
    if not demo_roles_enabled():
        st.session_state[key] = DEFAULT_ROLE.value
        return DEFAULT_ROLE
    if key not in st.session_state:
        asked = st.query_params.get("role")
        try:
            st.session_state[key] = role_from_name(asked).value
        except UnknownRoleError as exc:
            st.session_state[key] = DEFAULT_ROLE.value
            st.sidebar.caption(f"{exc} Showing the {DEFAULT_ROLE.label} role.")
    if CHOSEN_KEY in st.session_state:
        st.session_state[key] = st.session_state[CHOSEN_KEY]
    choice = st.sidebar.selectbox(
        "Demo role (sign-in is off)", options=[r.value for r in Role],
        format_func=lambda value: Role(value).label, key=key, on_change=_role_changed,
        help="Sign-in is off in the demo: pick whose view of the dashboard to see. "
             "Data is filtered for the role on the server, not merely hidden.")
    st.query_params["role"] = choice
    return Role(choice)


# Pickers pass their default as `index` and never write st.session_state: Streamlit itself
# resets a remembered choice that is no longer offered (another theme, a rebuilt store, a
# value smuggled into the session) and tells the browser, which a deleted key would not.

def period_picker(periods: Sequence[str], *, key: str, label: str = "Period",
                  shown: Mapping[str, str] | None = None) -> str | None:
    """Choose one period (newest first), written as `shown` says ("2026 (to 30 Nov)");
    None with a note when there is none."""
    if not periods:
        st.info("No computed results yet: run `uv run observatory demo` to compute them.")
        return None
    words = dict(shown or {})
    return st.selectbox(label, options=list(periods), key=key,
                        format_func=lambda p: words.get(p, p))


def resolution_picker(resolutions: Sequence[int], *, key: str, coarser_by: int = 0,
                      label: str = "Cell size", language: str = "en") -> int | None:
    """Choose an H3 resolution among those offered: the finest, less `coarser_by` levels."""
    if not resolutions:
        return None
    options = sorted(resolutions)
    return st.radio(label, options=options, key=key, horizontal=True,
                    index=max(len(options) - 1 - coarser_by, 0),
                    format_func=lambda r: t("resolution_option", language, r=r,
                                            edge=EDGE_LENGTH.get(r, "?")),
                    help=t("resolution_help", language))


def indicator_picker(catalogue: pl.DataFrame, *, key: str,
                     label: str = "Indicator") -> str | None:
    """Choose one indicator of a catalogue frame, shown by label; None if there is none."""
    if catalogue.is_empty():
        st.info("No indicator with computed results is available for this role yet.")
        return None
    names = catalogue["name"].to_list()
    labels = dict(zip(names, catalogue["label"].to_list(), strict=True))
    return st.selectbox(label, options=names, key=key, format_func=labels.__getitem__)


def theme_label(theme: str) -> str:
    """A theme as people read it."""
    return THEME_LABELS.get(theme, theme.replace("_", " ").capitalize())


def theme_picker(catalogue: pl.DataFrame, *, key: str) -> str | None:
    """Choose one theme among those of a catalogue frame."""
    themes = sorted(set(catalogue["theme"].to_list()))
    if not themes:
        return None
    return st.radio("Theme", options=themes, key=key, horizontal=True, format_func=theme_label)


def table_picker(tables: Sequence[str], *, key: str, default: str | None = None) -> str | None:
    """Choose one store table to map."""
    if not tables:
        return None
    index = list(tables).index(default) if default in tables else 0
    return st.selectbox("Dataset to map", options=list(tables), key=key, index=index)


# -- map ---------------------------------------------------------------------------------

def _coloured(cells: CellMap, scale: Scale) -> list[dict[str, object]]:
    unit = cells.unit_label
    return [{"h3_hex": hexa, "fill": scale.rgba(value) or list(NO_VALUE_RGBA),
             "label": format_value(value, unit=unit)}
            for hexa, value in cells.cells.select("h3_hex", "value").iter_rows()]


def _swatch(css_colour: str, label: str) -> str:
    return (f"<span style='display:inline-block;width:0.9em;height:0.9em;"
            f"background:{css_colour};margin:0 0.25em 0 0.8em;vertical-align:middle'>"
            f"</span>{label}")


def _legend(cells: CellMap, scale: Scale, *, language: str = "en") -> None:
    values = cells.cells["value"].to_list()
    labels = legend_labels(values, scale.breaks, diverging=cells.diverging, language=language)
    swatches = [_swatch(f"rgb{tuple(colour)}", label)
                for colour, label in zip(scale.colours, labels, strict=False)]
    if cells.cells["value"].null_count():
        swatches.append(_swatch(f"rgba{NO_VALUE_RGBA}", t("legend_missing", language)))
    how = t("legend_uniform" if scale.uniform else "legend_diverging" if cells.diverging
            else "legend_quantiles", language)
    unit = unit_name(cells.unit_label, language)
    st.markdown(f"<div style='font-size:0.85em'><b>{unit}</b> ({how})"
                f"{''.join(swatches)}</div>", unsafe_allow_html=True)


def h3_map(cells: CellMap, *, height: int = 460, with_streets: bool = True,
           language: str = "en") -> None:
    """An H3 hexagon map of `cells`, coloured by value (viridis), with a legend."""
    data_badges(cells.provenance, language=language)
    if cells.cells.is_empty():
        st.info(t("no_cells", language, title=cells.title, resolution=cells.resolution))
        return
    scale = scale_of(cells.cells["value"].to_list(), diverging=cells.diverging)
    rows = _coloured(cells, scale)
    chart = deck([hexagon_layer(rows)], cells.cells["h3_hex"].to_list(), height=height,
                 tooltip="<b>{label}</b><br/>cell {h3_hex}", with_streets=with_streets)
    st.pydeck_chart(chart, width="stretch", height=height)
    _legend(cells, scale, language=language)
    if cells.suppressed:
        st.caption(t("cells_withheld", language, n=format_number(cells.suppressed, language),
                     k=cells.min_count))


def cell_map_block(cells: CellMap, *, height: int = 460, table_label: str | None = None) -> None:
    """The map, the table behind it and its provenance footer: one block per map."""
    h3_map(cells, height=height)
    table_behind(cells.cells, label=table_label or f"Table behind the map: {cells.title}")
    provenance_footer(cells.provenance, period=cells.period)


# -- numbers and tables ------------------------------------------------------------------

def _unit_words(unit_label: str) -> str:
    return "percent" if unit_label == "%" else unit_label


def _number(value: float | None, *, unit_label: str) -> str:
    return format_value(value, unit="%" if unit_label == "%" else "")


def _kpi(label: str, value: str, *, notes: Sequence[str], help: str | None = None) -> None:
    """A bordered card: label (wraps), the figure in large type, then short notes."""
    with st.container(border=True):
        st.markdown(f"**{label}**", help=help)
        st.markdown(f"<div style='font-size:2rem;line-height:1.15'>{value}</div>",
                    unsafe_allow_html=True)
        for note in notes:
            st.caption(note)


def _target_note(status: str, value: float | None, by: str | None, source: str | None) -> str:
    if value is None:
        return f"{STATUS_ICONS.get(status, '')} {status}"
    return f"{STATUS_ICONS.get(status, '')} {status}: target {format_value(value)} by {by}" + (
        f" ({source})" if source else "")


def kpi_card(summary: IndicatorSummary) -> None:
    """One whole-area figure, its unit and period, and its target when one is declared."""
    value = ("withheld" if summary.suppressed
             else _number(summary.value, unit_label=summary.unit_label))
    target = summary.target
    note = (_target_note(target.status, target.value, target.by, target.source) if target
            else _target_note("no target declared", None, None, None))
    _kpi(f"{summary.label}: whole area", value, help=summary.description,
         notes=[f"{_unit_words(summary.unit_label)} · {summary.period or 'no period'}", note])


def scorecard(frame: pl.DataFrame, *, per_row: int = 4) -> None:
    """Headline indicators as KPI cards (value, target, status) and the table behind."""
    if frame.is_empty():
        st.info("No headline indicator is available for this role.")
        return
    rows = frame.to_dicts()
    for start in range(0, len(rows), per_row):
        for column, row in zip(st.columns(per_row), rows[start:start + per_row], strict=False):
            with column:
                _kpi(row["label"], _number(row["value"], unit_label=row["unit_label"]),
                     notes=[f"{_unit_words(row['unit_label'])} · {row['period'] or 'no period'}",
                            _target_note(row["status"], row["target_value"], row["target_by"],
                                         row["target_source"])])
    table_behind(frame, label="Table behind the scorecard")


def readable(frame: pl.DataFrame, *, missing: str = "–") -> pl.DataFrame:
    """A frame as people read it: times as `YYYY-MM-DD HH:MM UTC`, decimals to four
    significant digits (whole numbers from 1,000 up: 21,936 residents, not 21,940), and a
    dash, not `None`, where a text or a time is missing. Applying it twice changes nothing."""
    zoned = [n for n, t in frame.schema.items() if isinstance(t, pl.Datetime) and t.time_zone]
    naive = [n for n, t in frame.schema.items() if isinstance(t, pl.Datetime) and not t.time_zone]
    out = frame.with_columns(
        *(pl.col(n).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M UTC")
          for n in zoned),
        *(pl.col(n).dt.strftime("%Y-%m-%d %H:%M") for n in naive),
        *(pl.when(pl.col(n).abs() >= 1000).then(pl.col(n).round(0))
          .otherwise(pl.col(n).round_sig_figs(4)).alias(n)
          for n, t in frame.schema.items() if t in (pl.Float64, pl.Float32)))
    gaps = [n for n, t in out.schema.items() if t.is_numeric() and out[n].null_count()]
    out = out.with_columns(pl.col(n).cast(pl.String) for n in gaps)  # a dash, not `None`
    return out.with_columns(pl.col(pl.String).fill_null(missing))


def table_behind(frame: pl.DataFrame, *, label: str = "Table behind the chart",
                 expanded: bool = False, language: str = "en") -> None:
    """The data a chart shows, in an expander under it, readable (no float noise)."""
    rows = t("rows", language, n=format_number(frame.height, language))
    with st.expander(f"{label} ({rows})", expanded=expanded):
        st.dataframe(readable(frame).to_arrow(), hide_index=True, width="stretch")


def data_table(frame: pl.DataFrame, *, max_rows: int = 25, hide: Sequence[str] = ()) -> None:
    """A plain table in full width, tall enough for `max_rows` rows before it scrolls;
    the columns in `hide` left out."""
    rows = min(frame.height, max_rows)
    st.dataframe(readable(frame.drop(hide, strict=False)).to_arrow(), hide_index=True,
                 width="stretch",
                 height=35 * (rows + 1) + 3)


RANKING_TITLES = {"higher_is_better": "Best-placed areas (higher is better)",
                  "lower_is_better": "Best-placed areas (lower is better)",
                  "neutral": "Highest values"}


def ranked_bar(frame: pl.DataFrame, *, unit_label: str, direction: str) -> None:
    """Cells ranked by value as horizontal bars, best first, with the table behind."""
    st.markdown(f"**{RANKING_TITLES.get(direction, 'Ranked areas')}**")
    if frame.is_empty():
        st.info("No cells to rank.")
        return
    st.bar_chart(frame, x="h3_hex", y="value", horizontal=True, sort=False,
                 x_label="H3 cell", y_label=_unit_words(unit_label),
                 height=max(220, 28 * frame.height + 60))
    table_behind(frame, label="Table behind the ranking")


def download_csv(cells: CellMap, *, key: str, file_name: str) -> None:
    """A download button for the published cells as CSV."""
    st.download_button("Download these cells (CSV)", data=cells.cells.write_csv(),
                       file_name=file_name, mime="text/csv", key=key, on_click="ignore",
                       icon=":material/download:")


def source_health(sources: pl.DataFrame) -> None:
    """Sources with their freshness, row counts and validation issues, stale ones flagged."""
    stale = sources.filter(pl.col("freshness").str.starts_with("stale"))
    issues = int(sources["issues"].sum()) if "issues" in sources.columns else 0
    a, b, c = st.columns(3)
    a.metric("Sources loaded", f"{sources.height:,}", border=True)
    b.metric("Stale sources", f"{stale.height:,}", border=True,
             help="Older than the cadence at which the source is expected to be refreshed.")
    c.metric("Validation issues", f"{issues:,}", border=True)
    for row in stale.iter_rows(named=True):
        st.warning(f"`{row['source_id']}` is {row['freshness']}: data as of "
                   f"{_date(row['data_as_of'])}, expected every "
                   f"{row['expected_cadence_days']} days.", icon=":material/schedule:")
    shown = [c for c in ("source_id", "type", "freshness", "data_as_of", "age_days",
                         "expected_cadence_days", "rows", "row_counts", "issues",
                         "issue_list", "licence", "attribution", "modelled", "simulated",
                         "loaded_at", "sha256", "notes") if c in sources.columns]
    data_table(sources.select(shown))


def source_licences(sources: pl.DataFrame) -> None:
    """Sources with their licence, attribution and date, as a reader needs to cite them."""
    shown = [c for c in ("source_id", "type", "licence", "attribution", "data_as_of",
                         "modelled", "simulated") if c in sources.columns]
    data_table(sources.select(shown))


def _run_reasons(rows: pl.DataFrame, *, title: str) -> None:
    if rows.height:
        with st.expander(f"{title} ({rows.height})"):
            st.markdown("\n".join(f"- **{name}**: {reason}" for name, reason in
                                   rows.select("name", "run_reason").iter_rows()))


def run_health(status: pl.DataFrame) -> None:
    """Indicator definitions and their last runs, problems first: ok, waiting for data and
    failed counted apart, each with its reason."""
    invalid = status.filter(pl.col("run_state") == "invalid")
    states = {state: status.filter(pl.col("run_state") == state)
              for state in ("ok", "waiting", "failed", "not run")}
    changed = status.filter((pl.col("status") == "valid") & ~pl.col("up_to_date")
                            & pl.col("last_run").is_not_null())
    a, b, c, d, e, f = st.columns(6)
    a.metric("Valid definitions", f"{status.height - invalid.height:,}", border=True)
    b.metric("Invalid definitions", f"{invalid.height:,}", border=True)
    c.metric("Computed", f"{states['ok'].height:,}", border=True,
             help="Computed on the current store.")
    d.metric("Waiting for data", f"{states['waiting'].height:,}", border=True,
             help="Valid, but an input is not loaded yet: not a failure.")
    e.metric("Failed last run", f"{states['failed'].height:,}", border=True)
    f.metric("Changed since last run", f"{changed.height:,}", border=True,
             help="The definition file changed after the store was computed: rerun it.")
    if invalid.height:
        st.warning(f"{invalid.height} definition files are invalid and were not computed; "
                   "their problems, with file and line, are listed below.",
                   icon=":material/rule:")
        with st.expander(f"Problems of the {invalid.height} invalid definitions"):
            st.code("\n".join(invalid["problems"].to_list()), language=None, wrap_lines=True)
    _run_reasons(states["failed"], title="Failed last run, and why")
    _run_reasons(states["waiting"], title="Waiting for data, and for what")
    _run_reasons(states["not run"], title="Not computed yet")
    data_table(status.select(
        "name", "status", "run_state", "run_reason", "theme", "visibility", "run_rows",
        "run_seconds", "run_at", "up_to_date", "definition_hash", "run_hash", "file"))


# -- provenance --------------------------------------------------------------------------

def _date(value: datetime | None) -> str:
    return value.strftime("%d %b %Y") if value else "unknown"


def data_badges(provenance: Provenance, *, language: str = "en") -> None:
    """A prominent badge when any source is modelled or simulated."""
    if provenance.simulated:
        st.badge(t("simulated", language), icon=":material/science:", color="red")
    if provenance.modelled:
        modelled = ", ".join(s.source_id for s in provenance.sources if s.modelled)
        st.badge(t("modelled_from", language, sources=modelled),
                 icon=":material/model_training:", color="orange")


def provenance_footer(provenance: Provenance, *, period: str | None = None,
                      language: str = "en") -> None:
    """Unit, sources with licence and attribution, and the date the data is as of."""
    parts = [f"**{t('unit', language)}:** {provenance.unit_label}"]
    if period:
        parts.append(f"**{t('period', language)}:** {period}")
    parts.append(f"**{t('data_as_of', language)}:** {_date(provenance.data_as_of)}")
    st.caption(" · ".join(parts))
    if not provenance.sources:
        st.caption(f"**{t('sources', language)}:** –")
        return
    # once, compactly: each source with its licence; the full entries fold out below
    compact = ", ".join(f"{s.source_id} ({s.licence})" for s in provenance.sources)
    st.caption(f"**{t('sources', language)}:** {compact}")
    full = "".join(
        f"<li>{html.escape(s.source_id)} ({html.escape(s.licence)}"
        f"{', ' + html.escape(s.attribution) if s.attribution else ''}; "
        f"{t('data_as_of', language).lower()} {_date(s.data_as_of)}"
        f"{'; ' + t('modelled', language) if s.modelled else ''}"
        f"{'; ' + t('simulated', language) if s.simulated else ''})</li>"
        for s in provenance.sources)
    st.markdown(f"<details style='font-size:0.8em;color:#55585c'><summary>"
                f"{t('all_sources', language)}</summary><ul>{full}</ul></details>",
                unsafe_allow_html=True)


def methodology_panel(method: Methodology, provenance: Provenance) -> None:
    """The method of an indicator in an expander: standard, deviations, parameters, code."""
    with st.expander("Methodology", icon=":material/menu_book:"):
        st.markdown(f"**Standard:** {method.standard}")
        st.markdown(f"**Deviations from the standard:** {method.deviations}")
        basis = "denominator" if method.aggregation == "ratio" else "count"
        st.markdown(f"**Inputs:** {', '.join(f'`{i}`' for i in method.inputs)} · "
                    f"**Aggregation to larger cells:** {method.aggregation}")
        st.markdown(f"**Disclosure control:** the public portal shows a cell only when its "
                    f"{basis} is at least {method.min_count}.")
        if method.parameters:
            st.markdown("**Parameters:** " + ", ".join(
                f"`{k}` = {v}" for k, v in sorted(method.parameters.items())))
        st.markdown(f"**Definition:** `{method.definition_path}`")
        st.code(method.code, language=method.code_language)
        provenance_footer(provenance)


def service_performance(frame: pl.DataFrame) -> None:
    """Median days to close per service against its target, latest year, and the table."""
    if frame.is_empty():
        st.info("No service requests loaded (`observatory ingest service-requests FILE`).")
        return
    if frame["simulated"].any():
        st.caption(":orange-badge[Simulated data: generated for the demo, not real requests]")
    latest = frame.filter(pl.col("year") == frame["year"].max())
    st.markdown(f"**Median days to close, {latest['year'][0]}** (target in the table)")
    st.bar_chart(latest, x="service", y=["median_days", "target_days"], stack=False,
                 horizontal=True, x_label="service", y_label="days",
                 height=max(220, 40 * latest.height + 80))
    table_behind(frame, label="Table behind the chart: every service and year")


def walking_method_block(method: WalkingMethod) -> None:
    """How walks are computed: the method, the walkable-ways rule and what changed, why."""
    st.markdown(method.text)
    st.markdown("**Which ways are walkable** (one rule, `observatory/walkable.py`):")
    st.markdown("\n".join(f"- {line}" for line in method.rules))
    for change in method.changes:
        st.markdown(f"**What changed on {change.date}, and why.** {change.what} {change.why}")
        st.caption("Residents of the embedded central-Helsinki extract within 15 minutes' "
                   "walk, with the method before and after the change (modelled residents).")
        config = {c: st.column_config.NumberColumn(
            c.replace("_4_8_kmh", " (4.8 km/h)").replace("_3_6_kmh", " (3.6 km/h)"),
            format="%+d" if c.startswith("change") else "localized")
            for c in change.residents.columns if c != "service"}
        st.dataframe(change.residents, hide_index=True, width="stretch", column_config=config)
