"""`import cl` stays cheap: it loads the package and nothing else, and each
part of the API loads only when first used (as tests/cli/test_startup.py
pins what each command loads)."""

import json
import subprocess
import sys

PROBE = """
import json, sys
before = set(sys.modules)
import cl
steps = {"import": sorted(set(sys.modules) - before)}
seen = set(sys.modules)
cl.CLError
steps["errors"] = sorted(set(sys.modules) - seen)
seen = set(sys.modules)
try:
    cl.open(sys.argv[1])
except cl.NotARepository:
    pass
steps["open"] = sorted(set(sys.modules) - seen)
print(json.dumps(steps))
"""

HEAVY = {"json", "dataclasses", "typing", "sqlite3", "msgpack", "blake3", "click", "rich", "docker",
         "httpx", "paramiko", "dulwich", "subprocess", "socket", "tomllib"}


def test_import_cl_loads_only_cl(tmp_path):
    done = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], cwd=tmp_path,
                          capture_output=True, text=True, check=True)
    steps = json.loads(done.stdout)
    assert steps["import"] == ["cl"]
    assert steps["errors"] == ["cl.errors"]
    # the API arrives on first use, with the repository code under it
    assert {"cl.api", "cl.api.repository", "cl.app", "cl.repo"} <= set(steps["open"])


def test_the_api_leaves_the_front_ends_libraries_alone(tmp_path):
    """Reading a repository through the API loads no click, rich, Docker
    or transport library."""
    probe = ("import sys, cl\nrepo = cl.init(sys.argv[1])\nrepo.ls(); repo.bundles('')\n"
             "repo.worksheet().table(); repo.close()\n"
             "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[2:]))))")
    libraries = ["click", "rich", "docker", "httpx", "paramiko", "dulwich", "uvicorn", "starlette"]
    done = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "p"), *libraries, "sqlite3"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["sqlite3"]  # the probe sees what is loaded


def test_probe_sees_heavy_modules_when_used(tmp_path):
    """The probe can fail: opening does load the index (sqlite3)."""
    done = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], cwd=tmp_path,
                          capture_output=True, text=True, check=True)
    assert "sqlite3" in json.loads(done.stdout)["open"]
    assert not HEAVY & set(json.loads(done.stdout)["import"])
