"""The README's console blocks are run, or say they are illustrative.

Every ```console block of README.md is one of:
* run by this module: each top-level (`## `) section is one session in a
  fresh directory (`/home/me` in the text) with a fresh HOME; its blocks run
  in order, each `$ ` command in bash (here-documents included), `cd` and
  `export` carrying over to the next command.  What the block shows after a
  command is compared with what the command printed (stdout and stderr
  together), after both are normalised: ids, dates and measured times stand
  for any value, runs of spaces are one space, `…` in a line stands for any
  text and a line of `…` (or `...`) for any lines.  A command that shows no
  output is not checked for it.  A command fails the test by exiting
  non-zero unless the block shows an error line (`cl: …`) for it.
* preceded by `<!-- illustrative: why -->`: not run (another host, a
  cluster, a command that waits for Ctrl-C).

`<!-- setup` … `-->` holds commands the reader is assumed to have run
(files a section uses); they run where they stand, unchecked.

The run image: the text uses cl's default, `python:3.12-slim`, which
needs a registry; the session runs with the test image through
CL_RUN_IMAGE (cl's environment override), and that image's name in the
output is read as the default's."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import cl_env, user_config
from tests.runs.helpers import stop_workers
from tests.services import PYTHON_IMAGE

README = Path(__file__).resolve().parent.parent / "README.md"
DEFAULT_IMAGE = "python:3.12-slim"
TOKEN = re.compile(r"(<!-- illustrative[^\n]*-->\n)?```console\n(.*?)```|<!-- setup\n(.*?)-->", re.S)


def sections() -> list[tuple[str, list[tuple[str, str]]]]:
    """(title, [(kind, text)]) for each `## ` section, kind being
    "console", "illustrative" or "setup"."""
    out = []
    for part in re.split(r"^## ", README.read_text(), flags=re.M)[1:]:
        title = part.split("\n", 1)[0]
        steps = []
        for m in TOKEN.finditer(part):
            if m.group(3) is not None:
                steps.append(("setup", m.group(3)))
            else:
                steps.append(("illustrative" if m.group(1) else "console", m.group(2)))
        if steps:
            out.append((title, steps))
    return out


def commands(block: str) -> list[tuple[str, list[str]]]:
    """(command, shown output lines) for each `$ ` line of a block; a
    here-document's lines belong to its command; blank lines are left out."""
    lines = block.split("\n")
    out: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.startswith("$ "):
            command = [line[2:]]
            m = re.search(r"<<-?'?(\w+)'?", line)
            if m:
                while lines[i] != m.group(1):
                    command.append(lines[i])
                    i += 1
                command.append(lines[i])
                i += 1
            out.append(("\n".join(command), []))
        elif out and line:
            out[-1][1].append(line)
    return out


def normal(text: str) -> str:
    text = re.sub(r"0x[0-9a-f]{4,64}", "0xID", text)
    text = re.sub(r"sha256:[0-9a-f]{64}", "sha256:ID", text)
    text = re.sub(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?", "DATE", text)
    text = re.sub(r"\b\d+(\.\d+)?(ms|s|m|k|g)\b", "T", text)
    text = re.sub(r"\b\d+\.\d+\b", "T", text)
    return re.sub(r"[ \t]+", " ", text).strip()


def pattern(shown: list[str]) -> re.Pattern:
    parts = []
    for line in shown:
        line = re.sub(r"\s{2,}# .*$", "", line)  # a comment to the reader
        if line.strip() in ("…", "..."):
            parts.append(r"(?:[^\n]*\n)*?")
            continue
        pieces = [re.escape(normal(p)) for p in normal(line).split("…")]
        parts.append(".*".join(pieces) + r"\n")
    return re.compile("".join(parts), re.S)


class Session:
    """A shell-like session: cwd and exported variables carry over."""

    def __init__(self, root: Path, env: dict):
        self.cwd = root
        self.env = env
        self.root = root

    def run(self, command: str) -> tuple[int, str]:
        marker = self.root / ".readme-pwd"
        script = f"{command}\n__rc=$?\npwd > {marker}\nexport -p > {marker}.env\nexit $__rc\n"
        done = subprocess.run(["bash", "-c", script], cwd=self.cwd, env=self.env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
        if marker.exists():
            self.cwd = Path(marker.read_text().strip())
            for name, value in re.findall(r'^declare -x (\w+)="(.*)"$', (marker.parent / ".readme-pwd.env")
                                          .read_text(), re.M):
                # inside bash's double quotes a backslash escapes only $ ` " \
                self.env[name] = re.sub(r'\\([$`"\\])', r"\1", value)
        return done.returncode, done.stdout


def test_every_console_block_is_run_or_marked_illustrative():
    text = README.read_text()
    fenced = len(re.findall(r"^```console$", text, re.M))
    classified = sum(1 for _, steps in sections() for kind, _ in steps if kind != "setup")
    assert fenced == classified
    # a command shown as an indented block would escape this module
    indented = re.findall(r"^(?: {4}|\t)\$ .*$", text, re.M)
    assert not indented, f"indented commands outside a console block: {indented[:3]}"


RUN = [(title, steps) for title, steps in sections() if any(kind == "console" for kind, _ in steps)]


@pytest.mark.parametrize("title,steps", RUN, ids=[t for t, _ in RUN])
def test_readme_section(title, steps, tmp_path, request):
    text = "\n".join(body for kind, body in steps if kind == "console")
    if re.search(r"\bcl (run|rerun|mimic|macro)\b", text):
        request.getfixturevalue("python_image")
    home = tmp_path / "home"
    user_config(home)
    (home / ".config" / "cl" / "config.toml").unlink()  # the defaults, as a new user has them
    update = os.environ.get("CL_README_UPDATE") == "1"
    root = tmp_path / "me"
    root.mkdir()
    env = cl_env({"HOME": home, "USER": "alice", "CL_RUN_IMAGE": PYTHON_IMAGE, "PYTHONUNBUFFERED": "1",
                  "COLUMNS": "200", "TZ": "UTC"})
    session = Session(root, env)
    try:
        _run_section(title, steps, session, root, update)
    finally:  # the section's runs started workers, as they would for a user
        for codalab in root.glob("**/.codalab"):
            stop_workers(codalab.parent)


def _run_section(title, steps, session, root, update) -> None:
    for kind, body in steps:
        if kind == "illustrative":
            continue
        if kind == "setup":
            rc, out = session.run("set -e\n" + body)
            assert rc == 0, f"setup of {title!r} failed:\n{body}\n{out}"
            continue
        for command, shown in commands(body):
            rc, out = session.run(command)
            out = out.replace(str(root), "/home/me").replace(PYTHON_IMAGE, DEFAULT_IMAGE)
            errors_shown = any(line.startswith("cl: ") for line in shown)
            asked = update and shown == ["?"]
            assert rc == 0 or errors_shown or asked, f"`{command}` exited {rc} in {title!r}:\n{out}"
            if shown:
                got = "\n".join(normal(line) for line in out.splitlines() if line.strip()) + "\n"
                if update and not pattern(shown).fullmatch(got):
                    _rewrite(command, shown, out)
                    continue
                assert pattern(shown).fullmatch(got), (
                    f"`{command}` in {title!r} printed:\n{out}\nthe README shows:\n" + "\n".join(shown))


def _rewrite(command: str, shown: list[str], out: str) -> None:
    """CL_README_UPDATE=1: put what the command printed in place of what
    the README shows (for a maintainer refreshing the samples; read the
    diff before committing it)."""
    text = README.read_text()
    head = f"$ {command}\n"
    at = text.index(head)
    start = at + len(head)
    end = start
    remaining = list(shown)
    while remaining:
        line_end = text.index("\n", end) + 1
        line = text[end:line_end - 1]
        if line:
            assert line == remaining.pop(0)
        end = line_end
    README.write_text(text[:start] + out.rstrip("\n") + "\n" + text[end:])
