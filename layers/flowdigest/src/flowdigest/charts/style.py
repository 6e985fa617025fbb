"""One look for every chart, sized for Slack's image preview (16:9, large type)."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from flowdigest.units import byte_unit, human_bytes, human_count

WIDTH, HEIGHT = 1200, 675
COLORS = ("#1f6feb", "#e36209", "#2da44e", "#8250df", "#cf222e", "#6e7781", "#bf8700")
FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"


def figure(title: str, subtitle: str = "") -> go.Figure:
    fig = go.Figure()
    text = f"<b>{title}</b>" + (f"<br><sup>{subtitle}</sup>" if subtitle else "")
    fig.update_layout(
        title={"text": text, "x": 0.01, "xanchor": "left", "font": {"size": 26}},
        font={"family": FONT, "size": 18, "color": "#24292f"},
        paper_bgcolor="white",
        plot_bgcolor="white",
        colorway=list(COLORS),
        margin={"l": 90, "r": 40, "t": 110, "b": 80},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
        bargap=0.25,
    )
    fig.update_xaxes(showgrid=False, linecolor="#8c959f", automargin=True)
    fig.update_yaxes(gridcolor="#eaeef2", zeroline=False, automargin=True)
    return fig


def scale_bytes(values: Sequence[float]) -> tuple[list[float], str]:
    """Values divided into the one binary unit that suits the largest; and that unit."""
    div, unit = byte_unit(max([abs(v) for v in values] or [0]))
    return [v / div for v in values], unit


def byte_divisor(values: Sequence[float]) -> tuple[float, str]:
    """The divisor and unit scale_bytes would use, for charts with several series."""
    return byte_unit(max([abs(v) for v in values] or [0]))


def shorten(label: str, limit: int = 34) -> str:
    """Keeps axis labels from overlapping: long ones are cut in the middle."""
    return label if len(label) <= limit else label[: limit // 2 - 1] + "…" + label[-(limit // 2 - 1):]


def empty_note(fig: go.Figure, text: str) -> go.Figure:
    fig.add_annotation(text=text, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                       font={"size": 22, "color": "#57606a"})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def top_bars(title: str, subtitle: str, labels: list[str], values: list[float], *, empty: str,
             is_bytes: bool = True, axis_title: str = "", color: str = COLORS[0]) -> go.Figure:
    """A top-N chart: horizontal bars, largest at the top, each labelled with its value."""
    fig = figure(title, subtitle)
    if not values:
        return empty_note(fig, empty)
    labels, values = [shorten(x, 40) for x in reversed(labels)], list(reversed(values))
    if is_bytes:
        shown, axis_title = scale_bytes(values)
        texts = [human_bytes(v) for v in values]
    else:
        shown, texts = values, [human_count(v) for v in values]
    fig.add_bar(y=labels, x=shown, orientation="h", marker_color=color, text=texts, textposition="auto")
    fig.update_xaxes(title_text=axis_title)
    fig.update_yaxes(type="category", tickfont={"size": 15})
    return fig


def top_bars_side_by_side(title: str, subtitle: str, panels: Sequence[tuple[str, list[str], list[float]]], *,
                          colors: Sequence[str] = COLORS) -> go.Figure:
    """Two (or more) top-N byte charts beside each other, one heading each: (heading, labels, values)."""
    from plotly.subplots import make_subplots

    base = figure(title, subtitle)
    fig = make_subplots(rows=1, cols=len(panels), horizontal_spacing=0.26 / len(panels),
                        subplot_titles=[p[0] for p in panels], figure=base)
    for col, ((_, labels, values), color) in enumerate(zip(panels, colors, strict=False), 1):
        if not values:
            continue
        div, unit = byte_divisor(values)
        fig.add_bar(y=[shorten(x, 32) for x in reversed(labels)], x=[v / div for v in reversed(values)],
                    orientation="h", marker_color=color, text=[human_bytes(v) for v in reversed(values)],
                    textposition="auto", showlegend=False, row=1, col=col)
        fig.update_xaxes(title_text=unit, row=1, col=col)
        fig.update_yaxes(type="category", tickfont={"size": 14}, row=1, col=col)
    fig.update_annotations(font={"size": 18})
    return fig
