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
