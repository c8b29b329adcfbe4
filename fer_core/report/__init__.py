"""The one-file HTML report of a run: ``compute`` gathers its numbers and images into ``content``;
``html``, ``sections`` and ``faces`` render them; ``page`` puts the page together and writes it."""

from fer_core.report.compute import compute_report
from fer_core.report.content import ReportData
from fer_core.report.page import page, write_report

__all__ = ["ReportData", "compute_report", "page", "write_report"]
