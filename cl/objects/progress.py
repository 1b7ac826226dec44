"""Progress of long work on objects (sending, receiving, hashing): a Meter
counts objects and bytes and hands a Tick to the caller's callback at a
bounded rate, never once per object, so a transfer of a million small
objects pays a counter and a clock read each, not a redraw.  Nothing here
prints: the CLI decides what a Tick looks like (cl/cli/output.py), and a
caller that passes no callback gets no Meter at all."""

import time
from dataclasses import dataclass
from typing import Callable

INTERVAL = 0.1  # seconds between two reports: 10 a second at most


@dataclass(frozen=True)
class Tick:
    """Where one phase of work stands.  A total is None while unknown; it
    may grow as the work discovers more (a fetch learns a level's children
    as the level arrives)."""

    phase: str
    objects: int
    objects_total: int | None
    bytes: int
    bytes_total: int | None
    done: bool = False


class Meter:
    """Counts for one phase at a time (`start` begins the next); reports
    to `report` at most once per `interval` seconds, and always when a
    phase starts and finishes."""

    def __init__(self, report: Callable[[Tick], None], interval: float = INTERVAL):
        self.report = report
        self.interval = interval
        self.phase: str | None = None
        self.objects = self.bytes = 0
        self.objects_total: int | None = None
        self.bytes_total: int | None = None
        self._next = 0.0

    def start(self, phase: str, objects: int | None = None, nbytes: int | None = None) -> None:
        """Begin `phase` (finishing the one before, if any) with the totals known so far."""
        if self.phase is not None:
            self.finish()
        self.phase = phase
        self.objects = self.bytes = 0
        self.objects_total, self.bytes_total = objects, nbytes
        self._emit()

    def expect(self, objects: int = 0, nbytes: int = 0) -> None:
        """More work than the totals said: raise them."""
        if objects:
            self.objects_total = (self.objects_total or 0) + objects
        if nbytes:
            self.bytes_total = (self.bytes_total or 0) + nbytes

    def add(self, objects: int = 0, nbytes: int = 0) -> None:
        """Work done; reported if the last report is old enough."""
        self.objects += objects
        self.bytes += nbytes
        now = time.monotonic()
        if now >= self._next:
            self._emit(now)

    def finish(self) -> None:
        """The phase is over: a last report, marked done."""
        if self.phase is None:
            return
        self.report(self.tick(done=True))
        self.phase = None

    def tick(self, done: bool = False) -> Tick:
        return Tick(self.phase or "", self.objects, self.objects_total, self.bytes,
                    self.bytes_total, done)

    def _emit(self, now: float | None = None) -> None:
        self._next = (now if now is not None else time.monotonic()) + self.interval
        self.report(self.tick())


def meter(report: Callable[[Tick], None] | None) -> Meter | None:
    """A Meter for a caller's callback, or None when it gave none."""
    return Meter(report) if report is not None else None
