"""The dashboard's server-drawn SVG bar charts (reporting.charts)."""

import xml.etree.ElementTree as ET

import pytest

from reporting.charts import BOTTOM, HEIGHT, TOP, Point, bar_chart, nice_ceiling

SVG = "{http://www.w3.org/2000/svg}"
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM  # 110


def parse(svg: str) -> ET.Element:
    # Inline SVG in HTML needs no namespace; give it one so the drawing parses as the XML it also is.
    return ET.fromstring(svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))  # noqa: S314 — our own output


def points(*values, labels=None):
    labels = labels or [f"M{i}" for i in range(len(values))]
    return [Point(label, f"{label} 2026", value) for label, value in zip(labels, values, strict=True)]


def bars(root: ET.Element) -> list[ET.Element]:
    return root.findall(f"{SVG}rect")


def texts(root: ET.Element, kind: str) -> list[str]:
    return [t.text for t in root.findall(f"{SVG}text") if t.get("class") == f"app-trend__{kind}"]


AXIS_TOPS = [(0, 1), (1, 1), (3, 3), (7, 8), (10, 10), (12, 15), (45, 50), (101, 150), (211, 250), (260, 300),
             (0.35, 0.4)]  # fmt: skip


@pytest.mark.parametrize(("value", "top"), AXIS_TOPS)
def test_the_axis_top_is_a_round_number_at_or_above_the_largest_value(value, top):
    assert nice_ceiling(value) == top


def test_bars_scale_to_the_axis_top_and_the_latest_is_picked_out():
    root = parse(bar_chart(points(0, 5, 10, 4), chart_id="contacts", title="Contacts, by month"))
    assert [float(b.get("height")) for b in bars(root)] == [0, 55, 110, 44]  # of 110, the axis top is 10
    assert [float(b.get("y")) for b in bars(root)] == [TOP + 110, TOP + 55, TOP, TOP + 66]
    assert [b.get("class") for b in bars(root)][-2:] == [
        "app-trend__bar",
        "app-trend__bar app-trend__bar--latest",
    ]
    assert texts(root, "value") == ["4"]  # the latest month's value, above its bar
    assert texts(root, "axis") == ["0", "5", "10"]
    assert texts(root, "month") == ["M0", "M1", "M2", "M3"]
    widths = {float(b.get("width")) for b in bars(root)}
    assert len(widths) == 1  # every bar as wide


def test_it_is_an_image_named_and_described_with_no_style_attribute():
    svg = str(bar_chart(points(3, 9, 6), chart_id="caseload-new", title="New to a caseload, by month"))
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "caseload-new-title caseload-new-desc"
    assert root.find(f"{SVG}title").get("id") == "caseload-new-title"
    assert root.find(f"{SVG}title").text == "New to a caseload, by month"
    assert root.find(f"{SVG}desc").text == (
        "M0 2026 to M2 2026: lowest 3 (M0 2026), highest 9 (M1 2026), latest 6 (M2 2026)."
    )
    assert "style" not in svg  # the CSP allows no style attribute: CSS classes colour it


def test_a_percentage_is_drawn_against_100():
    root = parse(bar_chart(points(50, 80), chart_id="ehch", title="EHCH", unit="%", maximum=100))
    assert [float(b.get("height")) for b in bars(root)] == [55, 88]
    assert texts(root, "axis") == ["0%", "50%", "100%"]
    assert texts(root, "value") == ["80%"]


def test_a_series_of_zeros_draws_flat_bars_on_an_axis_to_1():
    root = parse(bar_chart(points(0, 0, 0), chart_id="zeros", title="Nothing yet"))
    assert [float(b.get("height")) for b in bars(root)] == [0, 0, 0]
    assert texts(root, "axis") == ["0", "1"]  # no "0.5" halfway up
    assert root.find(f"{SVG}desc").text.startswith("M0 2026 to M2 2026: lowest 0 (M0 2026), highest 0")


def test_months_with_nothing_to_measure_have_no_bar_but_a_dash():
    root = parse(bar_chart(points(None, 40, None), chart_id="ehch", title="EHCH", unit="%", maximum=100))
    assert [float(b.get("height")) for b in bars(root)] == [44]
    assert texts(root, "none") == ["–", "–"]
    assert texts(root, "value") == []  # the latest month has no figure
    assert root.find(f"{SVG}desc").text.endswith("latest none (M2 2026).")
    nothing = parse(bar_chart(points(None, None), chart_id="none", title="EHCH"))
    assert bars(nothing) == []
    assert nothing.find(f"{SVG}desc").text == "M0 2026 to M1 2026: no figures."


def test_an_empty_series_is_still_a_drawing():
    root = parse(bar_chart([], chart_id="empty", title="Nothing"))
    assert bars(root) == []
    assert root.find(f"{SVG}desc").text == "No months to show."


def test_every_text_is_escaped():
    hostile = '<script>alert("x")</script>'
    svg = str(
        bar_chart(
            [Point(hostile, "Jan & Feb", 2)], chart_id='x" onload="alert(1)', title=f"{hostile} & <b>bold</b>"
        )
    )
    assert "<script>" not in svg and "<b>" not in svg and 'onload="' not in svg
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in svg
    root = parse(svg)  # still well-formed
    assert root.find(f"{SVG}title").text == f"{hostile} & <b>bold</b>"
    assert texts(root, "month") == [hostile]
    assert root.find(f"{SVG}desc").text.startswith("Jan & Feb to Jan & Feb: lowest 2 (Jan & Feb)")


def test_large_numbers_have_thousands_separators():
    root = parse(bar_chart(points(1200, 4321), chart_id="big", title="Contacts"))
    assert texts(root, "axis") == ["0", "2,500", "5,000"]
    assert texts(root, "value") == ["4,321"]
