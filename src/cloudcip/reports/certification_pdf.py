"""The CIP certification form as PDF (H1): ``cloudcip certification render --format pdf`` and
``GET /v1/certification?format=pdf``.

The same form as the JSON and HTML renderings (``reports.certification``), laid out with fpdf2 (a
maintained PDF writer, pure Python): the eight items of H1 in order, each figure followed by a
``[query]`` link to the page of the appendix that shows the SQL which produced it. The PDF carries
the form's generation time as its creation date, so the same form gives the same document.

The PDF's built-in fonts cover Latin-1 only: text outside it (a foreign reseller's name in another
script, say) is romanised with anyascii; the JSON and HTML renderings carry it as written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from anyascii import anyascii
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from cloudcip import clock
from cloudcip.reports.certification import form_queries

BODY, SMALL, CODE = 10, 8, 7
LINE = 5.0


def latin1(text: object) -> str:
    """``text`` in the core fonts' Latin-1, other characters romanised (see the module docstring)."""
    value = str(text)
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return "".join(ch if ord(ch) < 256 else anyascii(ch) for ch in value)
    return value


class _Form(FPDF):
    """A page with the form's name and page number at the foot."""

    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=SMALL)
        self.cell(0, LINE, latin1(f"{self.footer_text} - page {self.page_no()}"), align="C")


class _Writer:
    def __init__(self, form: dict[str, Any]) -> None:
        self.form = form
        self.pdf = _Form(format="A4")
        self.pdf.footer_text = f"CIP certification as of {form['as_of']}"
        self.pdf.set_margins(18, 18, 18)
        self.pdf.set_auto_page_break(auto=True, margin=18)
        generated = clock.parse_instant(form["generated_at"], "generated_at") if form.get("generated_at") else None
        self.pdf.set_creation_date(generated or datetime(2000, 1, 1, tzinfo=UTC))
        self.pdf.set_title(latin1(f"CIP certification as of {form['as_of']}"))
        self.pdf.set_author("cloudcip")
        self.queries = form_queries(form)
        self.links = {key: f"#query-{key}" for key, _sql in self.queries}  # named destinations in the appendix

    # -- text --------------------------------------------------------------------------------
    def heading(self, text: str, size: int = 13) -> None:
        self.pdf.ln(2)
        self.pdf.set_font("Helvetica", "B", size)
        self.pdf.multi_cell(0, LINE + 2, latin1(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.set_font("Helvetica", size=BODY)

    def para(self, text: str) -> None:
        self.pdf.set_font("Helvetica", size=BODY)
        self.pdf.multi_cell(0, LINE, latin1(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def figure(self, label: str, value: object, key: str | None) -> None:
        """``label: value`` and, where the figure has a query, a link to it."""
        self.pdf.set_font("Helvetica", size=BODY)
        text = latin1(f"{label}: {value}")
        if key is None or key not in self.links:
            self.pdf.multi_cell(0, LINE, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            return
        width = self.pdf.epw - 16
        if self.pdf.get_y() + 2 * LINE > self.pdf.page_break_trigger:
            self.pdf.add_page()
        start = self.pdf.get_y()
        self.pdf.multi_cell(width, LINE, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        end = self.pdf.get_y()
        self.pdf.set_xy(self.pdf.l_margin + width, start)
        self.pdf.set_text_color(0, 0, 160)
        self.pdf.set_font("Helvetica", "U", SMALL)
        self.pdf.cell(16, LINE, "[query]", link=self.links[key])
        self.pdf.set_text_color(0, 0, 0)
        self.pdf.set_font("Helvetica", size=BODY)
        self.pdf.set_xy(self.pdf.l_margin, end)

    def table(self, header: tuple[str, ...], rows: list[tuple[object, ...]],
              widths: tuple[int, ...] | None = None) -> None:
        self.pdf.set_font("Helvetica", size=SMALL)
        with self.pdf.table(col_widths=widths, text_align="LEFT", line_height=LINE - 1,
                            first_row_as_headings=True) as table:
            table.row([latin1(cell) for cell in header])
            for row in rows:
                table.row([latin1(cell) for cell in row])
        self.pdf.set_font("Helvetica", size=BODY)
        self.pdf.ln(1)

    def grouped(self, key: str, figure: dict[str, Any]) -> None:
        self.figure("Total", figure["total"], key)
        if figure["by_country"]:
            self.table(("country", "number"), [(country, count) for country, count in figure["by_country"].items()],
                       (1, 1))

    # -- the form ------------------------------------------------------------------------------
    def write(self) -> bytes:
        form, items = self.form, self.form["items"]
        self.pdf.add_page()
        self.heading("Customer Identification Program certification", 16)
        self.para(f"As of {form['as_of']}; generated {form['generated_at']} from the live records, under CIP "
                  f"policy {form['policy']['id']} version {form['policy']['version']}.")

        procedures = items["verification_procedures"]
        self.heading("1. Verification procedures")
        self.para(f"{procedures['source']}.")
        self.table(("rule", "applies to", "verification", "while pending", "on failure"),
                   [(r["rule"], r["applies_to"], r["verification"],
                     f"{', '.join(r['pending_restrictions']) or 'no restriction'}; deadline {r['deadline_days']} days",
                     r["failure_action"]) for r in procedures["rules"]], (3, 4, 6, 4, 2))

        detection = items["detection_resources"]
        self.heading("2. Resources used to detect malicious activity")
        lists = detection["screening_lists"]["value"]
        for entry in lists:
            self.figure(f"Screening list {entry['source']} version {entry['version']}",
                        f"{entry['parties']} parties, imported {entry['imported_at']}", "screening_lists")
        if not lists:
            self.figure("Screening lists", "none imported", "screening_lists")
        self.figure("Special measures in force", detection["special_measures_in_force"]["value"],
                    "special_measures_in_force")
        self.figure("Access signals", ", ".join(detection["access_signals"]["value"]), None)
        datasets = detection["ip_intelligence_datasets"]["value"]
        self.figure("IP intelligence datasets",
                    ", ".join(f"{kind} {count}" for kind, count in datasets.items()) or "none",
                    "ip_intelligence_datasets")
        self.figure("Linkage of shared identifiers", "in use" if detection["linkage"]["value"] else "not installed",
                    None)

        oversight = items["reseller_oversight"]
        self.heading("3. Reseller oversight procedures")
        for text in oversight["procedures"]:
            self.para(f"- {text}")
        self.figure("Reseller Accounts", oversight["reseller_accounts"]["value"], "reseller_accounts")
        self.figure("Active sub-lessees", oversight["active_sub_lessees"]["value"], "active_sub_lessees")
        self.figure("Completed sub-lessee re-screening runs", oversight["sub_lessee_rescreening_runs"]["value"],
                    "sub_lessee_rescreening_runs")
        for key, label in (("reseller_reviews_sampled", "Reseller reviews with a drawn sample"),
                           ("reseller_findings_of_non_compliance", "Findings of non-compliance or malicious activity"),
                           ("resellers_terminated", "Reseller relationships terminated")):
            if key in oversight:
                self.figure(label, oversight[key]["value"], key)

        contact = items["cip_contact"]
        self.heading("4. CIP contact")
        if contact:
            self.para("; ".join(str(part) for part in (
                contact["name"] + (f", {contact['title']}" if contact.get("title") else ""), contact["email"],
                contact.get("phone"), f"since {contact['since']}") if part))
        else:
            self.para("Not set. Set it with `cloudcip reporting contact set` before filing.")

        self.heading("5. Number and locations of customers")
        self.grouped("customers", items["customers"])
        self.heading("6. Number and locations of foreign beneficial owners")
        self.grouped("foreign_beneficial_owners", items["foreign_beneficial_owners"])

        resellers = items["foreign_resellers"]
        self.heading("7. Foreign resellers")
        self.figure("Foreign resellers", len(resellers["value"]), "foreign_resellers")
        if resellers["value"]:
            self.table(("name", "country", "Reseller Account"),
                       [(r["name"], r["country"] or "unknown", r["account_id"]) for r in resellers["value"]], (3, 1, 3))

        self.heading("8. Foreign customers' accounts whose identity is not verified")
        self.figure("Accounts", items["unverified_foreign_accounts"]["value"], "unverified_foreign_accounts")

        self.pdf.add_page()
        self.heading("Queries", 14)
        for key, sql in self.queries:
            self.pdf.set_link(name=f"query-{key}", y=self.pdf.get_y(), page=self.pdf.page_no())
            self.heading(key, 11)
            self.pdf.set_font("Courier", size=CODE)
            self.pdf.multi_cell(0, LINE - 1.5, latin1(sql), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.pdf.ln(2)
        return bytes(self.pdf.output())


def render_pdf(form: dict[str, Any]) -> bytes:
    """The certification form (as ``CertificationService.render`` returns it) as a PDF document."""
    return _Writer(form).write()


__all__ = ["render_pdf"]
