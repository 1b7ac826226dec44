"""push and pull over SSH and HTTP: cl (paramiko, system ssh, a cl server) against rsync -a, tar c | ssh tar x and dvc push

Everything goes over loopback: one real sshd on 127.0.0.1 started for this
bench (tests/services.start_sshd), so every ssh contender pays the same
encryption, and a real `cl server` for the HTTP contender.  Each timed run
starts from a fresh destination (a new bare `cl init --bare`, served anew
for HTTP; an empty directory, an empty DVC remote) after the harness's
cold-start discipline.  The no-op case times a push and a pull with
nothing to send from a repository of 1,000,000 small objects against
rsync's run over the same, already synced, files, and reports the peak
resident size of the push.
"""

import os
import shlex
import subprocess
import sys

from harness import Row, Target, measured, remove, round_robin, serve, small_files, stop

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CL_P = "cl (paramiko)"
CL_S = "cl (system ssh)"
CL_H = "cl (http, cl server)"
RSYNC = "rsync -a"
TAR = "tar | ssh tar"
DVC = "dvc push"
DVC_ENV = {"DVC_NO_ANALYTICS": "1"}
NOOP = "nothing to send"


def run(ctx) -> list[Row]:
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    # our own scratch root: other bench modules empty theirs when they finish
    ctx.scratch_root = os.path.join(ctx.work, "scratch-sync")
    try:
        from tests.services import start_sshd
        sshd_cm = start_sshd(ctx.scratch("sshd"))
        sshd = sshd_cm.__enter__()
    except BaseException as exc:  # pytest's skip/fail outcomes are BaseExceptions
        reason = f"no sshd: {exc}"
        return [Row("push/pull over ssh", c, unavailable=reason) for c in (CL_P, CL_S, CL_H, RSYNC, TAR, DVC)]
    try:
        env = SshEnv(ctx, sshd)
        rows = []
        for name in ("S", "M", "L"):
            if ctx.wants(f"push {describe(ctx, name)}") or ctx.wants(f"pull {describe(ctx, name)}"):
                rows += transfer(ctx, env, name)
        if ctx.wants(NOOP):
            rows += noop(ctx, env)
        return rows
    finally:
        sshd_cm.__exit__(None, None, None)
        remove(ctx.scratch_root)


class SshEnv:
    """A HOME whose ~/.ssh/config names the bench's sshd (`clbench`), and
    the options the system ssh, rsync and tar need to reach it."""

    def __init__(self, ctx, sshd):
        self.ctx = ctx
        self.sshd = sshd
        self.home = ctx.scratch("home")
        sshd.install_client_config(self.home, alias="clbench")
        self.ssh = sshd.ssh_args()[:-1]
        self.ssh_cmd = " ".join(map(shlex.quote, self.ssh))
        self.login = f"{sshd.user}@{sshd.host}"
        self.env = {"HOME": self.home}
        self.cl = ctx.tool("cl", "run through `make bench`")
        # cl's program is more than `cl --help` loads: the transports and
        # what they import (paramiko and cryptography: about 1 s to read
        # from a cold disk), as rsync's and ssh's binaries are hot after
        # `rsync --version`
        modules = "cl.remote.ssh, cl.sync.ops, cl.sync.serve, paramiko"
        self.warm_cl = [[self.cl, "push", "--help"], [os.path.join(ctx.bin, "python"), "-c", f"import {modules}"]]

    def cl_run(self, args, cwd):
        return self.ctx.sh([self.cl, *args], cwd=cwd, env=self.env)

    def project(self, name: str, src: str, worksheet: str) -> str:
        """A repository with `src` uploaded (not timed)."""
        repo = self.ctx.scratch(name)
        self.cl_run(["init", "-w", worksheet], repo)
        self.cl_run(["upload", src], repo)
        return repo

    def use(self, repo: str, transport: str, remote_path: str) -> None:
        """Point `origin` at remote_path: paramiko finds host, port, user and
        key in ~/.ssh/config; the system ssh gets them in ssh.command."""
        if transport == "ssh":
            url = f"ssh://{self.login}:{self.sshd.port}{remote_path}"
            command = self.ssh_cmd
        else:
            url, command = f"ssh://clbench{remote_path}", ""
        self.cl_run(["config", "ssh.command", command], repo)
        self.cl_run(["config", "remote.origin.url", url], repo)


def targets_for(name: str, transport: str) -> tuple:
    if name == "S":  # issue 17: small objects travel and land in packs
        return (Target(0.5, RSYNC), Target(0.05, DVC))
    if name == "L":
        return (Target(1.3 if transport == "ssh" else 2.0, RSYNC),)
    return ()


def describe(ctx, name: str) -> str:
    s = ctx.sizes
    if name == "L":
        return f"L: 1 file of {s.L_bytes >> 20} MiB"
    if name == "S":
        return f"S: {s.S_files:,} files of {s.S_bytes >> 10} KiB"
    return f"M: {s.M_files} files of {s.M_bytes >> 20} MiB"


def transfer(ctx, env: SshEnv, name: str) -> list[Row]:
    src = ctx.dataset(name)
    ws = f"bench{name}"
    repo = env.project(f"src-{name}", src, ws)
    push_case, pull_case = f"push {describe(ctx, name)}", f"pull {describe(ctx, name)}"
    rows = []
    if ctx.wants(push_case):
        ctx.log(push_case)
        rows += round_robin(ctx, push_case, [
            (CL_P, lambda: time_cl_push(ctx, env, repo, "paramiko"), {"targets": targets_for(name, "paramiko")}),
            (CL_S, lambda: time_cl_push(ctx, env, repo, "ssh"), {"targets": targets_for(name, "ssh")}),
            (CL_H, lambda: time_cl_push_http(ctx, env, repo), {"targets": targets_for(name, "http")[:1]}),
            (RSYNC, lambda: time_rsync_push(ctx, env, src), {"reference": True}),
            (TAR, lambda: time_tar_push(ctx, env, src), {}),
            (DVC, lambda: time_dvc_push(ctx, env, src), {}),
        ])
    if not ctx.wants(pull_case):
        remove(repo)
        return rows
    # a remote holding the data, for pulls (not timed)
    full = ctx.scratch(f"full-{name}")
    env.cl_run(["init", "--bare", full], ctx.scratch_root)
    env.use(repo, "ssh", full)
    env.cl_run(["push", "origin"], repo)
    ctx.log(pull_case)
    rows += round_robin(ctx, pull_case, [
        (CL_P, lambda: time_cl_pull(ctx, env, full, ws, "paramiko"), {"targets": targets_for(name, "paramiko")[:1]}),
        (CL_S, lambda: time_cl_pull(ctx, env, full, ws, "ssh"), {"targets": targets_for(name, "ssh")[:1]}),
        (CL_H, lambda: time_cl_pull_http(ctx, env, full, ws), {"targets": targets_for(name, "http")[:1]}),
        (RSYNC, lambda: time_rsync_pull(ctx, env, src), {"reference": True}),
        (TAR, lambda: time_tar_pull(ctx, env, src), {}),
    ])
    remove(repo)
    remove(full)
    return rows


# Each contender writes into a destination of its own, removed before its
# next run: one destination shared by both cl transports had each remove
# the files the other had made seconds before, which on this file system
# (ext4 mounted with discard) slowed the second by about a second in S,
# while rsync removed files a round old.

def time_cl_push(ctx, env, repo, transport):
    remote = os.path.join(ctx.scratch_root, f"dest-cl-{transport}")

    def prepare(_i):
        remove(remote)
        env.cl_run(["init", "--bare", remote], ctx.scratch_root)
        env.use(repo, transport, remote)

    return ctx.time_command([env.cl, "push", "origin"], cwd=repo, env=env.env, prepare=prepare,
                            warm_paths=[os.path.join(repo, ".codalab")],
                            warm_commands=env.warm_cl,
                            label=f"push {transport}")


# A pull's warm data is the whole repository pulled from, as rsync's is the
# whole tree it copies and a push's the whole repository pushed: its refs and
# index are read as much as its objects.

def time_cl_pull(ctx, env, full, ws, transport):
    def prepare(_i):
        dest = ctx.scratch(f"dest-cl-pull-{transport}")
        env.cl_run(["init", "-w", "here"], dest)
        env.use(dest, transport, full)
        return dest

    return ctx.time_command([env.cl, "pull", "origin", ws], cwd=lambda d: d, env=env.env,
                            prepare=prepare, warm_paths=[full],
                            warm_commands=env.warm_cl, label=f"pull {transport}")


def _hub(ctx, env, where: str) -> str:
    """A user `bench` (may do anything) of the repository at `where`; its token."""
    ctx.sh([env.cl, "server", "user", "add", "bench", "--root", where], env=env.env, input=b"bench-password\n")
    done = ctx.sh([env.cl, "server", "token", "add", "bench", where], env=env.env, stdout=subprocess.PIPE)
    return done.stdout.decode().strip()


_pull_tokens: dict[str, str] = {}  # the pulls' hub lives through every round: its user is made once


def _use_http(env, repo: str, url: str, token: str) -> None:
    env.cl_run(["config", "remote.origin.url", url], repo)
    env.cl_run(["config", "remote.origin.token", token], repo)


def time_cl_push_http(ctx, env, repo):
    """cl push to a real `cl server` on loopback, a fresh one over a fresh
    bare repository for each run (started before timing)."""
    remote = os.path.join(ctx.scratch_root, "dest-cl-http")
    server = [None]

    def prepare(_i):
        stop(server[0])
        remove(remote)
        env.cl_run(["init", "--bare", remote], ctx.scratch_root)
        token = _hub(ctx, env, remote)
        server[0], url = serve(remote, ctx.bin)
        _use_http(env, repo, url, token)

    try:
        return ctx.time_command([env.cl, "push", "origin"], cwd=repo, env=env.env, prepare=prepare,
                                warm_paths=[os.path.join(repo, ".codalab")], warm_commands=env.warm_cl,
                                label="push http")
    finally:
        stop(server[0])


def time_cl_pull_http(ctx, env, full, ws):
    """cl pull from a real `cl server` serving the full repository."""
    if full not in _pull_tokens:
        _pull_tokens[full] = _hub(ctx, env, full)
    token = _pull_tokens[full]
    proc, url = serve(full, ctx.bin)

    def prepare(_i):
        dest = ctx.scratch("dest-cl-pull-http")
        env.cl_run(["init", "-w", "here"], dest)
        _use_http(env, dest, url, token)
        return dest

    try:
        return ctx.time_command([env.cl, "pull", "origin", ws], cwd=lambda d: d, env=env.env,
                                prepare=prepare, warm_paths=[full],
                                warm_commands=env.warm_cl, label="pull http")
    finally:
        stop(proc)


def _rsync(ctx):
    return ctx.tool("rsync", "apt-get install rsync")


def time_rsync_push(ctx, env, src):
    rsync = _rsync(ctx)
    dest = os.path.join(ctx.scratch_root, "dest-rsync")
    slash = "/" if os.path.isdir(src) else ""
    cmd = [rsync, "-a", "-e", env.ssh_cmd, src + slash, f"{env.login}:{dest}{slash or '/data'}"]
    return ctx.time_command(cmd, prepare=lambda _i: ctx.scratch("dest-rsync"), warm_paths=[src],
                            warm_commands=[[rsync, "--version"]], label=RSYNC)


def time_rsync_pull(ctx, env, src):
    rsync = _rsync(ctx)
    dest = os.path.join(ctx.scratch_root, "dest-rsync")
    slash = "/" if os.path.isdir(src) else ""
    cmd = [rsync, "-a", "-e", env.ssh_cmd, f"{env.login}:{src}{slash}", dest + (slash or "/data")]
    return ctx.time_command(cmd, prepare=lambda _i: ctx.scratch("dest-rsync"), warm_paths=[src],
                            warm_commands=[[rsync, "--version"]], label=f"{RSYNC} pull")


def time_tar_push(ctx, env, src):
    parent, base = os.path.split(src)
    dest = os.path.join(ctx.scratch_root, "dest-tar")
    cmd = (f"tar c -C {shlex.quote(parent)} {shlex.quote(base)} | "
           f"{env.ssh_cmd} {shlex.quote(env.login)} {shlex.quote('tar x -C ' + shlex.quote(dest))}")
    return ctx.time_command(cmd, prepare=lambda _i: ctx.scratch("dest-tar"), warm_paths=[src],
                            warm_commands=[["tar", "--version"]], label=TAR)


def time_tar_pull(ctx, env, src):
    parent, base = os.path.split(src)
    dest = os.path.join(ctx.scratch_root, "dest-tar")
    remote = f"tar c -C {shlex.quote(parent)} {shlex.quote(base)}"
    cmd = (f"{env.ssh_cmd} {shlex.quote(env.login)} {shlex.quote(remote)} | "
           f"tar x -C {shlex.quote(dest)}")
    return ctx.time_command(cmd, prepare=lambda _i: ctx.scratch("dest-tar"), warm_paths=[src],
                            warm_commands=[["tar", "--version"]], label=f"{TAR} pull")


def dvc_with_ssh(ctx) -> str:
    """DVC and its SSH plugin (dvc-ssh) in the bench's DVC venv."""
    dvc = ctx.dvc()
    marker = os.path.join(ctx.work, "dvc-ssh-installed")
    if not os.path.exists(marker):
        ctx.log("installing dvc-ssh into the DVC venv (once)")
        ctx.sh([os.path.join(os.path.dirname(dvc), "pip"), "install", "-q", "dvc-ssh"])
        open(marker, "w").close()
    return dvc


def time_dvc_push(ctx, env, src):
    dvc = dvc_with_ssh(ctx)
    git = ctx.tool("git", "apt-get install git")
    name = os.path.basename(src)
    denv = {**DVC_ENV, **env.env}

    def prepare(_i):
        ws = ctx.scratch("dvc-ws")
        remote = ctx.scratch("dest-dvc")
        ctx.sh([git, "init", "-q"], cwd=ws)
        ctx.sh([dvc, "init", "-q"], cwd=ws, env=denv)
        for key, value in (("core.analytics", "false"), ("core.check_update", "false"),
                           ("core.site_cache_dir", os.path.join(ws, ".dvc", "site"))):
            ctx.sh([dvc, "config", key, value], cwd=ws, env=denv)
        ctx.sh(["cp", "-r", src, os.path.join(ws, name)])
        ctx.sh([dvc, "add", "-q", name], cwd=ws, env=denv)
        url = f"ssh://{env.sshd.user}@{env.sshd.host}:{env.sshd.port}{remote}"
        ctx.sh([dvc, "remote", "add", "-d", "bench", url], cwd=ws, env=denv)
        ctx.sh([dvc, "remote", "modify", "bench", "keyfile", env.sshd.key_path], cwd=ws, env=denv)
        return ws

    return ctx.time_command([dvc, "push", "-q"], cwd=lambda ws: ws, env=denv, prepare=prepare,
                            warm_paths=lambda ws: [os.path.join(ws, ".dvc", "cache")],
                            warm_commands=[[dvc, "push", "--help"]], label=DVC)


# --- nothing to send -------------------------------------------------------------------


def noop(ctx, env) -> list[Row]:
    count = 12_500 if ctx.quick else 1_000_000
    src = small_files(ctx, count)
    case = f"{NOOP}: {count:,} files"
    ctx.log(case)
    repo = env.project("src-N", src, "benchN")
    remote = ctx.scratch("dest-N")
    env.cl_run(["init", "--bare", remote], ctx.scratch_root)
    env.use(repo, "paramiko", remote)
    env.cl_run(["push", "origin"], repo)
    rsync = _rsync(ctx)
    copy = ctx.scratch("dest-N-rsync")
    rsync_cmd = [rsync, "-a", "-e", env.ssh_cmd, src + "/", f"{env.login}:{copy}/"]
    ctx.sh(rsync_cmd)
    target = (Target(0.5, "rsync -a (no-op)"),)
    rows = []
    for transport, label in (("paramiko", CL_P), ("ssh", CL_S)):
        env.use(repo, transport, remote)
        rows.append(measured(case, f"{label} push", lambda: ctx.time_command(
            [env.cl, "push", "origin"], cwd=repo, env=env.env, warm_commands=env.warm_cl,
            label=f"no-op push {transport}"), targets=target, note=peak_memory(ctx, env, repo)))
        rows.append(measured(case, f"{label} pull", lambda: ctx.time_command(
            [env.cl, "pull", "origin"], cwd=repo, env=env.env, warm_commands=env.warm_cl,
            label=f"no-op pull {transport}"), targets=target))
    rows.append(measured(case, "rsync -a (no-op)", lambda: ctx.time_command(
        rsync_cmd, warm_commands=[[rsync, "--version"]], label="rsync no-op"), reference=True))
    return rows


MEMORY_LIMIT_MB = 300   # issue 17: the peak of a no-op push of 1,000,000 objects


def peak_memory(ctx, env, repo) -> str:
    """One more (untimed) no-op push, under a parent that reads the peak
    resident size of its children: the push and, for the system ssh, ssh."""
    probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True,"
             " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL);"
             " print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = ctx.sh([sys.executable, "-c", probe, env.cl, "push", "origin"], cwd=repo, env=env.env,
                  stdout=subprocess.PIPE)
    mb = int(done.stdout.decode().strip()) / 1024
    verdict = "PASS" if mb <= MEMORY_LIMIT_MB else "FAIL"
    ctx.log(f"no-op push: peak resident {mb:.0f} MB (target <= {MEMORY_LIMIT_MB} MB: {verdict})")
    return f"peak {mb:.0f} MB, target ≤ {MEMORY_LIMIT_MB} MB: {verdict}"
