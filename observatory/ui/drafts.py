"""Analysts draft an indicator in the app: the form, the SQL editor and validation as they
type (the CLI's validator, observatory/drafts/check.py), saving versions, comments and
the export. The preview lives in observatory/ui/draft_preview.py.

The SQL editor is `st.text_area` with a highlighted, line-numbered copy below it: the
editor components on PyPI (streamlit-code-editor 0.1.22, December 2024; streamlit-ace
0.1.1, 2021) are not maintained against current Streamlit, and AppTest cannot drive a
custom component.
"""

from __future__ import annotations

import hashlib
from dataclasses import fields, replace
from typing import Any, get_args

import streamlit as st

from observatory import settings, views
from observatory.drafts import saved
from observatory.drafts.check import DraftCheck, check_draft
from observatory.drafts.export import exported_zip
from observatory.drafts.form import (
    DraftForm,
    definition_text,
    form_from_text,
    parameters_text,
    parse_parameters,
    parse_targets,
    targets_text,
)
from observatory.opsdb import OpsDB, ops_database, ops_url_for
from observatory.registry.spec import Aggregation, Direction, Period, Theme, Unit
from observatory.ui import auth, widgets
from observatory.ui.gateway import context, fetch, registry, sandbox

P = "analysts_drafts_"  # session keys of this page
OPEN_KEY, FLASH_KEY, SQL_KEY = f"{P}open", f"{P}flash", f"{P}sql"
PARAMETERS_KEY, TARGETS_KEY, PICK_KEY = f"{P}parameters", f"{P}targets", f"{P}pick"
CHECK_KEY = f"{P}check"
# A new draft starts as a small, valid example the analyst edits.
STARTER = DraftForm(
    name="grocery_shops_count", label_en="Grocery shops", label_fr="Commerces alimentaires",
    description_en="Grocery shops mapped in OpenStreetMap, per cell.",
    description_fr="Commerces alimentaires cartographiés dans OpenStreetMap, par cellule.",
    theme="services", unit="count", direction="neutral", inputs=("osm_pois",),
    aggregation="sum", owner="analysts", standard_en="OpenStreetMap shop=supermarket, "
    "convenience, greengrocer", standard_fr="OpenStreetMap shop=supermarket, convenience, "
    "greengrocer")
STARTER_SQL = ("SELECT h3_cell, count(*) AS value\nFROM osm_pois\nWHERE category = 'grocery'\n"
               "GROUP BY h3_cell\n")
NEW = 0  # the picker's "new draft" entry


def _ops() -> OpsDB:
    return ops_database(url=ops_url_for(settings.store_path()))


def _key(field: str) -> str:
    return f"{P}{field}"


def _fill(form: DraftForm, query: str) -> None:
    """Put a form and its SQL into the widgets' state (before they are drawn)."""
    for item in fields(DraftForm):
        if item.name not in ("parameters", "targets"):
            value = getattr(form, item.name)
            st.session_state[_key(item.name)] = list(value) if isinstance(value, tuple) else value
    st.session_state[PARAMETERS_KEY] = parameters_text(form.parameters)
    st.session_state[TARGETS_KEY] = targets_text(form.targets)
    st.session_state[SQL_KEY] = query


def _open_picked() -> None:
    picked = st.session_state.get(PICK_KEY, NEW)
    if picked == NEW:
        st.session_state[OPEN_KEY] = None
        _fill(STARTER, STARTER_SQL)
        return
    version = saved.opened(_ops(), picked)
    st.session_state[OPEN_KEY] = (version.draft_id, version.version)
    _fill(form_from_text(version.definition), version.query)


def picker() -> None:
    """Start a new draft or open one (anyone's: analysts review each other's drafts)."""
    if _key("name") not in st.session_state:
        _fill(STARTER, STARTER_SQL)
    listed = saved.listed(_ops())
    labels = {NEW: "New draft"} | {
        row["id"]: f"#{row['id']} {row['name']} (v{row['versions']}, {row['last_saved_by']})"
        for row in listed.iter_rows(named=True)}
    st.selectbox("Draft", options=list(labels), format_func=labels.__getitem__, key=PICK_KEY,
                 on_change=_open_picked)
    if (flash := st.session_state.pop(FLASH_KEY, None)) is not None:
        kind, text = flash
        (st.success if kind == "success" else st.error)(text)


def _choices(literal: Any) -> list[str]:
    return list(get_args(literal))


def _identity() -> None:
    a, b = st.columns(2)
    a.text_input("Name (file stem, with a measure suffix)", key=_key("name"),
                 placeholder="grocery_count")
    b.text_input("Owner (team)", key=_key("owner"))
    a.text_input("Label (English)", key=_key("label_en"))
    b.text_input("Label (French)", key=_key("label_fr"))
    a.text_area("Description (English)", key=_key("description_en"), height=80)
    b.text_area("Description (French)", key=_key("description_fr"), height=80)


def _kind() -> None:
    a, b, c, d = st.columns(4)
    a.selectbox("Theme", _choices(Theme), key=_key("theme"))
    b.selectbox("Unit", _choices(Unit), key=_key("unit"))
    c.selectbox("Direction", _choices(Direction), key=_key("direction"))
    d.selectbox("Aggregation", _choices(Aggregation), key=_key("aggregation"),
                help="ratio: numerators and denominators are summed; sum: values are added; "
                     "max: the worst place is kept")
    a.selectbox("Base resolution", [10, 9, 8, 7], key=_key("h3_resolution"))
    b.selectbox("Period", _choices(Period), key=_key("period"))
    c.selectbox("Visibility", ["internal", "public"], key=_key("visibility"))
    d.number_input("Minimum count", min_value=1, step=1, key=_key("min_count"),
                   help="published cells with fewer people or events are withheld")


def _method() -> None:
    a, b = st.columns(2)
    a.text_input("Standard followed (English)", key=_key("standard_en"))
    b.text_input("Standard followed (French)", key=_key("standard_fr"))
    a.text_input("Deviations (English)", key=_key("deviations_en"))
    b.text_input("Deviations (French)", key=_key("deviations_fr"))


def form() -> tuple[DraftForm, list[str]]:
    """The definition's fields; the form and the problems of its parameter and target
    boxes (each with its line)."""
    _identity()
    _kind()
    st.multiselect("Inputs (datasets the SQL reads)", fetch(views.draft_inputs),
                   key=_key("inputs"))
    a, b = st.columns(2)
    a.text_area("Parameters, one per line (name: value)", key=PARAMETERS_KEY, height=80,
                help="bound in the SQL as $name")
    b.text_area("Targets, one per line (value, YYYY-MM-DD, source)", key=TARGETS_KEY,
                height=80)
    _method()
    draft, _, problems = current()
    return draft, problems


def current() -> tuple[DraftForm, str, list[str]]:
    """The draft as the widgets hold it now (also inside a button's callback, where the
    last edit is already in the state): the form, its SQL and the problems of the
    parameter and target boxes, each with its line."""
    parameters, bad_parameters = parse_parameters(st.session_state[PARAMETERS_KEY])
    targets, bad_targets = parse_targets(st.session_state[TARGETS_KEY])
    values = {item.name: st.session_state[_key(item.name)] for item in fields(DraftForm)
              if item.name not in ("parameters", "targets")}
    values["inputs"] = tuple(values["inputs"])
    values["min_count"] = int(values["min_count"])
    return (DraftForm(**values, parameters=parameters, targets=targets),
            str(st.session_state.get(SQL_KEY, "")), bad_parameters + bad_targets)


def checked(draft: DraftForm, query: str, form_problems: list[str]) -> DraftCheck:
    """The CLI's validation of the draft, with the form's own problems first."""
    check = check_draft(definition_text(draft), query, registry=registry(context()),
                        known_inputs=set(fetch(views.draft_inputs)), sandbox=sandbox())
    problems = form_problems + check.problems
    return replace(check, problems=problems, loaded=None if problems else check.loaded)


def sql_editor() -> str:
    """The SQL box, and the same SQL highlighted with the line numbers messages name."""
    st.text_area("SQL (one read-only query; parameters as $name)", key=SQL_KEY, height=200)
    query = str(st.session_state[SQL_KEY])
    if query.strip():
        st.code(query, language="sql", line_numbers=True)
    return query


def validation(draft: DraftForm, query: str, form_problems: list[str]) -> DraftCheck:
    """Validate as the analyst types: every problem with its file and line, or 'valid'.
    A rerun that changed nothing of the draft (a map resolution, a comment) reuses the
    last check of this text on this snapshot."""
    ctx = context()
    key = (text_digest(draft, query), tuple(form_problems), ctx.snapshot, ctx.registry_key)
    last = st.session_state.get(CHECK_KEY)
    check = last[1] if last and last[0] == key else checked(draft, query, form_problems)
    st.session_state[CHECK_KEY] = (key, check)
    if check.problems:
        st.error("\n".join(f"- {p}" for p in check.problems), icon=":material/error:")
    else:
        st.success(f"Valid, and its SQL binds on the current snapshot (checked in "
                   f"{check.seconds * 1000:,.0f} ms).", icon=":material/check_circle:")
    return check


def definition(draft: DraftForm, check: DraftCheck) -> None:
    """The YAML the form writes, named by the file it would become."""
    st.caption(f"Definition: `{check.target.name}` (becomes `indicators/"
               f"{check.target.parent.name}/{check.target.name}`)")
    st.code(definition_text(draft), language="yaml", wrap_lines=True)


def text_digest(draft: DraftForm, query: str) -> str:
    """A short digest of the draft's text (a preview belongs to one text)."""
    return hashlib.blake2b((definition_text(draft) + "\0" + query).encode(),
                           digest_size=8).hexdigest()


def _save() -> None:
    viewer, opened = auth.viewer(), st.session_state.get(OPEN_KEY)
    draft, query, form_problems = current()
    if problems := checked(draft, query, form_problems).problems:  # never save an invalid draft
        st.session_state[FLASH_KEY] = ("error", "Not saved: " + " ".join(problems))
        return
    text = definition_text(draft)
    try:
        if opened is None:
            version = saved.create(_ops(), name=draft.name.strip(), theme=draft.theme,
                                   definition=text,
                                   query=query, author=viewer.actor, subject=viewer.subject)
        else:
            version = saved.save(_ops(), opened[0], based_on=opened[1], name=draft.name.strip(),
                                 theme=draft.theme, definition=text, query=query,
                                 author=viewer.actor, subject=viewer.subject)
    except saved.DraftError as exc:
        st.session_state[FLASH_KEY] = ("error", str(exc))
        return
    if opened is not None and version.version == opened[1]:
        st.session_state[FLASH_KEY] = ("success", f"Nothing changed since version "
                                                  f"{version.version}; nothing was saved.")
        return
    st.session_state[OPEN_KEY] = (version.draft_id, version.version)
    st.session_state[PICK_KEY] = version.draft_id
    st.session_state[FLASH_KEY] = ("success", f"Saved draft {version.draft_id} version "
                                              f"{version.version} as {version.author}.")


def save_and_export(draft: DraftForm, check: DraftCheck) -> None:
    """Save a version (only a valid draft), and export the saved pair as a zip."""
    opened = st.session_state.get(OPEN_KEY)
    label = "Save as a new draft" if opened is None else f"Save version {opened[1] + 1}"
    a, b = st.columns(2)
    a.button(label, type="primary", icon=":material/save:", key=f"{P}save",
             disabled=bool(check.problems), on_click=_save,
             help="fix the problems above first" if check.problems else None)
    if opened is None:
        b.caption("Save the draft to export it and to let other analysts comment.")
        return
    version = saved.opened(_ops(), opened[0], opened[1])
    b.download_button("Export YAML + SQL", data=exported_zip(version),
                      file_name=f"{version.name}.zip", mime="application/zip",
                      icon=":material/download:", on_click="ignore", key=f"{P}export")
    b.caption(f"Then `observatory indicators import-draft {version.draft_id}` writes the "
              f"pair into indicators/{draft.theme}/ for review.")


def _comment(draft_id: int, version: int) -> None:
    viewer = auth.viewer()
    try:
        saved.comment(_ops(), draft_id, version=version, author=viewer.actor,
                      subject=viewer.subject, body=st.session_state.get(f"{P}comment", ""))
    except saved.DraftError as exc:
        st.session_state[FLASH_KEY] = ("error", str(exc))
        return
    st.session_state[f"{P}comment"] = ""


def review() -> None:
    """The open draft's versions and comments, and a box to comment."""
    opened = st.session_state.get(OPEN_KEY)
    if opened is None:
        return
    draft_id, version = opened
    versions, comments = st.columns(2)
    with versions:
        st.markdown(f"**Versions of draft {draft_id}**")
        widgets.data_table(saved.versions(_ops(), draft_id), max_rows=10)
    with comments:
        st.markdown("**Comments**")
        notes = saved.comments(_ops(), draft_id)
        if notes.is_empty():
            st.caption("No comment yet.")
        else:
            widgets.data_table(notes, max_rows=10)
        st.text_area(f"Comment on version {version}", key=f"{P}comment", height=80)
        st.button("Post comment", icon=":material/comment:", key=f"{P}post",
                  on_click=_comment, args=(draft_id, version))
