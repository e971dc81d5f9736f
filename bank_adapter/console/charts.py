"""Charts as inline SVG, drawn on the server: no script, no library, works offline.

`hourly_bars` draws a day as 24 groups of bars, one bar per series, with a y-axis scaled
to a round maximum. Colours come from the stylesheet (`series-N` classes), so the chart
follows the page's theme; in a right-to-left page the hours run from right to left.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, NamedTuple

from bank_adapter.console.html import Html, el

WIDTH: Final = 840
HEIGHT: Final = 250
AXIS: Final = 44  # room for the y-axis labels, at the start side
END: Final = 10
TOP: Final = 14
BOTTOM: Final = 30  # room for the hour labels
HOURS: Final = 24


class Series(NamedTuple):
    label: str
    values: Sequence[int]  # one per hour, 0-23


def round_maximum(value: int) -> int:
    """The smallest of 1, 2, 5 x 10^n at or above `value` (at least 1)."""
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= value:
                return step * scale
        scale *= 10


def hourly_bars(series: Sequence[Series], *, title: str, rtl: bool = False) -> Html:
    """Hours run from the start side (left, or right when `rtl`), as the page reads."""
    top = round_maximum(max((max(s.values, default=0) for s in series), default=0))
    plot_w, plot_h = WIDTH - AXIS - END, HEIGHT - TOP - BOTTOM
    start = END if rtl else AXIS  # the plot's left edge
    slot = plot_w / HOURS
    bar_w = slot * 0.8 / max(len(series), 1)

    def x_of(hour: int, index: int) -> float:
        position = (HOURS - 1 - hour) if rtl else hour
        place = (len(series) - 1 - index) if rtl else index
        return start + position * slot + slot * 0.1 + place * bar_w

    parts: list[Html] = [el("title", title)]
    label_x, anchor = (WIDTH - AXIS + 6, "start") if rtl else (AXIS - 6, "end")
    for tick in sorted({0, top // 2 if top % 2 == 0 else top, top}):
        y = TOP + plot_h - plot_h * tick / top
        parts.append(el("line", x1=start, x2=start + plot_w, y1=_n(y), y2=_n(y), class_="grid"))
        parts.append(
            el("text", str(tick), x=label_x, y=_n(y + 4), class_="axis", text_anchor=anchor)
        )
    for hour in range(HOURS):
        for index, one in enumerate(series):
            height = plot_h * one.values[hour] / top
            parts.append(
                el(
                    "rect",
                    el("title", f"{hour:02d}:00 {one.label}: {one.values[hour]}"),
                    x=_n(x_of(hour, index)),
                    y=_n(TOP + plot_h - height),
                    width=_n(bar_w),
                    height=_n(height),
                    class_=f"series-{index}",
                )
            )
        if hour % 3 == 0:
            middle = start + ((HOURS - 1 - hour) if rtl else hour) * slot + slot / 2
            parts.append(
                el(
                    "text",
                    f"{hour:02d}",
                    x=_n(middle),
                    y=HEIGHT - 10,
                    class_="axis",
                    text_anchor="middle",
                )
            )
    return el(
        "svg",
        parts,
        viewBox=f"0 0 {WIDTH} {HEIGHT}",
        role="img",
        class_="chart",
        aria_label=title,
    )


def legend(series: Sequence[Series]) -> Html:
    return el(
        "ul",
        [
            el("li", el("span", class_=f"swatch series-{index}"), one.label)
            for index, one in enumerate(series)
        ],
        class_="legend",
    )


def _n(value: float) -> str:
    return f"{value:.1f}"
