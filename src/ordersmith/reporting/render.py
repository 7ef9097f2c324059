"""A report's result as JSON (for the API), CSV, XLSX and an SVG chart (ADR 0023).

Money is written as a plain decimal amount beside the row's currency column (never a float); percentages with one
decimal place. The SVG is drawn server-side by pygal with no script in it (its tooltip script and the config it
sets are stripped) and carries an accessible title and description, so it reads the same without JavaScript.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pygal
import xlsxwriter
from pygal.style import Style

from ordersmith.kernel.money import Money
from ordersmith.reporting.rules import Column, ReportResult

# What the SVG endpoint answers with: the chart's own inline styles, nothing else (no scripts, no fetches).
SVG_CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


def cell(column: Column, value: Any) -> str | int | None:
    """A value as text (or a whole number) for JSON and CSV."""
    if value is None:
        return None
    if isinstance(value, Money):
        return str(value.amount)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, int):
        return value
    return str(value)


def to_json(result: ReportResult) -> dict[str, Any]:
    spec = result.spec
    return {
        "name": spec.name,
        "title": spec.title,
        "parameters": {
            k: (v.isoformat() if isinstance(v, date) else v) for k, v in result.parameters.items()
        },
        "generated_at": result.generated_at.isoformat(),
        "replica_lag_s": None if result.replica_lag_s is None else str(result.replica_lag_s),
        "columns": [
            {"name": c.name, "label": c.label, "type": c.kind, "currency_column": c.currency_column}
            for c in spec.columns
        ],
        "rows": [{c.name: cell(c, row[c.name]) for c in spec.columns} for row in result.rows],
    }


def to_csv(result: ReportResult) -> Iterator[str]:
    """The rows as CSV lines: a header of column names, then one line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    columns = result.spec.columns
    writer.writerow([c.name for c in columns])
    for row in result.rows:
        writer.writerow(["" if (v := cell(c, row[c.name])) is None else v for c in columns])
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def to_xlsx(result: ReportResult) -> bytes:
    """One worksheet: the labels as the header, money as numbers formatted to two places beside their currency,
    dates as dates. Written in constant-memory mode (row by row to a temporary file)."""
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as handle:
        workbook = xlsxwriter.Workbook(handle.name, {"constant_memory": True})
        sheet = workbook.add_worksheet(result.spec.name[:31])
        bold = workbook.add_format({"bold": True})
        formats = {
            "money": workbook.add_format({"num_format": "#,##0.00"}),
            "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
            "percent": workbook.add_format({"num_format": "0.0"}),
        }
        columns = result.spec.columns
        for n, column in enumerate(columns):
            sheet.write_string(0, n, column.label, bold)
            sheet.set_column(n, n, max(10, len(column.label) + 2))
        for r, row in enumerate(result.rows, start=1):
            for n, column in enumerate(columns):
                write_cell(sheet, r, n, column.kind, row[column.name], formats)
        workbook.close()
        handle.seek(0)
        return handle.read()


def write_cell(sheet: Any, r: int, n: int, kind: str, value: Any, formats: dict[str, Any]) -> None:
    """One typed cell."""
    if value is None:
        sheet.write_blank(r, n, None)
    elif isinstance(value, Money):
        sheet.write_number(r, n, value.amount, formats["money"])
    elif isinstance(value, date):
        sheet.write_datetime(r, n, value, formats["date"])
    elif isinstance(value, bool):
        sheet.write_boolean(r, n, value)
    elif isinstance(value, int | Decimal):
        sheet.write_number(r, n, value, formats["percent"] if kind == "percent" else None)
    else:
        sheet.write_string(r, n, str(value))


_CHARTS = {"line": pygal.Line, "bar": pygal.Bar, "stacked_bar": pygal.StackedBar, "pie": pygal.Pie}
_STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#1f2937",
    foreground_strong="#111827",
    foreground_subtle="#6b7280",
    font_family="system-ui, sans-serif",
    colors=("#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2", "#65a30d", "#db2777"),
)
_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.DOTALL)


def _number(value: Any) -> float | None:
    """A chart coordinate. Charts plot positions, not amounts: the figures themselves stay exact in the table."""
    if value is None:
        return None
    if isinstance(value, Money):
        return float(value.amount)
    return float(value)


def chart_series(result: ReportResult) -> tuple[list[str], dict[str, list[float | None]]]:
    """The chart's x labels and, per series, its y value at each label (None where a series has no row)."""
    chart = result.spec.chart
    labels: list[str] = []
    for row in result.rows:
        label = _label(row[chart.x])
        if label not in labels:
            labels.append(label)
    series: dict[str, list[float | None]] = {}
    for row in result.rows:
        name = _series_name(result, row)
        values = series.setdefault(name, [None] * len(labels))
        at = labels.index(_label(row[chart.x]))
        y = _number(row[chart.y])
        values[at] = y if values[at] is None or y is None else (values[at] or 0) + y
    return labels, series


def _label(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return "(none)" if value in (None, "") else str(value)


def _series_name(result: ReportResult, row: dict[str, Any]) -> str:
    chart, spec = result.spec.chart, result.spec
    parts = [_label(row[chart.series])] if chart.series else []
    y = spec.column(chart.y)
    if y.currency_column and row.get(y.currency_column):
        parts.append(str(row[y.currency_column]))
    return " ".join(parts) or spec.column(chart.y).label


def describe(result: ReportResult) -> str:
    """A sentence a screen reader says for the chart."""
    chart, spec = result.spec.chart, result.spec
    labels, series = chart_series(result)
    if not labels:
        return f"{spec.title}: no data for these parameters."
    return (
        f"{spec.column(chart.y).label} by {spec.column(chart.x).label.lower()}"
        f"{' per ' + spec.column(chart.series).label.lower() if chart.series else ''}: {len(labels)} "
        f"{'point' if len(labels) == 1 else 'points'} from {labels[0]} to {labels[-1]}, "
        f"{len(series)} series ({', '.join(sorted(series))}). "
        "The table holds the exact figures."
    )


def to_svg(result: ReportResult, *, width: int = 800, height: int = 400) -> str:
    """The report's chart as a standalone SVG document (no script), titled and described for screen readers."""
    chart, spec = result.spec.chart, result.spec
    labels, series = chart_series(result)
    drawing = _CHARTS[chart.kind](
        js=[],
        title=spec.title,
        width=width,
        height=height,
        style=_STYLE,
        disable_xml_declaration=True,
        explicit_size=True,  # width and height on the root: an <img> of it has the chart's own size
        x_label_rotation=30 if len(labels) > 8 else 0,
        show_legend=len(series) > 1 or chart.kind == "pie",
        no_data_text="No data",
        y_title=None if chart.kind == "pie" else spec.column(chart.y).label,
    )
    if chart.kind == "pie":
        for n, label in enumerate(labels):
            drawing.add(label, sum((values[n] or 0) for values in series.values()))
    else:
        drawing.x_labels = labels
        for name, values in sorted(series.items()):
            drawing.add(name, values)
    svg = _SCRIPT.sub("", drawing.render(is_unicode=True))
    return _accessible(svg, spec.title, describe(result))


def _accessible(svg: str, title: str, description: str) -> str:
    from html import escape

    head_end = svg.index(">") + 1
    head = svg[:head_end]
    head = head.replace("<svg ", '<svg role="img" aria-labelledby="chart-title chart-desc" ', 1)
    return (
        f'{head}<title id="chart-title">{escape(title)}</title>'
        f'<desc id="chart-desc">{escape(description)}</desc>{svg[head_end:]}'
    )
