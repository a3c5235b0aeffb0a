"""English and French for the public portal: interface strings, numbers, plain summaries.

Indicator labels come from the definitions (`label: {en: …, fr: …}`); descriptions and
methods are written in English in the definitions and shown as they are.
"""

from __future__ import annotations

import math

from observatory.views.model import IndicatorSummary

LANGUAGES: dict[str, str] = {"en": "English", "fr": "Français"}
DEFAULT_LANGUAGE = "en"

STRINGS: dict[str, dict[str, str]] = {
    "portal_title": {"en": "Neighbourhood indicators", "fr": "Indicateurs de quartier"},
    "portal_intro": {
        "en": "Open figures about the area, cell by cell on a hexagon grid: the same numbers "
              "officials see. Cells that rest on too few people are withheld or merged to "
              "protect privacy.",
        "fr": "Des chiffres ouverts sur le territoire, maille par maille sur une grille "
              "hexagonale : les mêmes que ceux des élus. Les mailles qui reposent sur trop "
              "peu de personnes sont masquées ou regroupées pour protéger la vie privée."},
    "about_title": {"en": "About the data", "fr": "À propos des données"},
    "language": {"en": "Language", "fr": "Langue"},
    "theme": {"en": "Theme", "fr": "Thème"},
    "indicator": {"en": "Indicator", "fr": "Indicateur"},
    "period": {"en": "Period", "fr": "Période"},
    "cell_size": {"en": "Cell size", "fr": "Taille des mailles"},
    "overview": {"en": "All indicators of this theme", "fr": "Tous les indicateurs du thème"},
    "map": {"en": "Map", "fr": "Carte"},
    "trend": {"en": "Trend and target", "fr": "Évolution et objectif"},
    "table": {"en": "Table", "fr": "Tableau"},
    "method": {"en": "Methodology", "fr": "Méthodologie"},
    "downloads": {"en": "Download", "fr": "Télécharger"},
    "whole_area": {"en": "whole area", "fr": "ensemble du territoire"},
    "no_value": {"en": "withheld", "fr": "masqué"},
    "table_behind_map": {"en": "Table behind the map", "fr": "Tableau derrière la carte"},
    "table_behind_trend": {"en": "Table behind the trend",
                           "fr": "Tableau derrière l'évolution"},
    "table_behind_overview": {"en": "Table behind the overview",
                              "fr": "Tableau derrière la vue d'ensemble"},
    "one_period": {"en": "One period only so far: no trend to draw yet.",
                   "fr": "Une seule période pour l'instant : pas encore d'évolution."},
    "target_line": {"en": "target", "fr": "objectif"},
    "value": {"en": "value", "fr": "valeur"},
    "licence": {"en": "Licence", "fr": "Licence"},
    "cite_as": {"en": "Cite as", "fr": "Citer ainsi"},
    "computed_at": {"en": "Computed at", "fr": "Calculé le"},
    "standard": {"en": "Standard followed", "fr": "Norme suivie"},
    "deviations": {"en": "Deviations from the standard", "fr": "Écarts à la norme"},
    "parameters": {"en": "Parameters", "fr": "Paramètres"},
    "sources": {"en": "Sources", "fr": "Sources"},
    "all_sources": {"en": "Every source in full", "fr": "Toutes les sources en détail"},
    "code": {"en": "The computation, as run", "fr": "Le calcul, tel qu'exécuté"},
    "disclosure_title": {"en": "Privacy protection", "fr": "Protection de la vie privée"},
    "disclosure_rule": {
        "en": "A cell is shown only when its {basis} is at least {k}. Smaller cells are "
              "merged with neighbours in the same larger hexagon until the group reaches "
              "{k}; a few larger cells are withheld too, so that no hidden figure can be "
              "worked out by subtracting published ones.",
        "fr": "Une maille n'est affichée que si son {basis} atteint au moins {k}. Les plus "
              "petites sont regroupées avec leurs voisines du même hexagone parent jusqu'à "
              "atteindre {k} ; quelques mailles plus grandes sont aussi masquées pour "
              "qu'aucun chiffre caché ne puisse se déduire par soustraction."},
    "basis_denominator": {"en": "number of people (denominator)",
                          "fr": "nombre de personnes (dénominateur)"},
    "basis_value": {"en": "count", "fr": "effectif"},
    "withheld_summary": {
        "en": "At this cell size: {published} cells shown, {merged} merged areas, {small} "
              "cells below {k}, {complementary} withheld to protect them, {empty} empty "
              "(nothing counted).",
        "fr": "À cette taille : {published} mailles affichées, {merged} regroupements, "
              "{small} mailles sous {k}, {complementary} masquées pour les protéger, "
              "{empty} vides (rien de compté)."},
    "simulated": {"en": "Simulated data: not real observations",
                  "fr": "Données simulées : pas des observations réelles"},
    "modelled": {"en": "Modelled data: estimates, not counts",
                 "fr": "Données modélisées : des estimations, pas des comptages"},
    "data_as_of": {"en": "Data as of", "fr": "Données au"},
    "modelled_from": {"en": "Modelled data ({sources}): estimates, not counts",
                      "fr": "Données modélisées ({sources}) : des estimations, pas des "
                            "comptages"},
    "rows": {"en": "{n} rows", "fr": "{n} lignes"},
    "resolution_option": {"en": "res {r} · ~{edge} edge", "fr": "rés. {r} · côté ~{edge}"},
    "resolution_help": {"en": "H3 resolution: higher is finer. Maps are capped at 20,000 "
                              "cells.",
                        "fr": "Résolution H3 : plus elle est élevée, plus les mailles sont "
                              "fines. Les cartes comptent au plus 20 000 mailles."},
    "legend_quantiles": {"en": "quantile classes", "fr": "classes par quantiles"},
    "legend_uniform": {"en": "every cell shown has the same value: nothing varies to map",
                       "fr": "toutes les mailles affichées ont la même valeur : rien ne "
                             "varie sur la carte"},
    "legend_diverging": {"en": "change, centred on zero: orange decreases, purple increases",
                         "fr": "évolution, centrée sur zéro : orange en baisse, violet en "
                               "hausse"},
    "legend_missing": {"en": "no value", "fr": "pas de valeur"},
    "legend_no_change": {"en": "no change", "fr": "pas de changement"},
    "cells_withheld": {"en": "{n} cells withheld by disclosure control: they rest on fewer "
                             "than {k} people or objects.",
                       "fr": "{n} mailles masquées par le contrôle de divulgation : elles "
                             "reposent sur moins de {k} personnes ou objets."},
    "no_cells": {"en": "No cells to show for {title} at resolution {resolution}.",
                 "fr": "Aucune maille à afficher pour {title} à la résolution {resolution}."},
    "unit": {"en": "Unit", "fr": "Unité"},
    "no_indicator": {"en": "No public indicator has results yet.",
                     "fr": "Aucun indicateur public n'a encore de résultat."},
}

# Units as people read them (observatory/registry/spec.py UNIT_LABELS, and the datasets'
# own), in French.
UNITS_FR = {
    "per 1,000 residents": "pour 1 000 habitants", "per km²": "par km²", "count": "nombre",
    "residents": "habitants", "index": "indice", "hours": "heures", "days": "jours",
    "rows": "lignes", "points of interest": "points d'intérêt",
}

THEMES = {
    "accessibility": {"en": "Accessibility", "fr": "Accessibilité"},
    "mobility": {"en": "Mobility", "fr": "Mobilité"},
    "climate": {"en": "Climate and air", "fr": "Climat et air"},
    "services": {"en": "Services", "fr": "Services"},
    "land_use": {"en": "Land use", "fr": "Occupation du sol"},
    "population": {"en": "Population", "fr": "Population"},
}
STATUSES = {
    "met": {"en": "target met", "fr": "objectif atteint"},
    "not met": {"en": "target not met", "fr": "objectif non atteint"},
    "target declared": {"en": "target declared", "fr": "objectif déclaré"},
    "no value": {"en": "no value", "fr": "pas de valeur"},
}


def language_of(value: str | None) -> str:
    """A supported language code (`en` for anything else)."""
    code = (value or "").strip().lower()[:2]
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, language: str, **values: object) -> str:
    """The interface string `key` in `language` (English when missing), formatted."""
    entry = STRINGS[key]
    text = entry.get(language) or entry[DEFAULT_LANGUAGE]
    return text.format(**values) if values else text


def theme_name(theme: str, language: str) -> str:
    """A theme as people read it."""
    names = THEMES.get(theme)
    return names[language_of(language)] if names else theme.replace("_", " ").capitalize()


def status_name(status: str | None, language: str) -> str:
    """A target status as people read it."""
    if status is None:
        return {"en": "no target declared", "fr": "pas d'objectif déclaré"}[language_of(language)]
    return STATUSES.get(status, {}).get(language_of(language), status)


def format_number(value: float | None, language: str) -> str:
    """3 significant digits at most, thousands grouped as the language writes them."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return t("no_value", language)
    magnitude = abs(value)
    if magnitude >= 100 or float(value).is_integer():
        text = f"{value:,.0f}"
    else:
        text = f"{value:,.1f}" if magnitude >= 10 else f"{value:,.2f}"
        text = text.rstrip("0").rstrip(".")
    return localised(text, language)


def localised(text: str, language: str) -> str:
    """A number written in English (`1,234.5`) as `language` writes it (`1 234,5`)."""
    if language_of(language) == "fr":
        return text.replace(",", "\u202f").replace(".", ",")
    return text


def with_digits(value: float, digits: int, language: str) -> str:
    """`value` to `digits` significant digits, never in exponent notation."""
    text = f"{value:,.0f}" if abs(value) >= 10 ** digits else f"{value:,.{digits}g}"
    return localised(text, language)


def unit_name(unit_label: str, language: str) -> str:
    """A unit as people read it in `language` (`per 1,000 residents`, `pour 1 000 habitants`)."""
    return UNITS_FR.get(unit_label, unit_label) if language_of(language) == "fr" else unit_label


def with_unit(value: float | None, unit_label: str, language: str) -> str:
    """A number and its unit (`42 %` in French, `42%` in English)."""
    number = format_number(value, language)
    if value is None:
        return number
    if unit_label == "%":
        return f"{number}\u202f%" if language_of(language) == "fr" else f"{number}%"
    return f"{number} {unit_name(unit_label, language)}"


def plain_summary(summary: IndicatorSummary, *, label: str, language: str) -> str:
    """One or two sentences a resident can read: the figure, its period, its target."""
    fr = language_of(language) == "fr"
    if summary.value is None:
        first = (f"{label} : pas de valeur publiée pour l'ensemble du territoire."
                 if fr else f"{label}: no published value for the whole area.")
    else:
        figure = with_unit(summary.value, summary.unit_label, language)
        first = (f"{label} : {figure} sur l'ensemble du territoire en {summary.period}."
                 if fr else f"{label}: {figure} for the whole area in {summary.period}.")
    target = summary.target
    if target is None:
        return first
    goal = with_unit(target.value, summary.unit_label, language)
    second = (f" Objectif : {goal} d'ici {target.by} ({target.source}) — "
              f"{status_name(target.status, language)}." if fr else
              f" Target: {goal} by {target.by} ({target.source}) — "
              f"{status_name(target.status, language)}.")
    return first + second
