"""An incident report as a readable document (Markdown) for a person at a peer, an agency or Commerce (G4).

The document is generated from the stored content only, so it says exactly what the kept report
says; its last line is the report's SHA-256, which the ledger also holds.
"""

from __future__ import annotations

from typing import Any

from cloudcip.incidents.service import IncidentReport

TITLES = {"malicious_activity": "Malicious activity", "reseller_noncompliance": "Reseller non-compliance"}


def _cell(value: Any) -> str:
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(report: IncidentReport) -> str:
    content = report.content
    account = content["account"]
    lines = [
        f"# Incident report {report.id}",
        "",
        f"- Kind: {TITLES.get(report.kind, report.kind)}",
        f"- Made: {content['created_at']}",
        f"- Account: {account['id']} ({account['type']}, {account['channel']}, state {account['state']},"
        f" opened {account['opened_at']}{', closed ' + account['closed_at'] if account.get('closed_at') else ''})",
        "",
        "## Summary",
        "",
        content["summary"],
        "",
        "## Access (IP addresses and times, from the access ledger)",
        "",
    ]
    if content["access"]:
        lines += ["| IP | first seen | last seen | count | country | ASN |", "|---|---|---|---|---|---|"]
        lines += [f"| {_cell(a['ip'])} | {_cell(a['first_seen'])} | {_cell(a['last_seen'])} | {_cell(a['count'])} |"
                  f" {_cell(a['country'])} | {_cell(a['asn'])} |" for a in content["access"]]
    else:
        lines.append("No access recorded.")
    lines += ["", "## Identifiers (masked)", ""]
    lines += [f"- {_cell(i['kind'])}: {_cell(i.get('display') or '')} {_cell(i.get('country') or '')}".rstrip()
              for i in content["identifiers"]] or ["None."]
    lines += ["", "## Indicators", ""]
    for indicator in content["indicators"]:
        window = ""
        if indicator.get("valid_from"):
            window = f" (from {indicator['valid_from']} to {indicator.get('valid_until') or 'now'})"
        lines.append(f"- {_cell(indicator['type'])}: {_cell(indicator['value'])}{window}")
    if not content["indicators"]:
        lines.append("None.")
    lines += ["", "## Actions taken", ""]
    lines += [f"- {_cell(action)}" for action in content["actions_taken"]] or ["None recorded."]
    if content.get("findings"):
        lines += ["", "## Findings", ""]
        lines += [f"- {_cell(key)}: {_cell(value)}" for key, value in sorted(content["findings"].items())]
    lines += ["", f"Report SHA-256: {report.sha256}", ""]
    return "\n".join(lines)


def _latin1(text: str) -> str:
    """The PDF core fonts cover Latin-1: anything else is shown as ``?`` (identifiers are masked ASCII)."""
    return text.encode("latin-1", "replace").decode("latin-1")


def render_pdf(report: IncidentReport) -> bytes:
    """G4: the same document as :func:`render_markdown`, laid out as a PDF (fpdf2), dated as the report
    was made so the same report gives the same file."""
    from fpdf import FPDF
    from fpdf.enums import WrapMode

    pdf = FPDF(format="A4")
    pdf.set_creation_date(report.created_at)
    pdf.set_title(f"Incident report {report.id}")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    for line in render_markdown(report).splitlines():
        if line.startswith("# "):
            pdf.set_font("Helvetica", "B", 14)
            text = line[2:]
        elif line.startswith("## "):
            pdf.ln(2)
            pdf.set_font("Helvetica", "B", 11)
            text = line[3:]
        elif line.startswith("|---"):
            continue
        else:
            pdf.set_font("Helvetica", "", 9)
            text = line
        if not text.strip():
            pdf.ln(3)
            continue
        pdf.multi_cell(0, 5, _latin1(text), new_x="LMARGIN", new_y="NEXT", wrapmode=WrapMode.CHAR)
    return bytes(pdf.output())
