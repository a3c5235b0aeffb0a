"""The council brief: one page with the headline indicators and what changed, as HTML and
as PDF (Typst), from the same rows and the one formatting rule (observatory/formatting.py).

The officials' tiles (observatory/ui/tiles.py) use the same wording for change, target
and status, so a figure reads the same on screen, in the HTML and in the PDF.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from observatory.formatting import value_to_text
from observatory.targets import THRESHOLDS_TEXT


def number(value: float | None, row: dict[str, Any]) -> str:
    """A value of `row`'s indicator by the formatting rule of its unit (`unit`: percent,
    count…), followed by the unit as people read it (`unit_label`); '' when missing."""
    text = value_to_text(value, unit=row["unit"], missing="")
    return f"{text} {row['unit_label']}".strip() if text else ""


def change_text(row: dict[str, Any]) -> tuple[str, str]:
    """The change since the previous period in words, and whether it is better, worse or
    neither for people (the indicator's direction, not the sign)."""
    change = row["change"]
    if change is None:
        return ("first period: nothing to compare yet" if row["previous_period"] is None
                else "no change computed", "neutral")
    better = {"higher_is_better": change > 0, "lower_is_better": change < 0}.get(
        row["direction"])
    arrow = "↑" if change > 0 else "↓" if change < 0 else "→"
    # a share changes by percentage points, not by a percentage of itself
    amount = (f"{value_to_text(abs(change), unit='percent')} percentage points"
              if row["unit"] == "percent" else number(abs(change), row))
    if change == 0 or better is None:
        return f"{arrow} {amount} since {row['previous_period']}", "neutral"
    verdict = "better" if better else "worse"
    return f"{arrow} {amount} since {row['previous_period']} ({verdict})", verdict


def target_text(row: dict[str, Any]) -> str:
    """The target, its date and source; or that none is set."""
    if row["target_value"] is None:
        return "No target set."
    return (f"Target {number(row['target_value'], row)} by "
            f"{row['target_by']} ({row['target_source']}).")


def status_text(row: dict[str, Any]) -> str:
    """The status with P(meet target) when there is one."""
    status = row["status"] or "no forecast"
    if row["probability"] is None:
        return status
    return f"{status} · P(meet target) {row['probability']:.0%}"


@dataclass(frozen=True)
class Brief:
    """What the brief says, as text ready to print."""

    title: str
    as_of: str
    badges: list[str]
    sources: str
    headline: list[dict[str, str]]  # label, value, period, change, target, status
    changes: list[dict[str, str]]  # label, periods, values, assessment
    charts: tuple[tuple[str, str], ...] = ()  # (caption, SVG): trends with their fans
    map: tuple[str, str] | None = None  # (caption, SVG): one map


def brief_of(scorecard: pl.DataFrame, changes: pl.DataFrame, *, title: str, as_of: str,
             sources: str, badges: list[str]) -> Brief:
    """The brief's rows from the officials' scorecard and the what-changed table."""
    headline = [{"label": r["label"],
                 "value": number(r["value"], r) or "no value yet",
                 "period": r.get("period_label") or r["period"] or "–",
                 "change": change_text(r)[0],
                 "target": target_text(r), "status": status_text(r)}
                for r in scorecard.iter_rows(named=True)]
    changed = [{"label": r["label"], "periods": f"{r['previous_period']} → {r['period']}",
                "values": f"{number(r['previous_value'], r)} → "
                          f"{number(r['value'], r)}",
                "assessment": r["assessment"]} for r in changes.head(8).iter_rows(named=True)]
    return Brief(title=title, as_of=as_of, badges=badges, sources=sources, headline=headline,
                 changes=changed)


def brief_html(brief: Brief) -> str:
    """The brief as a printable HTML page."""
    esc = html.escape
    score_rows = "".join(
        f"<tr><td>{esc(r['label'])}</td><td>{esc(r['value'])}</td><td>{esc(r['period'])}</td>"
        f"<td>{esc(r['change'])}</td><td>{esc(r['target'])}</td><td><b>{esc(r['status'])}"
        "</b></td></tr>" for r in brief.headline)
    change_rows = "".join(
        f"<tr><td>{esc(r['label'])}</td><td>{esc(r['periods'])}</td><td>{esc(r['values'])}"
        f"</td><td>{esc(r['assessment'])}</td></tr>" for r in brief.changes)
    badge_html = "".join(f"<p class='badge'>{esc(b)}</p>" for b in brief.badges)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{esc(brief.title)}</title><style>
@page {{ size: A4; margin: 14mm; }} body {{ font: 10pt/1.35 system-ui, sans-serif; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 10pt; }}
td, th {{ border-bottom: 1px solid #ccc; padding: 3pt 4pt; text-align: left; }}
.badge {{ color: #a40000; font-weight: bold; }} small {{ color: #555; }}
</style></head><body><h1>{esc(brief.title)}</h1><p>Data as of {esc(brief.as_of)}</p>
{badge_html}<h2>Headline indicators</h2><table><tr><th>Indicator</th><th>Value</th>
<th>Period</th><th>Change</th><th>Target</th><th>Status</th></tr>{score_rows}</table>
<p><small>Status is the forecast's probability of meeting the target: {esc(THRESHOLDS_TEXT)}.
</small></p>{_figures_html(brief)}<h2>What changed since the last period</h2><table><tr>
<th>Indicator</th><th>Periods</th><th>Values</th><th>Assessment</th></tr>{change_rows}</table>
<p><small>Sources: {esc(brief.sources)}</small></p></body></html>"""


def _figures(brief: Brief) -> list[tuple[str, str]]:
    return [*brief.charts, *([brief.map] if brief.map else [])]


def _figures_html(brief: Brief) -> str:
    figures = "".join(f"<figure style='display:inline-block;margin:0 8pt 6pt 0'>{svg}"
                      f"<figcaption><small>{html.escape(caption)}</small></figcaption>"
                      "</figure>" for caption, svg in _figures(brief))
    return f"<h2>Trends, forecasts and one map</h2><div>{figures}</div>" if figures else ""


def _figures_typst(brief: Brief) -> str:
    cells = [f"[#image(bytes({_t(svg)[1:]}), format: \"svg\", width: 100%)\n"
             f"#text(size: 6.5pt)[{_t(caption)}]]" for caption, svg in _figures(brief)]
    if not cells:
        return ""
    return ("#text(size: 10pt, weight: \"bold\")[Trends, forecasts and one map]\n"
            f"#grid(columns: (1fr, 1fr, 1fr, 1fr), gutter: 6pt, {', '.join(cells)})\n")


def _t(text: str) -> str:
    """Text as a Typst string expression (nothing in it is read as markup)."""
    return '#"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _table(columns: list[str], rows: list[list[str]], widths: str) -> str:
    cells = [f"[*{_t(c)}*]" for c in columns] + [f"[{_t(v)}]" for row in rows for v in row]
    return (f"#table(columns: ({widths}), stroke: (x: none, y: 0.4pt + luma(200)), "
            f"inset: 3pt, {', '.join(cells)})")


def brief_typst(brief: Brief) -> str:
    """The brief as a Typst document (A4, one page)."""
    badges = "\n".join(f"#text(fill: rgb(\"#a40000\"), weight: \"bold\")[{_t(b)}]\n"
                       for b in brief.badges)
    headline = _table(["Indicator", "Value", "Period", "Change", "Target", "Status"],
                      [[r["label"], r["value"], r["period"], r["change"], r["target"],
                        r["status"]] for r in brief.headline],
                      "2.2fr, 1fr, 0.6fr, 1.5fr, 1.8fr, 1.2fr")
    changes = _table(["Indicator", "Periods", "Values", "Assessment"],
                     [[r["label"], r["periods"], r["values"], r["assessment"]]
                      for r in brief.changes], "2.2fr, 1fr, 1.6fr, 2fr")
    return f"""#set page(paper: "a4", margin: 12mm)
#set text(size: 7.5pt, lang: "en")
#text(size: 14pt, weight: "bold")[{_t(brief.title)}]

Data as of {_t(brief.as_of)}

{badges}
#text(size: 10pt, weight: "bold")[Headline indicators]
{headline}
#text(size: 6.5pt, fill: luma(80))[{_t("Status is the forecast's probability of meeting the "
                                        "target: " + THRESHOLDS_TEXT + ".")}]

{_figures_typst(brief)}
#text(size: 10pt, weight: "bold")[What changed since the last period]
{changes}
#text(size: 6.5pt, fill: luma(80))[{_t("Sources: " + brief.sources)}]
"""


def brief_pdf(brief: Brief) -> bytes:
    """The brief as PDF, compiled by Typst with its own embedded fonts (no system fonts,
    nothing fetched)."""
    import typst

    return typst.compile(brief_typst(brief).encode("utf-8"), format="pdf",
                         ignore_system_fonts=True)


def officials_brief(con: Any, registry: Any, *, role: Any, today: str) -> Brief:
    """The brief of the store `con` as officials see it on `today` (a date in words)."""
    from observatory.views.trends import headline_provenance, officials_scorecard, what_changed

    provenance = headline_provenance(con, registry, role=role)
    badges = (["Includes SIMULATED data (demo feeds), not real observations"]
              if provenance.simulated else []) + (
        ["Includes MODELLED data (estimates, not counts)"] if provenance.modelled else [])
    as_of = provenance.data_as_of.strftime("%d %b %Y") if provenance.data_as_of else "unknown"
    scorecard = officials_scorecard(con, registry, role=role)
    brief = brief_of(scorecard, what_changed(con, registry, role=role),
                     title=f"Observatory brief for officials, {today}", as_of=as_of,
                     sources="; ".join(f"{s.source_id} ({s.licence})"
                                       for s in provenance.sources), badges=badges)
    return replace(brief, **_pictures(con, registry, scorecard, role=role))


def _pictures(con: Any, registry: Any, scorecard: pl.DataFrame, *, role: Any,
              charts: int = 3) -> dict[str, Any]:
    """The trends with their fans of the first `charts` headline indicators that have a
    forecast, and the district map of the first of them."""
    from observatory.views.brief_charts import fan_svg, map_svg
    from observatory.views.trends import district_comparison, district_periods, indicator_trend

    forecast = scorecard.filter(pl.col("model").is_not_null() & pl.col("value").is_not_null())
    chosen = forecast.head(charts).to_dicts()
    pictures = []
    for row in chosen:
        trend = indicator_trend(con, registry, row["name"], role=role)
        if svg := fan_svg(trend, unit=row["unit"]):
            pictures.append((f"{row['label']} ({row['unit_label']}): observed, forecast "
                             "with 80 % and 95 % intervals, target", svg))
    found = None
    for row in chosen:
        periods = district_periods(con, registry, row["name"], role=role)
        if periods:
            _, cells = district_comparison(con, registry, row["name"], role=role,
                                           period=periods[0])
            if svg := map_svg(cells):
                found = (f"{row['label']} by district, {periods[0]}", svg)
                break
    return {"charts": tuple(pictures), "map": found}


def brief_files(con: Any, registry: Any, *, role: Any, today: str) -> tuple[str, bytes]:
    """The officials' brief as HTML and as PDF (the same rows)."""
    brief = officials_brief(con, registry, role=role, today=today)
    return brief_html(brief), brief_pdf(brief)
