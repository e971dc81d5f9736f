"""A one-line progress bar with rows/s, for a person watching a terminal.

Only when the stream is a terminal: piped or captured, the job stays quiet, so stderr
carries nothing but its logs. Redrawn at most every `INTERVAL` seconds, checked every
`STEP` rows, so it costs nothing measurable per row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Final, TextIO, TypeVar

T = TypeVar("T")

STEP: Final = 4096
INTERVAL: Final = 0.2
WIDTH: Final = 24


class Progress:
    def __init__(
        self, stream: TextIO, label: str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._stream = stream
        self._label = label
        self._clock = clock
        self._started = self._drawn = clock()
        self.enabled = stream.isatty()

    def show(self, rows: int, fraction: float | None, *, force: bool = False) -> None:
        now = self._clock()
        if not self.enabled or (not force and now - self._drawn < INTERVAL):
            return
        self._drawn = now
        rate = rows / max(now - self._started, 1e-9)
        self._stream.write(f"\r{self._label} {_bar(fraction)} {rows:,} rows  {rate:,.0f} rows/s")
        self._stream.flush()

    def finish(self, rows: int) -> None:
        self.show(rows, 1.0, force=True)
        if self.enabled:
            self._stream.write("\n")


def tracked(
    items: Iterable[T], progress: Progress, fraction: Callable[[int], float | None]
) -> Iterator[T]:
    """`items`, unchanged, drawing `progress` on the way; `fraction(rows)` says how far.
    Not drawn, `items` themselves: no step added per row."""
    if not progress.enabled:
        return iter(items)
    return _drawing(items, progress, fraction)


def _drawing(
    items: Iterable[T], progress: Progress, fraction: Callable[[int], float | None]
) -> Iterator[T]:
    rows = 0
    for rows, item in enumerate(items, 1):
        if rows % STEP == 0:
            progress.show(rows, fraction(rows))
        yield item
    progress.finish(rows)


def _bar(fraction: float | None) -> str:
    if fraction is None:
        return ""
    done = min(max(fraction, 0.0), 1.0)
    filled = round(done * WIDTH)
    return f"[{'#' * filled}{'.' * (WIDTH - filled)}] {done:4.0%}"
