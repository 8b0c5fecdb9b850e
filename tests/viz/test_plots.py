"""SVG line plots: valid XML, points where the documented mapping puts them, round ticks."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from gan3dlib.viz.plots import line_plot_svg, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"


def test_nice_ticks_cover_the_range_with_round_steps():
    assert nice_ticks(0.0, 1.0) == [0.0, 0.5, 1.0] and nice_ticks(0.0, 1.0, count=6) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    ticks = nice_ticks(0.13, 11.7)
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1 and ticks[0] <= 0.13 and ticks[-1] >= 11.7
    step = steps.pop()
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in (1.0, 2.0, 5.0)
    assert len(nice_ticks(3.0, 3.0)) >= 2
    with pytest.raises(ValueError, match="low, high"):
        nice_ticks(1.0, 0.0)


def test_points_are_drawn_where_the_mapping_puts_them():
    series = {"a": [(0.0, 0.0), (10.0, 1.0), (5.0, float("nan"))], "b <&>": [(2.0, 0.5)]}
    text = line_plot_svg(series, title="t", x_label="kimg", y_label="gap", reference_lines={"truth": 1.0},
                         width=500, height=300)
    root = ET.fromstring(text)  # well-formed, names escaped
    lines = root.findall(f"{SVG}polyline")
    assert [line.find(f"{SVG}title").text for line in lines] == ["a", "b <&>"]
    coords = [tuple(map(float, p.split(","))) for p in lines[0].get("points").split()]
    assert len(coords) == 2  # the NaN point is skipped
    # Outer ticks: x 0..10, y 0..1; plot box left 56, top 30, width 500-56-150, height 300-30-42.
    assert coords[0] == pytest.approx((56.0, 30.0 + 228.0)) and coords[1] == pytest.approx((56.0 + 294.0, 30.0))
    assert "truth" in text and "kimg" in text


def test_bad_series():
    with pytest.raises(ValueError, match="series"):
        line_plot_svg({})
    with pytest.raises(ValueError, match="finite"):
        line_plot_svg({"a": [(float("nan"), 1.0)]})
