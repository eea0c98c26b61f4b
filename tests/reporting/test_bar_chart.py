"""The PDFs' paired bars (reporting.charts): drawn to scale, numbers on the bars, text escaped."""

from xml.etree import ElementTree

from reporting.charts import CURRENT_COLOUR, PREVIOUS_COLOUR, paired_bars_svg

SVG = "{http://www.w3.org/2000/svg}"


def parsed(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)  # noqa: S314 (our own markup)


def test_bars_are_to_scale_with_their_numbers_and_escaped_labels():
    svg = paired_bars_svg(
        [("All practices", 4, 2), ("Riverside <Surgery> & Co", 2, None)],
        current="November 2026", previous="October 2026", unit="%", title="Plans agreed",
    )  # fmt: skip
    root = parsed(svg)
    assert (root.get("role"), root.get("aria-label"), root.find(f"{SVG}title").text) == (
        "img", "Plans agreed", "Plans agreed",
    )  # fmt: skip
    bars = [(rect.get("fill"), rect.get("width")) for rect in root.iter(f"{SVG}rect")][2:]  # after the legend
    # The largest value fills the room for bars (330 of 560): 4 → 330, 2 → 165; no bar for a missing value.
    assert bars == [(CURRENT_COLOUR, "330.0"), (PREVIOUS_COLOUR, "165.0"), (CURRENT_COLOUR, "165.0")]
    texts = [text.text for text in root.iter(f"{SVG}text")]
    assert texts == [
        "November 2026", "October 2026", "All practices", "4%", "2%", "Riverside <Surgery> & Co", "2%", "–",
    ]  # fmt: skip


def test_all_zero_or_missing_draws_no_bars_and_long_labels_are_cut():
    root = parsed(paired_bars_svg([("A" * 40, 0, None)], current="This", previous="Before"))
    assert len(list(root.iter(f"{SVG}rect"))) == 2  # the legend's swatches only
    texts = [text.text for text in root.iter(f"{SVG}text")]
    assert texts[2:] == ["A" * 29 + "…", "0", "–"]
    assert root.get("height") == str(22 + 26)  # the legend, then one row of two bars
