"""Builders for worksheet tests: a repository and run bundles with results
made directly through the library (no executor needed)."""

from cl.objects.ingest import ingest_entries, text_contents
from cl.objects.types import Bundle, Dependency, Result
from cl.repo import Repository, new_nonce, now_ns


def _file(repo: Repository, data):
    if isinstance(data, dict):
        return ingest_entries(repo.store, {k: _file(repo, v) for k, v in data.items()})
    if isinstance(data, str):
        return text_contents(repo.store, data)
    from cl.objects.types import MODE_FILE, Contents
    return Contents(MODE_FILE, len(data), repo.store.write_bytes(data))


def add_dataset(repo: Repository, name: str, files: dict | str, worksheet: str | None = None,
                description: str = "", kind: str = "dataset"):
    contents = _file(repo, files)
    bundle = Bundle(kind=kind, created=now_ns(), creator=repo.user(), nonce=new_nonce(),
                    metadata={"name": name, "description": description, "tags": []}, contents=contents,
                    args=f"upload {name}")
    return repo.add_bundle(bundle, state="ready", worksheet=worksheet)


def add_run(repo: Repository, name: str, files: dict | None, command: str = "python train.py",
            deps: tuple = (), worksheet: str | None = None, seconds: float = 3.5, state: str = "ready",
            description: str = "", exit_code: int = 0, failure: str | None = None, peak_memory: int = 0):
    """A run bundle in `state`; with `files` it has a Result holding them."""
    bundle = Bundle(kind="run", created=now_ns(), creator=repo.user(), nonce=new_nonce(),
                    metadata={"name": name, "description": description, "tags": []}, command=command,
                    dependencies=tuple(Dependency(k, b, p) for k, b, p in deps),
                    args=f"run --name {name} '{command}'")
    bid = repo.write(bundle)
    rid = None
    if files is not None:
        started = now_ns()
        result = Result(bundle=bid, contents=_file(repo, files), exit_code=exit_code, started=started,
                        finished=started + int(seconds * 1e9), executor="local", host="test",
                        failure=failure, peak_memory=peak_memory)
        rid = repo.write(result)
    return repo.add_bundle(bundle, state=state, worksheet=worksheet, result=rid)

