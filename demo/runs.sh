# Runs (sourced by demo.sh, in the demo project, after a.txt and sort.py
# were uploaded): the README's sort example executed for real -- in Docker
# when an engine answers and an image with python is present, otherwise
# with the local executor -- then sugar, a kill, and waiting.

PY_IMAGE=cl-test/python:latest
if docker info >/dev/null 2>&1 && docker image inspect "$PY_IMAGE" >/dev/null 2>&1; then
  printf '\n# runs execute in Docker (image %s)\n' "$PY_IMAGE"
  step cl config run.image "$PY_IMAGE"
else
  if docker info >/dev/null 2>&1; then
    printf '\n# no %s image (build it: python -m tests.services --build-images);\n' "$PY_IMAGE"
  else
    printf '\n# no Docker Engine answers;\n'
  fi
  printf '# runs execute with the local executor (a sandboxed local process)\n'
  step cl config run.executor local
fi

step cl run sort.py:sort.py input:a.txt 'python sort.py < input > output' --name sort-run
step cl info sort-run
step cl wait sort-run
step cl cat sort-run/output
step cl info sort-run
step cl run 'python %sort.py% < %a.txt% > output' --name sort-sugar -W
step cl info -f command sort-sugar
step cl run :sort.py :a.txt 'python sort.py < a.txt' --tail
step cl run 'echo started; sleep 600' --name long
until [ "$(cl cat long/stdout 2>/dev/null)" = started ]; do sleep 0.2; done
step cl workers
step cl kill long
step cl wait long || true
step cl cat long/stdout
step cl ls
