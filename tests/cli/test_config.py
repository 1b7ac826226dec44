"""`cl config`: every setting is known (a table with type, default and
help, `cl config --list`), unknown keys are refused with a did-you-mean,
values are type-checked when set and when config.toml is read, and a bad
file is one line naming the key -- never a traceback, never a hang."""

import pytest

from tests.cli.test_errors import one_line_error


def config_file(project):
    return project / ".codalab" / "config.toml"


BAD_SETTINGS = [
    (["run.parallel", "abc"], "run.parallel", "integer"),
    (["run.parallel", "0"], "run.parallel", "integer"),
    (["run.parallel", "1e20"], "run.parallel", "integer"),
    (["run.parallel", "9" * 40], "run.parallel", "integer"),
    (["run.auto_worker", "maybe"], "run.auto_worker", "true or false"),
    (["run.network", "2"], "run.network", "true or false"),
    (["run.executor", "dokcer"], "run.executor", "one of"),
    (["run.worker_idle", "soon"], "run.worker_idle", "duration"),
    (["run.worker_idle", "9" * 400], "run.worker_idle", "duration"),
    (["run.imgae", "busybox"], "did you mean 'run.image'", "unknown setting"),
    (["rn.image", "busybox"], "did you mean 'run.image'", "unknown setting"),
    (["nosuch.thing", "x"], "unknown setting 'nosuch.thing'", "cl config --list"),
    (["image", "x"], "unknown setting 'image'", "did you mean 'run.image'"),
    (["remote.origin.tokn", "x"], "did you mean 'remote.origin.token'", "unknown setting"),
    (["run.imgae"], "did you mean 'run.image'", "unknown setting"),
]


@pytest.mark.parametrize("args, names, says", BAD_SETTINGS)
def test_bad_settings_are_refused_in_one_line(project, cl, args, names, says):
    before = config_file(project).read_bytes()
    line = one_line_error(cl(["config", *args], project, check=False))
    assert names in line and says in line, line
    assert config_file(project).read_bytes() == before


def test_good_settings_are_stored_typed(project, cl):
    cl(["config", "run.parallel", "3"], project)
    cl(["config", "run.network", "yes"], project)
    cl(["config", "run.worker_idle", "90s"], project)
    cl(["config", "user.name", "Ada \"the\" Lovelace\ttab\x01"], project)
    cl(["config", "remote.origin.url", "/far/away"], project)
    import tomllib
    data = tomllib.loads(config_file(project).read_text())
    assert data["run"] == {"parallel": 3, "network": True, "worker_idle": "90s"}
    assert data["user"]["name"] == "Ada \"the\" Lovelace\ttab\x01"
    assert data["remote"]["origin"]["url"] == "/far/away"
    assert cl(["config", "run.parallel"], project).stdout == "3\n"
    assert cl(["config", "run.network"], project).stdout == "true\n"
    assert cl(["config", "run.executor"], project).stdout == "auto\n"  # the default
    assert cl(["config", "user.name"], project).stdout == "Ada \"the\" Lovelace\ttab\x01\n"


def test_list_shows_every_setting_with_type_default_and_help(project, cl):
    cl(["config", "run.parallel", "2"], project)
    cl(["config", "remote.origin.token", "cl_secret"], project)
    out = cl(["config", "--list"], project).stdout
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    for key in ("user.name", "run.image", "run.executor", "run.auto_worker", "run.network",
                "run.parallel", "run.worker_idle", "ssh.command", "ssh.cl", "remote.NAME.url",
                "remote.NAME.token"):
        assert key in rows, (key, out)
    assert "integer" in rows["run.parallel"] and " 2 " in rows["run.parallel"]
    assert "auto" in rows["run.executor"] and "docker" in rows["run.executor"]
    assert "cl_secret" not in out  # tokens are not shown


BAD_FILES = [
    (b"[run]\nparallel = \"abc\"\n", "run.parallel"),
    (b"[run]\nparallel = 0\n", "run.parallel"),
    (b"[run]\nauto_worker = \"no\"\n", "run.auto_worker"),
    (b"[run]\nimgae = \"x\"\n", "did you mean 'run.image'"),
    (b"[remote.origin]\nurl = 5\n", "remote.origin.url"),
    (b"[remote]\norigin = 5\n", "remote.origin"),
    (b"run = 5\n", "'run'"),
    (b"[user]\nname = \"\xff\xfe\"\n", "UTF-8"),
    (b"[run\nimage = \"x\"\n", "config.toml"),
]


@pytest.mark.parametrize("text, names", BAD_FILES)
def test_a_bad_config_file_is_one_line_naming_the_key(project, cl, text, names):
    config_file(project).write_bytes(text)
    for args in (["upload", "-c", "x"], ["run", "echo hi"], ["remote", "ls"], ["config", "run.image"],
                 ["push"]):
        line = one_line_error(cl(args, project, check=False))
        assert names in line and "config.toml" in line, (args, line)
    assert config_file(project).read_bytes() == text
    cl(["ls"], project)  # commands that never read the config still work


def test_user_wide_settings_under_the_repository_and_the_environment(project, cl, cl_home, tmp_path):
    elsewhere = tmp_path / "not-a-repository"
    elsewhere.mkdir()
    cl(["config", "--global", "run.image", "from-user"], elsewhere)  # no repository needed
    cl(["config", "--global", "user.name", "Ada"], elsewhere)
    user_file = cl_home / ".config" / "cl" / "config.toml"
    assert "from-user" in user_file.read_text()
    assert cl(["config", "run.image"], project).stdout == "from-user\n"
    cl(["config", "run.image", "from-repo"], project)
    assert cl(["config", "run.image"], project).stdout == "from-repo\n"
    assert cl(["config", "user.name"], project).stdout == "Ada\n"  # the user's, not overridden
    env = {"CL_RUN_IMAGE": "from-env"}
    assert cl(["config", "run.image"], project, env=env).stdout == "from-env\n"
    origins = cl(["config", "--list", "--show-origin"], project, env=env).stdout
    rows = {line.split()[0]: line for line in origins.splitlines()[1:]}
    assert "CL_RUN_IMAGE" in rows["run.image"]
    assert str(user_file) in rows["user.name"]
    assert "default" in rows["run.parallel"]
    shown = cl(["config", "--show-origin", "run.image"], project).stdout
    assert shown == f"{project / '.codalab' / 'config.toml'}\tfrom-repo\n"
    # XDG_CONFIG_HOME moves the user's file
    xdg = tmp_path / "xdg"
    cl(["config", "--global", "run.parallel", "3"], elsewhere, env={"XDG_CONFIG_HOME": xdg})
    assert (xdg / "cl" / "config.toml").exists()


def test_a_bad_user_file_or_variable_is_one_line_naming_it(project, cl, cl_home):
    user_file = cl_home / ".config" / "cl" / "config.toml"
    user_file.parent.mkdir(parents=True, exist_ok=True)
    user_file.write_text("[run]\nparallel = \"many\"\n")
    line = one_line_error(cl(["config", "run.parallel"], project, check=False))
    assert str(user_file) in line and "run.parallel" in line
    user_file.unlink()
    line = one_line_error(cl(["config", "run.parallel"], project, check=False,
                             env={"CL_RUN_PARALLEL": "many"}))
    assert "CL_RUN_PARALLEL" in line and "integer" in line
    line = one_line_error(cl(["config", "--global", "run.imgae", "x"], project, check=False))
    assert "did you mean 'run.image'" in line
    assert not user_file.exists()


def test_the_executor_choices_are_the_registry_s():
    from cl.config import setting
    from cl.runs.registry import CHOICES
    assert set(setting(("run", "executor")).kind.options) == set(CHOICES)
