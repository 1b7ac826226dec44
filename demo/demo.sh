#!/usr/bin/env bash
# The walkthrough `make demo` runs: a real project in a temporary directory,
# every step printed before it runs.  Needs `cl` on PATH (the Makefile puts
# the venv's bin first).
set -euo pipefail

DEMO_DIR=$(mktemp -d "${TMPDIR:-/tmp}/cl-demo.XXXXXX")
export DEMO_DIR
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$DEMO_DIR"

# Print a command as one would type it (quoting words with spaces), then run it.
step() {
  local shown="" word
  for word in "$@"; do
    if [[ "$word" =~ [[:space:]\'\"\;\<\>\|\&\$\*] || -z "$word" ]]; then
      shown+=" '${word//\'/\'\\\'\'}'"
    else
      shown+=" $word"
    fi
  done
  printf '\n\033[1m$%s\033[0m\n' "$shown"
  "$@"
}
export -f step

echo "demo project: $DEMO_DIR"
mkdir sort-demo && cd sort-demo
step cl init
printf 'foo\nbar\nbaz\n' > a.txt
printf 'import sys\nfor line in sorted(sys.stdin.readlines()):\n    print(line, end="")\n' > sort.py
mkdir -p data && printf '3\n1\n2\n' > data/numbers.txt && printf 'c\na\nb\n' > data/letters.txt
step cl upload a.txt -d "three words to sort"
step cl upload program sort.py
step cl upload data -n inputs
step cl ls
step cl info -v inputs
step cl cat inputs/numbers.txt
step cl make inputs/letters.txt -n letters
step cl cat letters
step cl edit letters -d "the letters file, made without copying a byte"
step cl info letters
step cl upload -c "scratch that" -n scratch
step cl rm scratch
step cl status

for part in runs worksheets sharing; do
  if [ -f "$HERE/$part.sh" ]; then
    # shellcheck source=/dev/null
    source "$HERE/$part.sh"
  fi
done

printf '\ndemo finished; the project is in %s/sort-demo\n' "$DEMO_DIR"
