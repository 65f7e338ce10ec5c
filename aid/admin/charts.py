"""Stacked bar charts as inline SVG, drawn on the server: no JavaScript, no library, no URL.

The admin totals page draws one per table. Inline SVG takes the admin's fonts and colours (CSS
variables), so it follows the light and dark themes, prints, and works offline.
"""

import math
from dataclasses import dataclass, field
from decimal import Decimal
from html import escape

# Tableau 10: distinct on light and dark backgrounds; the tenth (grey) is kept for "the rest".
PALETTE = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
)  # fmt: skip
REST_COLOUR = "#bab0ac"
# Viridis, for ordered series (periods): darker is earlier. Its last, pale yellow is left out.
RAMP = ((0x44, 0x01, 0x54), (0x3B, 0x52, 0x8B), (0x21, 0x91, 0x8C), (0x5E, 0xC9, 0x62))

WIDTH = 900
LABEL_WIDTH = 200  # donor names, right-aligned against the bars
TOTAL_WIDTH = 72  # room for the total printed after each bar
BAR, GAP = 18, 7
FONT = 12
CHAR = 6.6  # average width of a character at FONT, for laying out the legend
LABEL_CHARS = 30


@dataclass(frozen=True)
class Series:
    """One colour in the chart: a column of the table, or several folded into "the rest"."""

    label: str
    colour: str
    members: tuple[str, ...]


@dataclass
class Bar:
    label: str
    amounts: dict[str, Decimal | int | float] = field(default_factory=dict)
    rest: bool = False  # the bar that sums every donor beyond the top N

    @property
    def total(self) -> float:
        return float(sum(self.amounts.values(), 0))


def series_for(columns: list[tuple[str, str]], *, ordered: bool, rest: str) -> list[Series]:
    """A colour per column, in the columns' order.

    Ordered columns (periods) take a colour ramp, however many there are. Unordered ones
    (categories, largest first) take the palette; past it they share one grey series, `rest`.
    """
    if ordered:
        return [
            Series(label, ramp(index, len(columns)), (key,))
            for index, (key, label) in enumerate(columns)
        ]
    named = [
        Series(label, colour, (key,))
        for (key, label), colour in zip(columns, PALETTE, strict=False)
    ]
    folded = tuple(key for key, _ in columns[len(PALETTE) :])
    if len(folded) == 1:
        return [*named, Series(columns[-1][1], REST_COLOUR, folded)]
    return [*named, Series(f"{rest} ({len(folded)})", REST_COLOUR, folded)] if folded else named


def colours(series: list[Series]) -> dict[str, str]:
    """Column key → colour, for the swatches in the table's header."""
    return {key: one.colour for one in series for key in one.members}


def ramp(index: int, count: int) -> str:
    position = 0.5 if count == 1 else index / (count - 1)
    scaled = position * (len(RAMP) - 1)
    low = min(int(scaled), len(RAMP) - 2)
    part = scaled - low
    rgb = (round(a + (b - a) * part) for a, b in zip(RAMP[low], RAMP[low + 1], strict=True))
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def top(bars: list[Bar], limit: int, rest: str) -> list[Bar]:
    """The `limit` largest bars, and one more that sums the others, labelled with their count."""
    bars = sorted(bars, key=lambda bar: -bar.total)
    if len(bars) <= limit + 1:
        return bars
    others = bars[limit:]
    summed: dict[str, float] = {}
    for bar in others:
        for key, amount in bar.amounts.items():
            summed[key] = summed.get(key, 0) + float(amount)
    return [*bars[:limit], Bar(f"{len(others)} {rest}", summed, rest=True)]


def compact(number: float) -> str:
    """1.25 bn, 12.5 m, 980 k, 512: short enough for an axis or the end of a bar."""
    scaled, suffix = number, ""
    for size, name in ((1e12, " tn"), (1e9, " bn"), (1e6, " m"), (1e3, " k")):
        if abs(number) >= size:
            scaled, suffix = number / size, name
            break
    places = 2 if abs(scaled) < 10 else 1 if abs(scaled) < 100 else 0
    text = f"{scaled:.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + suffix


def ticks(maximum: float, count: int = 5) -> list[float]:
    """Round numbers from 0 to at least `maximum`: steps of 1, 2, 2.5 or 5 times a power of 10."""
    raw = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if raw <= m * magnitude)
    return [step * index for index in range(math.ceil(maximum / step - 1e-9) + 1)]


def shorten(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def stacked_bars(bars: list[Bar], series: list[Series], *, title: str, axis: str) -> str:
    """Horizontal bars, one per donor, stacked by series; a legend above, an axis below.

    Bars and series with nothing to draw are left out; "" when nothing at all is left.
    """
    bars = [bar for bar in bars if bar.total > 0]
    if not bars:
        return ""
    series = [
        one
        for one in series
        if any(float(bar.amounts.get(key, 0)) > 0 for bar in bars for key in one.members)
    ]
    scale_ticks = ticks(max(bar.total for bar in bars))
    scale = scale_ticks[-1]
    plot_left, plot_right = LABEL_WIDTH, WIDTH - TOTAL_WIDTH

    def x(amount: float) -> float:
        return plot_left + (plot_right - plot_left) * amount / scale

    parts, legend_height = legend(series)
    top_y = legend_height + 8
    axis_y = top_y + len(bars) * (BAR + GAP)
    for tick in scale_ticks:
        parts.append(
            f'<line class="grid" x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top_y - 4}" '
            f'y2="{axis_y}"/>'
            f'<text class="tick" x="{x(tick):.1f}" y="{axis_y + 16}" text-anchor="middle">'
            f"{compact(tick)}</text>"
        )
    for index, bar in enumerate(bars):
        y = top_y + index * (BAR + GAP)
        label_class = "label rest" if bar.rest else "label"
        parts.append(
            f'<text class="{label_class}" x="{plot_left - 8}" y="{y + BAR - 5}" '
            f'text-anchor="end"><title>{escape(bar.label)}</title>'
            f"{escape(shorten(bar.label))}</text>"
        )
        start = 0.0
        for one in series:
            amount = sum(float(bar.amounts.get(key, 0)) for key in one.members)
            if amount <= 0:
                continue
            parts.append(
                f'<rect x="{x(start):.1f}" y="{y}" width="{x(start + amount) - x(start):.1f}" '
                f'height="{BAR}" fill="{one.colour}"><title>{escape(bar.label)} · '
                f"{escape(one.label)}: {amount:,.0f} {escape(axis)}</title></rect>"
            )
            start += amount
        parts.append(
            f'<text class="total" x="{x(start) + 6:.1f}" y="{y + BAR - 5}">'
            f"{compact(bar.total)}</text>"
        )
    parts.append(
        f'<line class="axis" x1="{plot_left}" x2="{plot_left}" y1="{top_y - 4}" y2="{axis_y}"/>'
        f'<text class="axis-label" x="{(plot_left + plot_right) / 2:.0f}" y="{axis_y + 36}" '
        f'text-anchor="middle">{escape(axis)}</text>'
    )
    height = axis_y + 46
    return (
        f'<svg class="totals-chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" role="img" aria-label="{escape(title)}" font-size="{FONT}">'
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )


def legend(series: list[Series]) -> tuple[list[str], int]:
    """Swatches and labels flowing left to right across the chart's width, in series order."""
    parts, x, y = [], float(LABEL_WIDTH), 0
    for one in series:
        width = 14 + 6 + len(one.label) * CHAR + 18
        if x + width > WIDTH and x > LABEL_WIDTH:
            x, y = float(LABEL_WIDTH), y + 20
        parts.append(
            f'<rect x="{x:.1f}" y="{y + 2}" width="14" height="14" fill="{one.colour}"/>'
            f'<text class="legend" x="{x + 20:.1f}" y="{y + 13}">{escape(one.label)}</text>'
        )
        x += width
    return parts, y + 20
