"""`Background`: a function on a thread of its own, whose exception is
raised to the caller that asks for its result, never lost.  What the
store, the pack writer and ingest run beside their own work."""

import threading


class Background:
    """`fn(*args)` on a thread of its own.  (concurrent.futures would do,
    but every upload would pay for importing it; docs/bench-notes.md.)"""

    def __init__(self, fn, *args):
        self._value = self._error = None
        self._thread = threading.Thread(target=self._run, args=(fn, args), daemon=True)
        self._thread.start()

    def _run(self, fn, args):
        try:
            self._value = fn(*args)
        except BaseException as exc:
            self._error = exc

    def done(self) -> bool:
        return not self._thread.is_alive()

    def wait(self) -> None:
        """Until fn has returned or raised (what it raised stays here)."""
        self._thread.join()

    def result(self):
        """fn's value once it has returned, or its exception raised here."""
        self.wait()
        if self._error is not None:
            raise self._error
        return self._value
