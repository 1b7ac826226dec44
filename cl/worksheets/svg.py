"""A line plot as inline SVG, for `% display graph` in the HTML page (pure).
Axes with round-number ticks, one polyline (and point marks) per series,
a legend, axis labels.  No script, no external resource."""

import html
import math

from cl.worksheets.blocks import Series

WIDTH, HEIGHT = 640, 360
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 28, 48
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About `n` round-numbered ticks covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0]
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    first = math.floor(lo / step) * step
    out = []
    k = 0
    while first + k * step <= hi + step * 1e-9:
        out.append(round(first + k * step, 12))
        k += 1
    if out and out[-1] < hi:
        out.append(round(out[-1] + step, 12))
    return out


def _fmt(v: float) -> str:
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.6g}"


def line_plot(series: tuple[Series, ...], xlabel: str = "", ylabel: str = "", title: str = "") -> str:
    pts = [(x, y) for s in series for x, y in zip(s.xs, s.ys) if math.isfinite(x) and math.isfinite(y)]
    e = html.escape
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{e(title or ylabel or "plot")}">')
    parts = [head, f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>']
    if title:
        parts.append(f'<text x="{WIDTH / 2}" y="18" text-anchor="middle" font-size="14" '
                     f'font-weight="bold">{e(title)}</text>')
    if not pts:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" fill="#888">no data</text>')
        return "".join(parts) + "</svg>"
    xt = ticks(min(p[0] for p in pts), max(p[0] for p in pts))
    yt = ticks(min(p[1] for p in pts), max(p[1] for p in pts))
    x0, x1, y0, y1 = xt[0], xt[-1], yt[0], yt[-1]
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x):
        return LEFT + (x - x0) / ((x1 - x0) or 1) * pw

    def sy(y):
        return TOP + ph - (y - y0) / ((y1 - y0) or 1) * ph

    parts.append('<g class="grid" stroke="#e5e5e5" stroke-width="1">')
    for t in yt:
        parts.append(f'<line x1="{LEFT}" y1="{sy(t):.1f}" x2="{LEFT + pw}" y2="{sy(t):.1f}"/>')
    parts.append("</g>")
    parts.append(f'<g class="axes" stroke="#333" stroke-width="1"><line x1="{LEFT}" y1="{TOP + ph}" '
                 f'x2="{LEFT + pw}" y2="{TOP + ph}"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" '
                 f'y2="{TOP + ph}"/></g>')
    parts.append('<g class="ticks" font-size="11" fill="#333">')
    for t in xt:
        parts.append(f'<text x="{sx(t):.1f}" y="{TOP + ph + 16}" text-anchor="middle">{_fmt(t)}</text>')
    for t in yt:
        parts.append(f'<text x="{LEFT - 6}" y="{sy(t) + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    parts.append("</g>")
    if xlabel:
        parts.append(f'<text class="xlabel" x="{LEFT + pw / 2}" y="{HEIGHT - 8}" text-anchor="middle" '
                     f'font-size="12">{e(xlabel)}</text>')
    if ylabel:
        parts.append(f'<text class="ylabel" x="14" y="{TOP + ph / 2}" text-anchor="middle" font-size="12" '
                     f'transform="rotate(-90 14 {TOP + ph / 2})">{e(ylabel)}</text>')
    for i, s in enumerate(series):
        color = COLORS[i % len(COLORS)]
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(s.xs, s.ys)
                          if math.isfinite(x) and math.isfinite(y))
        parts.append(f'<polyline class="series" data-label="{e(s.label)}" fill="none" stroke="{color}" '
                     f'stroke-width="2" points="{coords}"/>')
        if len(s.xs) <= 60:
            parts.append(f'<g fill="{color}">' + "".join(
                f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5"/>' for x, y in zip(s.xs, s.ys)
                if math.isfinite(x) and math.isfinite(y)) + "</g>")
    if len(series) > 1 or (series and series[0].label):
        parts.append('<g class="legend" font-size="11">')
        for i, s in enumerate(series):
            y = TOP + 8 + i * 16
            color = COLORS[i % len(COLORS)]
            parts.append(f'<line x1="{LEFT + pw - 150}" y1="{y}" x2="{LEFT + pw - 130}" y2="{y}" '
                         f'stroke="{color}" stroke-width="2"/><text x="{LEFT + pw - 125}" y="{y + 4}">'
                         f'{e(s.label)}</text>')
        parts.append("</g>")
    return "".join(parts) + "</svg>"
