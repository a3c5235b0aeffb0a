"""Operations: what needs action today. Open alerts by severity, where they are, what lies
behind each one, and the actions to acknowledge, assign, comment and resolve."""

import streamlit as st

from observatory import views
from observatory.ui import alerts, widgets
from observatory.ui.gateway import fetch

st.title("Alerts")
st.caption("Alert rules (alerts/*.yml) are evaluated on the same definitions as the "
           "dashboard after every build or ingest, and on demand with "
           "`observatory alerts evaluate`.")
alerts.flash()

everything = alerts.all_alerts()
alerts.severity_cards(everything)
states, theme, district = alerts.filters(everything)
chosen = alerts.filter_alerts(everything, states=states, theme=theme, district=district)
alerts.alert_table(chosen)

st.subheader("Where the alerts are")
resolution = widgets.resolution_picker([7, 8, 9], key="operations_alerts_resolution")
widgets.cell_map_block(alerts.alert_cells(states=states, theme=theme, district=district,
                                          resolution=resolution or 9),
                       table_label="Table behind the map: alerts per cell")
st.caption("Alerts on the whole area or on a data feed have no place on the map; they are "
           "in the list above.")

st.subheader("Drill down and act")
alert_id = alerts.alert_picker(chosen)
if alert_id is not None:
    detail = alerts.alert_detail(alert_id)
    if detail is not None:
        alerts.drill_down(detail)
        alerts.actions_form(alert_id)

st.subheader("Freshness of every source")
st.page_link("pages/operations/data_health.py", label="Open the data health page",
             icon=":material/monitor_heart:")
widgets.source_health(fetch(views.sources_catalogue))

st.subheader("Alert rules at their last evaluation")
widgets.data_table(alerts.rule_status())
