"""Accessible charts, drawn on the server as SVG: no JavaScript, and each chart comes with a text summary and its
figures as a data table (WCAG 2.1: 1.1.1 non-text content, 1.4.1 not by colour alone, 1.4.11 contrast).

``line_chart`` takes named series of (date, value) points and returns a :class:`Chart`; a template shows it with
``{% include "web/_chart.html" with chart=... %}``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils import formats
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

# Colours at least 3:1 against white (1.4.11); each series also has its own dash pattern and marker shape.
COLOURS = ["#0000bf", "#b01038", "#0b5e25", "#6b4a00", "#5c2d91", "#005a70"]
DASHES = ["", "8 4", "2 3", "12 4 2 4", "4 4", "1 2"]
MARKERS = ["circle", "square", "diamond", "triangle", "circle", "square"]

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 64


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[dt.date, float]]


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    svg: SafeString
    summary: str
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.rows


def _number(value: float) -> str:
    return formats.number_format(round(value, 1), decimal_pos=1 if value != int(value) else 0, use_l10n=True)


def _date(day: dt.date) -> str:
    return formats.date_format(day, "SHORT_DATE_FORMAT", use_l10n=True)


def _marker(shape: str, x: float, y: float, colour: str) -> str:
    if shape == "square":
        return f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{colour}"/>'
    if shape == "diamond":
        return (f'<polygon points="{x:.1f},{y - 5:.1f} {x + 5:.1f},{y:.1f} {x:.1f},{y + 5:.1f} {x - 5:.1f},{y:.1f}" '
                f'fill="{colour}"/>')
    if shape == "triangle":
        return (f'<polygon points="{x:.1f},{y - 5:.1f} {x + 5:.1f},{y + 4:.1f} {x - 5:.1f},{y + 4:.1f}" '
                f'fill="{colour}"/>')
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>'


def _summary(series: Sequence[Series], y_label: str) -> str:
    parts = []
    for one in series:
        points = sorted(one.points)
        if not points:
            continue
        (first_day, first), (last_day, last) = points[0], points[-1]
        if len(points) == 1:
            parts.append(_("%(name)s: %(value)s on %(day)s (one measurement).")
                         % {"name": one.name, "value": _number(first), "day": _date(first_day)})
            continue
        change = last - first
        if abs(change) < 1e-9:
            trend = _("no change")
        elif change > 0:
            trend = _("up %(amount)s") % {"amount": _number(change)}
        else:
            trend = _("down %(amount)s") % {"amount": _number(-change)}
        parts.append(_("%(name)s: %(first)s on %(first_day)s, %(last)s on %(last_day)s (%(trend)s, %(count)s "
                       "measurements).") % {"name": one.name, "first": _number(first), "first_day": _date(first_day),
                                             "last": _number(last), "last_day": _date(last_day), "trend": trend,
                                             "count": len(points)})
    if not parts:
        return _("No measurements yet.")
    return _("%(what)s over time.") % {"what": y_label} + " " + " ".join(parts)


def line_chart(series: Sequence[Series], *, key: str, title: str, y_label: str, y_min: float, y_max: float) -> Chart:
    """A line chart of values over time, one line per series, with ``y_min``..``y_max`` on the vertical axis."""
    series = [s for s in series if s.points]
    days = sorted({day for s in series for day, _value in s.points})
    columns = [_("Date"), *[s.name for s in series]]
    by_day = {s.name: dict(s.points) for s in series}
    rows = [[_date(day), *[_number(by_day[s.name][day]) if day in by_day[s.name] else "–" for s in series]]
            for day in days]
    summary = _summary(series, y_label)
    if not days:
        return Chart(key=key, title=title, svg=mark_safe(""), summary=summary, columns=columns, rows=rows)
    start, end = days[0], days[-1]
    span = max((end - start).days, 1)
    y_span = (y_max - y_min) or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(day: dt.date) -> float:
        return LEFT + (plot_w * (day - start).days / span if len(days) > 1 else plot_w / 2)

    def y_of(value: float) -> float:
        return TOP + plot_h * (1 - (min(max(value, y_min), y_max) - y_min) / y_span)

    out = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{key}-title {key}-desc" '
           f'xmlns="http://www.w3.org/2000/svg" focusable="false">',
           f'<title id="{key}-title">{escape(title)}</title><desc id="{key}-desc">{escape(summary)}</desc>',
           '<g font-size="12" fill="#1a1a1a">']
    for step in range(5):
        value = y_min + y_span * step / 4
        y = y_of(value)
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#767676" '
                   f'stroke-width="{1 if step else 2}"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(_number(value))}</text>')
    ticks = days if len(days) <= 6 else [days[round(i * (len(days) - 1) / 5)] for i in range(6)]
    for day in dict.fromkeys(ticks):
        # The first and last labels lean inwards so that they are never cut off at the edges.
        anchor = "start" if day == start and len(days) > 1 else "end" if day == end and len(days) > 1 else "middle"
        out.append(f'<text x="{x_of(day):.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="{anchor}">'
                   f'{escape(_date(day))}</text>')
    out.append(f'<text x="12" y="{TOP + plot_h / 2:.1f}" transform="rotate(-90 12 {TOP + plot_h / 2:.1f})" '
               f'text-anchor="middle">{escape(y_label)}</text>')
    legend_y = HEIGHT - 18
    legend_x = float(LEFT)
    for one, colour, dash, shape in zip(series, itertools.cycle(COLOURS), itertools.cycle(DASHES),
                                        itertools.cycle(MARKERS), strict=False):
        points = sorted(one.points)
        path = " ".join(f"{x_of(day):.1f},{y_of(value):.1f}" for day, value in points)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="3"{dash_attr}/>')
        out.extend(_marker(shape, x_of(day), y_of(value), colour) for day, value in points)
        out.append(f'<line x1="{legend_x:.1f}" x2="{legend_x + 28:.1f}" y1="{legend_y - 4}" y2="{legend_y - 4}" '
                   f'stroke="{colour}" stroke-width="3"{dash_attr}/>')
        out.append(_marker(shape, legend_x + 14, legend_y - 4, colour))
        out.append(f'<text x="{legend_x + 34:.1f}" y="{legend_y}">{escape(one.name)}</text>')
        legend_x += 44 + 7 * len(one.name)
    out.append("</g></svg>")
    return Chart(key=key, title=title, svg=mark_safe("".join(out)), summary=summary,  # noqa: S308 - escaped above
                 columns=columns, rows=rows)


# Bar charts: each series has its colour and also its own fill pattern (solid, hatched, dotted, ...), so that the
# bars can be told apart without colour (1.4.1); every bar has a solid outline in its colour (1.4.11).
PATTERNS = ["solid", "diagonal", "dots", "cross", "horizontal", "vertical"]


@dataclass(frozen=True)
class BarSeries:
    """One kind of bar: its value for each category, in the categories' order (None: no value, e.g. hidden)."""

    name: str
    values: Sequence[float | None]


def _decimal(value: float, places: int) -> str:
    return formats.number_format(round(value, places), decimal_pos=places, use_l10n=True)


def _pattern(key: str, index: int, name: str, colour: str) -> str:
    """An SVG fill pattern in ``colour`` on white (``solid`` needs none)."""
    inner = {
        "diagonal": f'<path d="M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4" stroke="{colour}" stroke-width="2"/>',
        "dots": f'<circle cx="4" cy="4" r="2" fill="{colour}"/>',
        "cross": f'<path d="M0,0 l8,8 M8,0 l-8,8" stroke="{colour}" stroke-width="1.5"/>',
        "horizontal": f'<path d="M0,4 h8" stroke="{colour}" stroke-width="2.5"/>',
        "vertical": f'<path d="M4,0 v8" stroke="{colour}" stroke-width="2.5"/>',
    }[name]
    return (f'<pattern id="{key}-pattern-{index}" patternUnits="userSpaceOnUse" width="8" height="8">'
            f'<rect width="8" height="8" fill="#ffffff"/>{inner}</pattern>')


def _bar_summary(categories: Sequence[str], series: Sequence[BarSeries], decimals: int) -> str:
    parts = []
    for one in series:
        values = [(value, category) for category, value in zip(categories, one.values, strict=True)
                  if value is not None]
        if not values:
            continue
        if len(values) == 1:
            parts.append(_("%(name)s: %(value)s (%(category)s).")
                         % {"name": one.name, "value": _decimal(values[0][0], decimals), "category": values[0][1]})
            continue
        high = max(values, key=lambda vc: vc[0])
        low = min(values, key=lambda vc: vc[0])
        parts.append(_("%(name)s: highest %(high)s (%(high_category)s), lowest %(low)s (%(low_category)s).")
                     % {"name": one.name, "high": _decimal(high[0], decimals), "high_category": high[1],
                        "low": _decimal(low[0], decimals), "low_category": low[1]})
    return " ".join(parts) if parts else _("No figures to show.")


def bar_chart(categories: Sequence[str], series: Sequence[BarSeries], *, key: str, title: str, y_label: str,
              y_min: float, y_max: float, decimals: int = 1, category_label: str = "", note: str = "") -> Chart:
    """A grouped bar chart: for each category, one bar per series, ``y_min``..``y_max`` on the vertical axis.

    Like :func:`line_chart` it returns a :class:`Chart` (SVG with a title and a description, a text summary and
    the figures as a table); a missing value (None) draws no bar but a dash, and shows "–" in the table. ``note``
    is added to the summary (e.g. why some values are missing).
    """
    columns = [category_label or _("Group"), *[s.name for s in series]]
    rows = [[category, *["–" if (v := s.values[i]) is None else _decimal(v, decimals) for s in series]]
            for i, category in enumerate(categories)]
    summary = _bar_summary(categories, series, decimals)
    if note:
        summary = f"{summary} {note}"
    if not categories or not series:
        return Chart(key=key, title=title, svg=mark_safe(""), summary=summary, columns=columns, rows=[])
    longest = max(len(category) for category in categories)
    slot = max(len(series) * 16 + 24, 7 * longest + 12)
    width = max(WIDTH, LEFT + RIGHT + slot * len(categories))
    plot_h = HEIGHT - TOP - BOTTOM
    y_span = (y_max - y_min) or 1.0
    bar_w = (slot - 24) / len(series)

    def y_of(value: float) -> float:
        return TOP + plot_h * (1 - (min(max(value, y_min), y_max) - y_min) / y_span)

    out = [f'<svg viewBox="0 0 {width} {HEIGHT}" role="img" aria-labelledby="{key}-title {key}-desc" '
           f'xmlns="http://www.w3.org/2000/svg" focusable="false">',
           f'<title id="{key}-title">{escape(title)}</title><desc id="{key}-desc">{escape(summary)}</desc>',
           "<defs>"]
    fills = []
    for index, (colour, pattern) in enumerate(zip(itertools.cycle(COLOURS), itertools.cycle(PATTERNS),
                                                  strict=False)):
        if index == len(series):
            break
        if pattern == "solid":
            fills.append(colour)
        else:
            out.append(_pattern(key, index, pattern, colour))
            fills.append(f"url(#{key}-pattern-{index})")
    out.append('</defs><g font-size="12" fill="#1a1a1a">')
    for step in range(5):
        value = y_min + y_span * step / 4
        y = y_of(value)
        out.append(f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#767676" '
                   f'stroke-width="{1 if step else 2}"/>')
        # Ticks as precise as the axis needs: "1 000" on a scale of thousands, "0.25" on one of fractions.
        places = 0 if y_span >= 20 else 1 if y_span >= 2 else 2
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(_decimal(value, places))}</text>')
    out.append(f'<text x="12" y="{TOP + plot_h / 2:.1f}" transform="rotate(-90 12 {TOP + plot_h / 2:.1f})" '
               f'text-anchor="middle">{escape(y_label)}</text>')
    base = y_of(max(y_min, min(0.0, y_max)) if y_min <= 0 <= y_max else y_min)
    for i, category in enumerate(categories):
        x0 = LEFT + slot * i + 12
        for j, (one, colour, fill) in enumerate(zip(series, itertools.cycle(COLOURS), fills, strict=False)):
            x = x0 + bar_w * j
            bar = one.values[i]
            if bar is None:
                out.append(f'<text x="{x + bar_w / 2:.1f}" y="{base - 4:.1f}" text-anchor="middle">–</text>')
                continue
            top = y_of(bar)
            out.append(f'<rect x="{x + 1:.1f}" y="{min(top, base):.1f}" width="{bar_w - 2:.1f}" '
                       f'height="{abs(base - top):.1f}" fill="{fill}" stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{LEFT + slot * i + slot / 2:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">'
                   f'{escape(category)}</text>')
    legend_y = HEIGHT - 18
    legend_x = float(LEFT)
    for one, colour, fill in zip(series, itertools.cycle(COLOURS), fills, strict=False):
        out.append(f'<rect x="{legend_x:.1f}" y="{legend_y - 12}" width="24" height="14" fill="{fill}" '
                   f'stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{legend_x + 30:.1f}" y="{legend_y}">{escape(one.name)}</text>')
        legend_x += 40 + 7 * len(one.name)
    out.append("</g></svg>")
    return Chart(key=key, title=title, svg=mark_safe("".join(out)), summary=summary,  # noqa: S308 - escaped above
                 columns=columns, rows=rows)


# Forest plots: one row per category (e.g. a service), in it one horizontal interval per series (e.g. ATT and ATE)
# with a marker at the estimate; series differ by colour, dash pattern and marker shape (1.4.1), and a solid line
# marks zero (no effect).
FOREST_ROW = 16
FOREST_LABEL_CHARS = 42


@dataclass(frozen=True)
class Interval:
    """An estimate with its interval (in the data's own units; ``forest_plot`` multiplies them by ``scale``)."""

    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class ForestSeries:
    """One kind of interval: its value for each category, in the categories' order (None: none, e.g. hidden)."""

    name: str
    values: Sequence[Interval | None]


def _signed(value: float, places: int) -> str:
    text = _decimal(value, places)
    if round(value, places) > 0:
        return "+" + text
    return text.replace("-", "\u2212")


def _nice_step(span: float) -> float:
    """A round tick step that gives at most about six ticks over ``span``."""
    for magnitude in (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0):
        for base in (1.0, 2.0, 2.5, 5.0):
            step = base * magnitude
            if span / step <= 6:
                return step
    return span / 5 or 1.0


def _forest_summary(categories: Sequence[str], series: Sequence[ForestSeries], places: int, scale: float,
                    unit: str) -> str:
    parts = []
    for one in series:
        shown = [(category, value) for category, value in zip(categories, one.values, strict=True)
                 if value is not None]
        if not shown:
            continue
        above = sum(1 for _category, value in shown if value.low > 0)
        below = sum(1 for _category, value in shown if value.high < 0)
        top_category, top = max(shown, key=lambda cv: cv[1].estimate)
        parts.append(_("%(name)s: the interval is above zero for %(above)s of %(count)s, below zero for %(below)s "
                       "and includes zero for %(across)s. Largest: %(category)s, %(value)s (%(low)s to %(high)s).")
                     % {"name": one.name, "above": above, "count": len(shown), "below": below,
                        "across": len(shown) - above - below, "category": top_category,
                        "value": f"{_signed(top.estimate * scale, places)} {unit}".strip(),
                        "low": _signed(top.low * scale, places), "high": _signed(top.high * scale, places)})
    return " ".join(parts) if parts else _("No figures to show.")


def _short(label: str, limit: int = FOREST_LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[:limit - 1].rstrip() + "…"


def forest_plot(categories: Sequence[str], series: Sequence[ForestSeries], *, key: str, title: str, x_label: str,
                scale: float = 1.0, decimals: int = 1, unit: str = "", category_label: str = "",
                note: str = "") -> Chart:
    """A forest plot: for each category a row with one horizontal interval per series (a line from ``low`` to
    ``high`` with a marker at ``estimate``), a solid line at zero, values multiplied by ``scale`` (e.g. 100 to show
    a probability difference in percentage points, named by ``unit``).

    Like :func:`bar_chart` it returns a :class:`Chart`: SVG with a title and a description, a text summary (how
    many intervals lie above zero, below zero or across it, and the largest estimate) and the figures as a table
    (the estimate and the interval of each series). A missing value draws a dash and shows "–" in the table;
    labels longer than about 40 characters are shortened in the drawing only."""
    columns = [category_label or _("Group")]
    for one in series:
        columns += [one.name, _("%(name)s, 95 %% interval") % {"name": one.name}]
    rows = []
    for i, category in enumerate(categories):
        row = [category]
        for one in series:
            value = one.values[i]
            if value is None:
                row += ["–", "–"]
            else:
                row += [_signed(value.estimate * scale, decimals),
                        _("%(low)s to %(high)s") % {"low": _signed(value.low * scale, decimals),
                                                    "high": _signed(value.high * scale, decimals)}]
        rows.append(row)
    summary = _forest_summary(categories, series, decimals, scale, unit)
    if note:
        summary = f"{summary} {note}"
    values = [v for one in series for v in one.values if v is not None]
    if not categories or not series or not values:
        return Chart(key=key, title=title, svg=mark_safe(""), summary=summary, columns=columns, rows=[])
    low = min(0.0, *(v.low * scale for v in values))
    high = max(0.0, *(v.high * scale for v in values))
    step = _nice_step((high - low) or 1.0)
    x_min = step * (low // step)
    x_max = -step * ((-high) // step)
    if x_max - x_min < step:
        x_max = x_min + step
    labels = [_short(category) for category in categories]
    left = min(max(7 * max(len(label) for label in labels) + 16, 120), 320)
    right = 24
    band = FOREST_ROW * len(series) + 12
    top = 16
    plot_h = band * len(categories)
    legend_h = 20 * len(series)
    height = top + plot_h + 44 + legend_h
    width = max(WIDTH, left + right + 320)
    plot_w = width - left - right

    def x_of(value: float) -> float:
        return left + plot_w * (min(max(value, x_min), x_max) - x_min) / (x_max - x_min)

    out = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-labelledby="{key}-title {key}-desc" '
           f'xmlns="http://www.w3.org/2000/svg" focusable="false">',
           f'<title id="{key}-title">{escape(title)}</title><desc id="{key}-desc">{escape(summary)}</desc>',
           '<g font-size="12" fill="#1a1a1a">']
    axis_y = top + plot_h
    # every other row shaded, under everything else
    out.extend(f'<rect x="{left}" y="{top + band * i}" width="{plot_w}" height="{band}" fill="#f2f2f2"/>'
               for i in range(1, len(categories), 2))
    ticks = round((x_max - x_min) / step)
    tick_places = 0 if float(step).is_integer() else (1 if float(step * 10).is_integer() else 2)
    for index in range(ticks + 1):
        tick = x_min + step * index
        x = x_of(tick)
        if abs(tick) > 1e-9:
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{axis_y}" stroke="#767676" '
                       f'stroke-width="1" stroke-dasharray="1 3"/>')
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{axis_y}" y2="{axis_y + 5}" stroke="#1a1a1a"/>')
        out.append(f'<text x="{x:.1f}" y="{axis_y + 18}" text-anchor="middle">'
                   f'{escape(_signed(tick, tick_places) if abs(tick) > 1e-9 else "0")}</text>')
    out.append(f'<line x1="{left}" x2="{width - right}" y1="{axis_y}" y2="{axis_y}" stroke="#1a1a1a"/>')
    zero = x_of(0.0)
    out.append(f'<line x1="{zero:.1f}" x2="{zero:.1f}" y1="{top - 6}" y2="{axis_y}" stroke="#1a1a1a" '
               f'stroke-width="2"/>')
    out.append(f'<text x="{left + plot_w / 2:.1f}" y="{axis_y + 36}" text-anchor="middle">{escape(x_label)}</text>')
    styles = list(itertools.islice(zip(itertools.cycle(COLOURS), itertools.cycle(DASHES), itertools.cycle(MARKERS),
                                       strict=False), len(series)))
    for i, label in enumerate(labels):
        y0 = top + band * i
        out.append(f'<text x="{left - 8}" y="{y0 + band / 2 + 4:.1f}" text-anchor="end">{escape(label)}</text>')
        for j, one in enumerate(series):
            colour, dash, shape = styles[j]
            y = y0 + 6 + FOREST_ROW * j + FOREST_ROW / 2
            value = one.values[i]
            if value is None:
                out.append(f'<text x="{zero + 6:.1f}" y="{y + 4:.1f}">–</text>')
                continue
            x1, x2 = x_of(value.low * scale), x_of(value.high * scale)
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            out.append(f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{colour}" '
                       f'stroke-width="2.5"{dash_attr}/>')
            for end in (x1, x2):
                out.append(f'<line x1="{end:.1f}" x2="{end:.1f}" y1="{y - 4:.1f}" y2="{y + 4:.1f}" '
                           f'stroke="{colour}" stroke-width="2"/>')
            out.append(_marker(shape, x_of(value.estimate * scale), y, colour))
    legend_y = axis_y + 44
    for j, one in enumerate(series):
        colour, dash, shape = styles[j]
        y = legend_y + 20 * j + 6
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{left}" x2="{left + 36}" y1="{y - 4}" y2="{y - 4}" stroke="{colour}" '
                   f'stroke-width="2.5"{dash_attr}/>')
        out.append(_marker(shape, left + 18, y - 4, colour))
        out.append(f'<text x="{left + 44}" y="{y}">{escape(one.name)}</text>')
    out.append("</g></svg>")
    return Chart(key=key, title=title, svg=mark_safe("".join(out)), summary=summary,  # noqa: S308 - escaped above
                 columns=columns, rows=rows)
