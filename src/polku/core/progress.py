"""A progress line on stderr for long command-line work (the synthetic generator, register imports)."""

from __future__ import annotations

import sys
import time
from typing import Any


class Progress:
    """A progress bar on one line of ``stream`` (default stderr): items done, rate, time elapsed and left.

    ``label`` starts the line (the command's name) and ``unit`` names what is counted.
    """

    def __init__(self, total: int, stream: Any = None, enabled: bool = True, *, label: str = "synth",
                 unit: str = "clients") -> None:
        self.total, self.done, self.started = total, 0, time.monotonic()
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.label, self.unit = label, unit

    def note(self, message: str) -> None:
        if self.enabled:
            elapsed = time.monotonic() - self.started
            self.stream.write(f"{self.label}: {message} ({elapsed:,.0f}s elapsed)\n")
            self.stream.flush()

    def update(self, count: int) -> None:
        self.done += count
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed else 0
        left = (self.total - self.done) / rate if rate else 0
        width = 30
        filled = int(width * self.done / self.total) if self.total else width
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done:,}/{self.total:,} {self.unit} "
            f"{rate:,.0f}/s, {elapsed:,.0f}s elapsed, ~{left:,.0f}s left "
        )
        if self.done >= self.total:
            self.stream.write("\n")
        self.stream.flush()

    def finish(self) -> None:
        """End the line if the count fell short of the total (the total was an estimate)."""
        if self.enabled and 0 < self.done < self.total:
            self.stream.write("\n")
            self.stream.flush()
