"""Reports of a comparison: a terminal summary, JSON, and one self-contained HTML file."""

from moodle_regress.report.html import render_html, write_html_report
from moodle_regress.report.json_report import comparison_json, write_json_report
from moodle_regress.report.terminal import print_summary

__all__ = [
    "comparison_json",
    "print_summary",
    "render_html",
    "write_html_report",
    "write_json_report",
]
