"""The dashboard's sales and profit chart as a self-contained, accessible SVG (no JavaScript):
sales as bars, store profit as a line, with a title, a description and a text table fallback
given by the caller."""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 28


def sales_profit_svg(buckets, *, title: str, description: str, money) -> Markup:
    """`buckets`: label, sales_cents, profit_cents; `money(cents)` formats axis values."""
    values = [b.sales_cents for b in buckets] + [b.profit_cents for b in buckets]
    high = max([0, *values]) or 100
    low = min([0, *values])
    span = high - low
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    count = max(len(buckets), 1)
    step = plot_w / count

    def y(cents: int) -> float:
        return TOP + plot_h * (high - cents) / span

    zero = y(0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-title chart-desc" class="sales-chart" id="sales-chart">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<desc id="chart-desc">{escape(description)}</desc>',
        f'<line x1="{LEFT}" y1="{zero:.1f}" x2="{WIDTH - RIGHT}" y2="{zero:.1f}" '
        'stroke="currentColor" stroke-opacity="0.4"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 10}" text-anchor="end" font-size="11">'
        f"{escape(money(high))}</text>",
        f'<text x="{LEFT - 6}" y="{zero + 4:.1f}" text-anchor="end" font-size="11">'
        f"{escape(money(0))}</text>",
    ]
    if low < 0:
        parts.append(
            f'<text x="{LEFT - 6}" y="{HEIGHT - BOTTOM:.1f}" text-anchor="end" font-size="11">'
            f"{escape(money(low))}</text>"
        )
    label_every = 1 if count <= 12 else (2 if count <= 24 else 5)
    points = []
    for i, bucket in enumerate(buckets):
        x = LEFT + i * step
        top = y(max(bucket.sales_cents, 0))
        parts.append(
            f'<rect class="bar-sales" x="{x + step * 0.15:.1f}" y="{top:.1f}" '
            f'width="{step * 0.7:.1f}" height="{max(zero - top, 0):.1f}" fill="#4f7cff" '
            f'data-label="{escape(bucket.label)}" data-sales="{bucket.sales_cents}">'
            f"<title>{escape(bucket.label)}: {escape(money(bucket.sales_cents))}</title></rect>"
        )
        points.append(f"{x + step / 2:.1f},{y(bucket.profit_cents):.1f}")
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" '
                f'font-size="10">{escape(bucket.label)}</text>'
            )
    parts.append(
        f'<polyline class="line-profit" points="{" ".join(points)}" fill="none" '
        'stroke="#18a058" stroke-width="2"/>'
    )
    for i, bucket in enumerate(buckets):
        cx = LEFT + i * step + step / 2
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{y(bucket.profit_cents):.1f}" r="2.5" fill="#18a058" '
            f'data-profit="{bucket.profit_cents}"/>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
