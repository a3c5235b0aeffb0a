"""The map legend says when every cell has the same value, instead of one lone class."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _legend_app(values: list[float]) -> str:
    def app(values: list[float]) -> None:
        import polars as pl

        from observatory.ui.widgets import _legend
        from observatory.views import CellMap, Provenance
        from observatory.views.colours import scale_of

        cells = CellMap(title="t", unit_label="index", resolution=10,
                        provenance=Provenance(unit_label="index", sources=()),
                        cells=pl.DataFrame({"h3_hex": ["8a1126d8a1a7fff"] * len(values),
                                            "value": values}))
        _legend(cells, scale_of(values))

    at = AppTest.from_function(app, args=(values,)).run()
    assert not at.exception, [e.value for e in at.exception]
    return "\n".join(str(m.value) for m in at.markdown)


def test_a_uniform_map_says_nothing_varies() -> None:
    assert "every cell shown has the same value" in _legend_app([6.0, 6.0, 6.0])
    # float noise from sums of parts is still the same value
    assert "same value" in _legend_app([5.999999999999998, 6.0, 6.000000000000002])


def test_a_varied_map_has_quantile_classes() -> None:
    text = _legend_app([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert "quantile classes" in text and "same value" not in text


def test_tables_behind_charts_show_no_float_noise() -> None:
    import polars as pl

    from observatory.ui.widgets import readable

    frame = pl.DataFrame({"value": [5.999999999999998, 100.00000000000001, 287.9134431654003,
                                    21936.133000, None], "name": ["a", "b", "c", "d", None]})
    out = readable(frame)
    assert out["value"].to_list() == ["6.0", "100.0", "287.9", "21936.0", "–"]
    assert out["name"].to_list()[-1] == "–"
    assert readable(out).equals(out)  # twice changes nothing

    def app() -> None:
        import polars as pl

        from observatory.ui.widgets import table_behind

        table_behind(pl.DataFrame({"value": [5.999999999999998, 6.000000000000002]}))

    at = AppTest.from_function(app).run()
    assert at.dataframe[0].value["value"].tolist() == [6.0, 6.0]


def test_values_that_differ_never_share_one_class() -> None:
    from observatory.views.colours import class_breaks, class_of, legend_labels

    mostly_four = [4.0] * 150 + [7.0] * 10  # six districts' values spread over 160 cells
    breaks = class_breaks(mostly_four)
    assert class_of(4.0, breaks) != class_of(7.0, breaks)
    assert legend_labels(mostly_four, breaks) == ["4", "7"]
    skewed = [4.0] * 100 + [5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0] * 2
    breaks = class_breaks(skewed)
    assert len(breaks) - 1 == 5 and len({class_of(v, breaks) for v in skewed}) == 5
