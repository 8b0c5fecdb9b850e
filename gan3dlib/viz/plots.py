"""Line plots as standalone SVG text: learning curves for the docs without a plotting dependency.

[`line_plot_svg`][gan3dlib.viz.plots.line_plot_svg] draws named series of ``(x, y)`` points on linear axes with
"nice" ticks, optional horizontal reference lines (e.g. the floor at 0 and the ground truth at 1 of
a gap-closed curve) and a legend. The output is plain SVG 1.1 (no scripts, no external resources),
which browsers and mkdocs show as an image.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

__all__ = ["PALETTE", "nice_ticks", "line_plot_svg"]

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")
_MARGIN = {"left": 56, "right": 150, "top": 30, "bottom": 42}


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values (steps of 1, 2 or 5 times a power of ten) covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)) or high < low:
        raise ValueError(f"low, high: expected finite numbers with low <= high, got {low!r}, {high!r}")
    if high == low:
        high, low = high + 0.5, low - 0.5
    raw = (high - low) / max(1, count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    ticks = [round(math.floor(low / step + 1e-9) * step, 12)]
    while ticks[-1] < high - step * 1e-9 or len(ticks) < 2:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def _format(value: float) -> str:
    return f"{value:.6g}"


def line_plot_svg(
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    width: int = 560,
    height: int = 300,
    reference_lines: Mapping[str, float] | None = None,
    y_range: tuple[float, float] | None = None,
) -> str:
    """An SVG line plot.

    Args:
        series: ``{name: [(x, y), ...]}``; non-finite points are skipped.
        title: text above the plot.
        x_label: x-axis label.
        y_label: y-axis label.
        width: image width in pixels.
        height: image height in pixels.
        reference_lines: ``{label: y}`` dashed horizontal lines.
        y_range: fixed (low, high) of the y axis; default: the data and reference lines.

    Returns:
        The SVG document as a string. Point ``(x, y)`` is drawn at ``left + (x - x0) / (x1 - x0) * W``,
        ``top + (y1 - y) / (y1 - y0) * H`` with ``(x0, x1)``, ``(y0, y1)`` the outer ticks.
    """
    if not series:
        raise ValueError("series: expected at least one named series, got none")
    points = {name: [(float(x), float(y)) for x, y in values if math.isfinite(x) and math.isfinite(y)]
              for name, values in series.items()}
    xs = [x for values in points.values() for x, _ in values]
    ys = [y for values in points.values() for _, y in values] + list((reference_lines or {}).values())
    if not xs:
        raise ValueError("series: expected at least one finite point, got none")
    x_ticks = nice_ticks(min(xs), max(xs))
    y_ticks = nice_ticks(*(y_range if y_range is not None else (min(ys), max(ys))))
    (x0, x1), (y0, y1) = (x_ticks[0], x_ticks[-1]), (y_ticks[0], y_ticks[-1])
    plot_w = width - _MARGIN["left"] - _MARGIN["right"]
    plot_h = height - _MARGIN["top"] - _MARGIN["bottom"]

    def px(x: float) -> float:
        return _MARGIN["left"] + (x - x0) / (x1 - x0) * plot_w

    def py(y: float) -> float:
        return _MARGIN["top"] + (y1 - min(max(y, y0), y1)) / (y1 - y0) * plot_h

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    if title:
        out.append(f'<text x="{width / 2:.1f}" y="18" text-anchor="middle" font-size="13">{escape(title)}</text>')
    for tick in x_ticks:
        out.append(f'<line x1="{px(tick):.2f}" y1="{_MARGIN["top"]}" x2="{px(tick):.2f}" '
                   f'y2="{_MARGIN["top"] + plot_h}" stroke="#e6e6e6"/>')
        out.append(f'<text x="{px(tick):.2f}" y="{_MARGIN["top"] + plot_h + 14}" text-anchor="middle">'
                   f'{_format(tick)}</text>')
    for tick in y_ticks:
        out.append(f'<line x1="{_MARGIN["left"]}" y1="{py(tick):.2f}" x2="{_MARGIN["left"] + plot_w}" '
                   f'y2="{py(tick):.2f}" stroke="#e6e6e6"/>')
        out.append(f'<text x="{_MARGIN["left"] - 6}" y="{py(tick) + 4:.2f}" text-anchor="end">{_format(tick)}</text>')
    out.append(f'<rect x="{_MARGIN["left"]}" y="{_MARGIN["top"]}" width="{plot_w}" height="{plot_h}" '
               f'fill="none" stroke="#444"/>')
    for label, value in (reference_lines or {}).items():
        out.append(f'<line x1="{_MARGIN["left"]}" y1="{py(value):.2f}" x2="{_MARGIN["left"] + plot_w}" '
                   f'y2="{py(value):.2f}" stroke="#777" stroke-dasharray="5,4"/>')
        out.append(f'<text x="{_MARGIN["left"] + plot_w - 4}" y="{py(value) - 4:.2f}" text-anchor="end" '
                   f'fill="#555">{escape(label)}</text>')
    for k, (name, values) in enumerate(points.items()):
        colour = PALETTE[k % len(PALETTE)]
        coords = " ".join(f"{px(x):.2f},{py(y):.2f}" for x, y in sorted(values))
        if coords:
            out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}">'
                       f'<title>{escape(name)}</title></polyline>')
        legend_y = _MARGIN["top"] + 14 + 16 * k
        out.append(f'<line x1="{width - _MARGIN["right"] + 12}" y1="{legend_y - 4}" '
                   f'x2="{width - _MARGIN["right"] + 32}" y2="{legend_y - 4}" stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{width - _MARGIN["right"] + 38}" y="{legend_y}">{escape(name)}</text>')
    if x_label:
        out.append(f'<text x="{_MARGIN["left"] + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle">'
                   f'{escape(x_label)}</text>')
    if y_label:
        mid = _MARGIN["top"] + plot_h / 2
        out.append(f'<text x="14" y="{mid:.1f}" text-anchor="middle" transform="rotate(-90 14 {mid:.1f})">'
                   f'{escape(y_label)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
