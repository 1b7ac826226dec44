"""Defaults a user can have: the run image is a public one
(python:3.12-slim), the test suite sets its fixture image through the test
user's own config (tests/conftest.py user_config), a repository's config
wins over the user's, and a run the local executor ran does not look as if
it ran in an image."""

from tests.runs.helpers import configure
from tests.services import BUSYBOX_IMAGE


def test_the_default_image_is_a_public_one(project, cl, tmp_path):
    bare_home = tmp_path / "bare-home"      # a user with no config of their own
    bare_home.mkdir()
    assert cl(["config", "run.image"], project, env={"HOME": bare_home}).stdout == \
        "python:3.12-slim\n"


def test_the_user_config_then_the_repository_config(project, cl, cl_home):
    assert (cl_home / ".config" / "cl" / "config.toml").is_file()
    assert cl(["config", "run.image"], project).stdout == f"{BUSYBOX_IMAGE}\n"
    cl(["config", "run.image", "cl-test/python:latest"], project)
    assert cl(["config", "run.image"], project).stdout == "cl-test/python:latest\n"


def test_a_local_run_shows_its_image_request_unused(project, cl):
    configure(project, auto_worker=False, executor="local")
    cl(["run", "-n", "here", "true"], project)
    cl(["worker", "--exit-when-idle", "--executor", "local"], project)
    info = cl(["info", "here"], project).stdout
    assert "  executor: local\n" in info
    assert f"  image: {BUSYBOX_IMAGE} (not used: the local executor runs no image)\n" in info
