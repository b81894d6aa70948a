"""The evidence pack as a reader gets it (F2): JSON, HTML with inline SVG bar charts (no script, no CDN,
readable offline), or PDF (``fpdf2``, pure Python, the maintained successor of PyFPDF).

Each figure is printed with the SQL that produced it; grouped figures are drawn as horizontal bars.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from cloudcip.exemptions.evidence import figure_queries

BAR_WIDTH = 320


def _label(name: str) -> str:
    return name.replace("_", " ")


def svg_bars(by: dict[str, dict[str, Any]], column: str = "count") -> str:
    """A horizontal bar chart of ``by[key][column]`` as inline SVG (empty string when nothing to draw)."""
    items = [(key, float(values.get(column, 0) or 0)) for key, values in by.items()]
    if not items:
        return ""
    top = max(value for _, value in items) or 1.0
    height = 22 * len(items) + 6
    rows = []
    for index, (key, value) in enumerate(items):
        y = 4 + index * 22
        width = max(1, int(BAR_WIDTH * value / top)) if value else 0
        shown = int(value) if value.is_integer() else round(value, 2)
        rows.append(f'<text x="0" y="{y + 14}" font-size="12">{escape(_label(key))}</text>'
                    f'<rect x="180" y="{y + 2}" width="{width}" height="16" fill="#2b6cb0"/>'
                    f'<text x="{186 + width}" y="{y + 14}" font-size="12">{shown}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{180 + BAR_WIDTH + 60}" '
            f'height="{height}" aria-label="bar chart">{"".join(rows)}</svg>')


def _time_bands(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {band: {"count": values.get(band, 0)} for band in ("within_1h", "within_24h", "within_7d", "over_7d")}


def _figure_html(name: str, figure: Any) -> str:
    if not isinstance(figure, dict):
        return ""
    parts = [f"<h3>{escape(_label(name))}</h3>"]
    if "value" in figure:
        parts.append(f'<p class="figure">{escape(str(figure["value"]))}</p>')
        if figure.get("definition"):
            parts.append(f"<p><em>{escape(str(figure['definition']))}</em></p>")
    elif "by" in figure:
        if figure["by"]:
            table = "".join(f"<tr><td>{escape(_label(key))}</td>"
                            + "".join(f"<td>{escape(f'{column}: {value}')}</td>" for column, value in values.items())
                            + "</tr>" for key, values in figure["by"].items())
            parts.append(svg_bars(figure["by"]) + f"<table>{table}</table>")
        else:
            parts.append("<p>none in the period</p>")
    elif "values" in figure:
        values = figure["values"]
        parts.append("<p>" + ", ".join(escape(f"{_label(k)}: {v}") for k, v in values.items()) + "</p>")
        if "within_1h" in values:
            parts.append(svg_bars(_time_bands(values)))
    return "".join(parts)


PACK_CSS = ("body{font-family:sans-serif;max-width:60em;margin:2em auto}"
            "pre{white-space:pre-wrap;background:#f4f4f4;padding:.5em}"
            ".figure{font-size:1.6em;margin:0}td{padding:0 .8em}")


def render_html(pack: dict[str, Any], *, stylesheet: str | None = None) -> str:
    """The pack as one HTML page: figures, charts, then every query. Self-contained (``PACK_CSS`` in a
    ``<style>`` element) by default; with ``stylesheet``, the same rules linked from that URL instead (the
    console serves them so that its Content-Security-Policy, ``style-src 'self'``, need not allow an
    inline style)."""
    body = []
    for section in pack["sections"].values():
        body.append(f"<section><h2>{escape(section['title'])}</h2>")
        if section.get("in_use") is False:
            body.append(f"<p><strong>not in use:</strong> {escape(section.get('note', ''))}</p>")
        body.extend(_figure_html(name, figure) for name, figure in section.items())
        body.append("</section>")
    queries = "".join(f"<li><code>{escape(name)}</code><pre>{escape(sql)}</pre></li>"
                      for name, sql in figure_queries(pack))
    period = pack["period"]
    style = (f'<link rel="stylesheet" href="{escape(stylesheet)}">' if stylesheet is not None
             else f"<style>{PACK_CSS}</style>")
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Abuse-deterrence evidence "
            f"{escape(period['from'])} to {escape(period['to'])}</title>{style}</head><body>"
            f"<h1>Abuse-deterrence program: evidence for an exemption (EO 13984 sec. 1(c))</h1>"
            f"<p>Period {escape(period['from'])} to {escape(period['to'])} (end excluded); generated "
            f"{escape(pack['generated_at'])} from cloudcip's records ({escape(pack.get('engine', ''))}). Each figure "
            "is reproducible with the query listed at the end and the parameters "
            f"<code>{escape(json.dumps(pack.get('parameters', {})))}</code>.</p>"
            + "".join(body) + f"<section><h2>Queries</h2><ol>{queries}</ol></section></body></html>")


def _ascii(text: str) -> str:
    """The core PDF fonts are Latin-1: anything else becomes ``?`` (the pack holds no personal data)."""
    return text.encode("latin-1", "replace").decode("latin-1")


def _para(pdf: Any, width: float, height: float, text: str) -> None:
    """A paragraph, the cursor then at the left margin of the next line."""
    pdf.multi_cell(width, height, text, new_x="LMARGIN", new_y="NEXT")


def render_pdf(pack: dict[str, Any]) -> bytes:
    """The pack as PDF: each section's figures with bars drawn as rectangles, then the queries."""
    from fpdf import FPDF

    pdf = FPDF(format="Letter")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    period = pack["period"]
    _para(pdf, 0, 8, _ascii("Abuse-deterrence program: evidence for an exemption (EO 13984 sec. 1(c))"))
    pdf.set_font("Helvetica", size=10)
    _para(pdf, 0, 6, _ascii(f"Period {period['from']} to {period['to']} (end excluded); generated "
                                f"{pack['generated_at']}. Each figure is reproducible with the query listed "
                                "at the end."))
    for section in pack["sections"].values():
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 12)
        _para(pdf, 0, 7, _ascii(section["title"]))
        pdf.set_font("Helvetica", size=10)
        if section.get("in_use") is False:
            _para(pdf, 0, 6, _ascii(f"not in use: {section.get('note', '')}"))
        for name, figure in section.items():
            if not isinstance(figure, dict):
                continue
            if "value" in figure:
                _para(pdf, 0, 6, _ascii(f"{_label(name)}: {figure['value']}"))
            elif "by" in figure:
                _para(pdf, 0, 6, _ascii(f"{_label(name)}: {figure['total'] if figure['by'] else 'none'}"))
                top = max((float(v.get("count", 0) or 0) for v in figure["by"].values()), default=0) or 1
                for key, values in figure["by"].items():
                    count = float(values.get("count", 0) or 0)
                    pdf.cell(60, 5, _ascii(f"  {_label(key)}"))
                    x, y = pdf.get_x(), pdf.get_y()
                    pdf.set_fill_color(43, 108, 176)
                    if count:
                        pdf.rect(x, y + 1, max(0.5, 90 * count / top), 3.5, style="F")
                    pdf.set_x(x + 95)
                    pdf.cell(0, 5, _ascii(", ".join(f"{c}: {v}" for c, v in values.items())),
                             new_x="LMARGIN", new_y="NEXT")
            elif "values" in figure:
                _para(pdf, 0, 6, _ascii(f"{_label(name)}: " + ", ".join(
                    f"{_label(k)} {v}" for k, v in figure["values"].items())))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 8, "Queries", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Courier", size=7)
    for name, sql in figure_queries(pack):
        _para(pdf, 0, 4, _ascii(f"{name}: {sql}"))
        pdf.ln(1)
    return bytes(pdf.output())


__all__ = ["PACK_CSS", "render_html", "render_pdf", "svg_bars"]
