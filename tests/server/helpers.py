"""Starting a real `cl server` on a loopback port for the server tests."""

import socket
import subprocess
import time

import pytest

from tests.conftest import CL, cl_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(directory, home, cwd, args=()) -> tuple[subprocess.Popen, str]:
    """A running `cl server [ARGS] DIR` and its URL; the caller terminates it."""
    port = free_port()
    proc = subprocess.Popen([CL, "server", "--port", str(port), *args, str(directory)], cwd=cwd,
                            env=cl_env({"HOME": home}), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    for _ in range(400):
        if proc.poll() is not None:
            pytest.fail(f"cl server exited: {proc.stderr.read().decode()}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.05)
    proc.terminate()
    pytest.fail("cl server did not start listening")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=30)
