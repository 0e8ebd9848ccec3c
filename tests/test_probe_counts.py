"""tests/conftest.py's probe counters: count_case adds up per category and the summary prints them."""

from __future__ import annotations

import collections

from tests import conftest


class _Reporter:
    """The two calls of pytest's terminal reporter the summary hook makes, recorded."""

    def __init__(self):
        self.lines = []

    def section(self, title):
        self.lines.append(f"== {title}")

    def write_line(self, line):
        self.lines.append(line)


def test_counted_probes_are_summed_per_category_and_printed_in_order(monkeypatch):
    monkeypatch.setattr(conftest, "PROBE_COUNTS", collections.Counter())
    conftest.count_case("odd-input probes")
    conftest.count_case("budget checks", 2)
    conftest.count_case("budget checks")
    reporter = _Reporter()
    conftest.pytest_terminal_summary(reporter)
    assert reporter.lines == ["== cnnkit probe counts", "budget checks: 3", "odd-input probes: 1"]


def test_a_run_that_counted_nothing_prints_no_section(monkeypatch):
    monkeypatch.setattr(conftest, "PROBE_COUNTS", collections.Counter())
    reporter = _Reporter()
    conftest.pytest_terminal_summary(reporter)
    assert reporter.lines == []
