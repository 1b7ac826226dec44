"""`cl server --workers N`: running the served repository's queued runs in
the server's own process."""

from __future__ import annotations

from cl.errors import UsageError
from cl.repo import Repository


class ServedWorkers:
    """`cl server --workers N`: one worker (cl/runs/worker.py) running up to
    N of the served repository's queued runs at a time, in a thread of the
    server's own process, on its own connection to the repository."""

    def __init__(self, root: str, parallel: int, log):
        import threading

        from cl.runs.worker import Worker, WorkerOptions
        if parallel < 1:
            raise UsageError("--workers takes a number of at least 1")
        self.repo = Repository(root)
        executor = self.repo.config.get("run", "executor", "auto")
        self.worker = Worker(self.repo, WorkerOptions(parallel=parallel, executor=executor), log)
        self.chosen = self.worker.setup()
        self.thread = threading.Thread(target=self._run, name="cl-server-worker", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            self.worker.run(install_signals=False)
        except BaseException as exc:  # kept for stop() to re-raise in the main thread
            self.error = exc

    def start(self) -> str:
        """Start the worker; a line saying what it runs with."""
        self.thread.start()
        note = f" ({self.chosen.note})" if self.chosen.note else ""
        return (f"cl server: running queued runs here, {self.worker.options.parallel} at a time, "
                f"with the {self.chosen.name} executor{note}")

    def stop(self) -> None:
        """Take no new runs, let the running ones finish, then close."""
        self.worker.stop()
        self.thread.join()
        self.repo.close()
        if self.error is not None and not isinstance(self.error, SystemExit):
            raise self.error
