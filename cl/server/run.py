"""Running `cl server` (uvicorn) and managing its users and tokens (on the
served repository itself: only whoever runs the server does this)."""

import signal

from cl.app import users
from cl.app.repository import Repository, open_repository
from cl.errors import CLError


def open_repo(directory: str | None) -> Repository:
    if directory is None:
        return open_repository()
    from cl.app.sharing import repository_at
    return repository_at(directory)


def _on(directory: str | None, fn):
    repo = open_repo(directory)
    try:
        return fn(repo)
    finally:
        repo.close()


def add_token(user: str, directory: str | None = None) -> str:
    return _on(directory, lambda repo: users.add_token(repo, user))


def add_user(name: str, password: str, root: bool, directory: str | None = None) -> None:
    _on(directory, lambda repo: users.add_user(repo, name, password, root))


def set_password(name: str, password: str, directory: str | None = None) -> None:
    _on(directory, lambda repo: users.set_password(repo, name, password))


def remove_user(name: str, directory: str | None = None) -> None:
    _on(directory, lambda repo: users.remove_user(repo, name))


def list_tokens(directory: str | None = None) -> list[dict]:
    return _on(directory, users.list_tokens)


def remove_token(given: str, directory: str | None = None) -> int:
    return _on(directory, lambda repo: users.remove_token(repo, given))


def list_users(directory: str | None = None) -> list[dict]:
    return _on(directory, users.list_users)


class _Terminated(Exception):
    """SIGTERM arrived (after uvicorn's own graceful shutdown)."""


def _terminated(signum, frame):
    raise _Terminated()


def serve(directory: str | None, host: str, port: int, announce=lambda text: None,
          workers: int = 0, log=lambda text: None) -> None:
    """Serve the repository until interrupted; with `workers` N, also run
    its queued runs here, N at a time (`log` hears the worker's lines)."""
    import uvicorn

    from cl.app.served_workers import ServedWorkers
    from cl.app.sharing import server_settings
    from cl.server.app import make_app

    repo = open_repo(directory)
    settings = server_settings(repo)
    if users.credentials_count(repo) == 0:
        announce("cl server: no tokens yet, so only what is public can be read; "
                 "add a user with 'cl server user add USER' and a token with "
                 "'cl server token add USER'")
    running = ServedWorkers(repo.root, workers, log) if workers else None
    app = make_app(repo)
    # uvicorn re-raises SIGTERM once it has shut down; with the default
    # action that would kill the process before the workers are stopped
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        if running is not None:
            announce(running.start())
        where = settings["public_url"] or f"http://{host}:{port}"
        announce(f"cl server: serving {repo.root} on {where}"
                 + (f" (listening on {host}:{port} behind a proxy)" if settings["behind_proxy"] else ""))
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False,
                    proxy_headers=settings["behind_proxy"], forwarded_allow_ips=settings["proxy_ips"])
    except _Terminated:
        pass  # stopped by a service manager: as after Ctrl-C, the cleanup below runs and cl exits 0
    except SystemExit as exc:
        raise CLError(f"cannot serve on {host}:{port} (is the port in use?)") from exc
    finally:
        signal.signal(signal.SIGTERM, previous)
        if running is not None:
            announce("cl server: stopping; waiting for the running runs to finish")
            running.stop()
        app.state.close()
        repo.close()
