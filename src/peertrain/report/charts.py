"""The report's two charts as inline SVG, drawn with matplotlib (no display needed).

The output is deterministic: a fixed ``svg.hashsalt`` for the element ids, no creation date in the
metadata, and text drawn as paths from matplotlib's bundled DejaVu font, so the same report gives
byte-identical SVG on every machine with the same matplotlib version. The charts show aggregates
only, never a person.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from decimal import Decimal
from html import escape
from typing import Any

__all__ = ["hours_chart", "lapses_chart"]

#: The chart width in inches: fits the 7.5 in between letter paper's margins with room to spare.
WIDTH_IN = 7.0
_COLOURS = ("#1b6ca8", "#c4622d", "#3c8d4f", "#8a8a8a")
#: matplotlib settings for both charts (typed Any: matplotlib types rc keys as literals).
_RC: Any = {
    "svg.hashsalt": "peertrain-report",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _svg(figure: Any, chart_id: str, title: str, description: str) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Title": title})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    # The SVG has a viewBox, so CSS (max-width: 100%) can scale it; give it a name and description.
    svg = svg.replace(
        "<svg ",
        f'<svg id="{chart_id}" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" ',
        1,
    )
    # matplotlib's RDF <metadata> block names outside vocabularies; the report needs none of it.
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.DOTALL)
    head_end = svg.index(">") + 1
    accessible = (
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>'
    )
    return svg[:head_end] + accessible + svg[head_end:]


def _figure(height: float) -> tuple[Any, Any]:
    from matplotlib.figure import Figure  # noqa: PLC0415 - matplotlib is imported only to draw

    figure = Figure(figsize=(WIDTH_IN, height), layout="constrained")
    return figure, figure.add_subplot()


def lapses_chart(months: Sequence[str], counts: Sequence[int], title: str, description: str) -> str:
    """A bar chart of requirements lapsing per month, as an ``<svg>`` element."""
    import matplotlib as mpl  # noqa: PLC0415

    with mpl.rc_context(_RC):
        figure, axes = _figure(2.6)
        positions = range(len(months))
        bars = axes.bar(positions, counts, color=_COLOURS[0], width=0.7)
        axes.bar_label(bars, labels=[str(c) if c else "" for c in counts], padding=2)
        axes.set_xticks(list(positions), list(months), rotation=45, ha="right")
        axes.set_ylabel("requirements lapsing")
        axes.set_ylim(0, max([*counts, 1]) * 1.2)
        axes.yaxis.get_major_locator().set_params(integer=True)
        axes.set_title(title, loc="left", fontsize=10)
        return _svg(figure, "chart-lapses", title, description)


def hours_chart(
    quarters: Sequence[str], functions: Sequence[str], hours: Sequence[Sequence[Decimal]], title: str,
    description: str,
) -> str:
    """Grouped bars of training hours per quarter, one bar per function, as an ``<svg>`` element."""
    import matplotlib as mpl  # noqa: PLC0415

    with mpl.rc_context(_RC):
        figure, axes = _figure(2.8)
        width = 0.8 / max(len(functions), 1)
        for index, function in enumerate(functions):
            values = [float(row[index]) for row in hours]
            positions = [q + (index - (len(functions) - 1) / 2) * width for q in range(len(quarters))]
            axes.bar(positions, values, width=width, label=function, color=_COLOURS[index % len(_COLOURS)])
        axes.set_xticks(list(range(len(quarters))), list(quarters))
        axes.set_ylabel("credited hours")
        axes.set_title(title, loc="left", fontsize=10)
        axes.legend(frameon=False, ncols=len(functions), loc="upper left", bbox_to_anchor=(0, -0.12))
        return _svg(figure, "chart-hours", title, description)
