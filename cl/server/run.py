"""Running `cl server` (uvicorn) and managing its tokens."""

from cl.app import tokens
from cl.app.repository import Repository, open_repository
from cl.errors import CLError


def open_repo(directory: str | None) -> Repository:
    if directory is None:
        return open_repository()
    from cl.app.sharing import repository_at
    return repository_at(directory)


def add_token(name: str, directory: str | None = None) -> str:
    repo = open_repo(directory)
    try:
        return tokens.add_token(repo, name)
    finally:
        repo.close()


def serve(directory: str | None, host: str, port: int, announce=lambda text: None) -> None:
    import uvicorn

    from cl.server.app import make_app

    repo = open_repo(directory)
    if tokens.count(repo) == 0:
        announce("cl server: no tokens yet, so every request is refused; "
                 "make one with 'cl server token add NAME'")
    announce(f"cl server: serving {repo.root} on http://{host}:{port}")
    try:
        uvicorn.run(make_app(repo), host=host, port=port, log_level="warning",
                    access_log=False)
    except SystemExit as exc:
        raise CLError(f"cannot serve on {host}:{port} (is the port in use?)") from exc
    finally:
        repo.close()
