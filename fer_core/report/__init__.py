"""The one-file HTML report of a run: ``compute`` gathers its numbers and images, the rest renders them."""

from fer_core.report.compute import compute_report, write_report

__all__ = ["compute_report", "write_report"]
