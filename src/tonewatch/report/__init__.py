"""Per-client reports: clients.json, HTML pages with timeline plots and evidence, summary.md."""

from tonewatch.report.writers import ReportFiles, clients_document, write_report

__all__ = ["ReportFiles", "clients_document", "write_report"]
