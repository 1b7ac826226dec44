"""Builders for provenance tests: DAGs of bundles made directly through the
library (no runs executed), each run finished `ready` with a Result that
records an image digest, as a worker would leave it."""

from cl.objects.ids import ObjectId
from cl.objects.ingest import ingest_entries, text_contents
from cl.objects.types import Bundle, Dependency, Result
from cl.repo import Repository, new_nonce, now_ns

DIGEST = "sha256:" + "ab" * 32


def add_upload(repo: Repository, name: str, text: str | None = None, worksheet=None) -> ObjectId:
    bundle = Bundle(kind="dataset", created=now_ns(), creator=repo.user(), nonce=new_nonce(),
                    metadata={"name": name, "description": "", "tags": []},
                    contents=text_contents(repo.store, text if text is not None else f"data of {name}\n"))
    return repo.add_bundle(bundle, state="ready", worksheet=worksheet)


def add_run(repo: Repository, name: str, deps, command: str | None = None, digest: str | None = DIGEST,
            worksheet=None, state: str = "ready", request: dict | None = None) -> ObjectId:
    """`deps`: (key, bundle) or (key, bundle, path) tuples."""
    dependencies = tuple(Dependency(d[0], d[1], d[2] if len(d) > 2 else "") for d in deps)
    bundle = Bundle(kind="run", created=now_ns(), creator=repo.user(), nonce=new_nonce(),
                    metadata={"name": name, "description": f"the {name} run", "tags": ["t"]},
                    command=command if command is not None else f"echo {name} > out",
                    dependencies=dependencies,
                    request=request if request is not None else {"image": "python:3.11"})
    bid = repo.write(bundle)
    rid = None
    if state in ("ready", "failed"):
        image = {"name": "python:3.11", "digest": digest} if digest else {}
        contents = ingest_entries(repo.store, {"out": text_contents(repo.store, f"out of {name}\n"),
                                               "stdout": text_contents(repo.store, "")})
        result = Result(bundle=bid, contents=contents,
                        exit_code=0 if state == "ready" else 1, started=now_ns(), finished=now_ns(),
                        image=image, executor="docker" if digest else "local")
        rid = repo.write(result)
    return repo.add_bundle(bundle, state=state, worksheet=worksheet, result=rid)


def build_dag(repo: Repository, parents: list[list[int]], worksheet=None) -> list[ObjectId]:
    """Bundle i depends on bundles parents[i] (all earlier) under keys
    `k<j>`; a bundle with no parents is an upload, others are runs.  Names
    are `b<i>`."""
    ids: list[ObjectId] = []
    for i, ps in enumerate(parents):
        assert all(p < i for p in ps)
        if not ps:
            ids.append(add_upload(repo, f"b{i}", worksheet=worksheet))
        else:
            ids.append(add_run(repo, f"b{i}", [(f"k{p}", ids[p]) for p in dict.fromkeys(ps)],
                               worksheet=worksheet))
    return ids


def brute_ancestors(parents: list[list[int]], i: int) -> set[int]:
    out: set[int] = set()
    todo = list(parents[i])
    while todo:
        p = todo.pop()
        if p not in out:
            out.add(p)
            todo += parents[p]
    return out


def brute_descendants(parents: list[list[int]], i: int) -> set[int]:
    return {j for j in range(len(parents)) if i in brute_ancestors(parents, j)}
