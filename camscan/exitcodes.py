"""The exit codes camscan promises (a contract for cron jobs and scripts; the README's table lists them)."""

from __future__ import annotations

EXIT_CLEAN = 0  # the scan finished and nothing is watchlisted
EXIT_WATCHLISTED = 1  # something found is watchlisted (whether or not the scan finished)
EXIT_BAD_INPUT = 2  # bad input: one line on stderr, before the first packet
EXIT_FAILED = 3  # the scan itself failed, or a second signal aborted it before a report was written
EXIT_INCOMPLETE = 4  # the scan did not finish (deadline, signal) and nothing found so far is watchlisted
EXIT_REPORT_FAILED = 5  # the scan ran, but its report could not be written (the findings went to stderr)
EXIT_LOCKED = 6  # camscan sweep: a sweep of that site is already running (nothing was scanned)
