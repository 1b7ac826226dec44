"""Bounded fuzzing of what users type into files (issue 13, "done when"):
config.toml and worksheet markup.  Random text gives a value or one
CLError, never another exception; what cl writes it reads back the same;
a refused edit changes nothing."""

import os
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cl.config import SETTINGS, Config, dumps
from cl.errors import CLError
from cl.repo import Repository
from cl.worksheets import edit, markup
from cl.worksheets.interpret import interpret

BOUNDED = settings(max_examples=200, deadline=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# --- config.toml ----------------------------------------------------------------

KNOWN = [s.key.replace("*", "origin") for s in SETTINGS]
names = st.sampled_from(["run", "user", "remote", "origin", "ssh", "core", "image", "parallel",
                         "url", "token", "x", "a.b", "\"q\"", "", "é", "run.image"]
                        + [k.rsplit(".", 1)[-1] for k in KNOWN])
values = st.one_of(
    st.integers(min_value=-(10 ** 30), max_value=10 ** 30).map(str),
    st.sampled_from(["true", "false", "yes", "\"\"", "[]", "[1, \"a\"]", "{a = 1}", "1979-05-27",
                     "1e400", "nan", "inf", "0x10", "\"10m\"", "\"auto\"", "\"docker\"", "'lit'",
                     "\"\"\"multi\nline\"\"\"", "\"\\u0000\"", "\"\\uD800\"", "\"\\x\""]),
    st.text(max_size=20).map(lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"') + '"'),
)
lines = st.one_of(
    st.builds(lambda a, b: f"[{a}.{b}]" if b else f"[{a}]", names, st.one_of(st.just(""), names)),
    st.builds(lambda k, v: f"{k} = {v}", names, values),
    st.text(max_size=30),
)
config_texts = st.lists(lines, max_size=12).map("\n".join)


def _read(path):
    try:
        return Config(path)
    except CLError:
        return None


@BOUNDED
@given(text=config_texts, raw=st.binary(max_size=40))
def test_any_config_file_is_read_or_refused_in_one_clerror(tmp_path, text, raw):
    path = str(tmp_path / "config.toml")
    for data in (text.encode("utf-8", "surrogatepass"), raw, text.encode("utf-8", "surrogatepass") + raw):
        with open(path, "wb") as f:
            f.write(data)
        config = _read(path)
        if config is None:
            continue
        # what the file held, written back by cl, reads back the same
        config.save()
        again = _read(path)
        assert again is not None and again.data == config.data, (data, dumps(config.data))


setting_keys = st.one_of(st.sampled_from(KNOWN), st.builds(lambda a, b: f"{a}.{b}", names, names))
setting_values = st.one_of(st.text(max_size=30), st.sampled_from(["1", "0", "true", "no", "10m", "9" * 40,
                                                                   "auto", "local", "-3", "1.5"]))


@BOUNDED
@given(changes=st.lists(st.tuples(setting_keys, setting_values), max_size=8))
def test_any_cl_config_sequence_is_kept_or_refused_and_reads_back(tmp_path, changes):
    path = str(tmp_path / "config.toml")
    if os.path.exists(path):
        os.unlink(path)
    config = Config(path)
    for key, value in changes:
        table, _, name = key.rpartition(".")
        before = dumps(config.data)
        try:
            config.set(table, name, value)
        except CLError:
            assert dumps(config.data) == before  # a refused value changes nothing
            continue
        config.save()
        assert Config(path).data == config.data


# --- worksheet markup -------------------------------------------------------------

pieces = st.sampled_from([
    "% display table", "% display tabel", "% display contents maxlines=x", "% display image width=3",
    "% schema s", "% addschema s", "% add name", "% add k name [0:2]", "% title", "% title A title",
    "% search a.txt", "% wsearch x", "% 'unclosed", "%", "!", "!cl", "!rm ^", "!cl rm ^2-1",
    "!'quote", "{a.txt}", "{^}", "{^9}", "[desc]{a.txt}", "{{other}}", "{{nows}}", "[d]{{other}}",
    "{0x}", "{0x" + "a" * 64 + "}", "{{0x" + "b" * 32 + "}}", "{ }", "{{}}", "// a comment",
    "text", "# heading", "| a | b |", "", "\t", "\r", "%\x00", "{a.txt/x}", "{a.txt/../..}",
])
markup_texts = st.lists(st.one_of(pieces, st.text(max_size=25)), max_size=10).map("\n".join)


@BOUNDED
@given(text=markup_texts)
def test_any_markup_parses_or_names_its_line(text):
    try:
        parsed = markup.parse(text)
    except CLError as exc:
        assert exc.message.startswith("line ")
        return
    printed = markup.print_text(parsed)
    assert markup.print_text(markup.parse(printed)) == printed  # a fixed point after one round


@pytest.fixture(scope="module")
def repository():
    home = tempfile.mkdtemp(prefix="cl-fuzz-inputs-")
    repo = Repository.init(home, worksheet="main")
    from cl.bundles.upload import UploadRequest, upload
    upload(repo, UploadRequest(text="a\n", name="a.txt"))
    repo.new_worksheet("other")
    yield repo
    repo.close()
    shutil.rmtree(home)


@BOUNDED
@given(text=markup_texts)
def test_any_edited_text_is_saved_or_changes_nothing(repository, text):
    repo = repository
    wid = repo.current_worksheet()
    head, ws = repo.worksheet_head(wid)
    try:
        edit.save_text(repo, wid, text, expected_head=head)
    except CLError:
        assert repo.worksheet_head(wid)[0] == head
        return
    new_head, new_ws = repo.worksheet_head(wid)
    interpret(repo, new_ws, commit=new_head)  # and what was saved can be shown


# --- command lines ------------------------------------------------------------------

words = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["run.image", "run.parallel", "run.imgae", "remote.o.url", "user.name", "-n", "--tags",
                     "9" * 40, "1e20", "-1", "caf\udce9", "\udcff", "", "--", "-", "^", "%", "0x"]),
)
argvs = st.one_of(
    st.builds(lambda k, v: ["config", k, v], words, words),
    st.builds(lambda k: ["config", k], words),
    st.builds(lambda t, n, d, g: ["upload", "-c", t, "-n", n, "-d", d, "--tags", g], words, words, words, words),
    st.builds(lambda n, t: ["cat", "--tail", n, t], words, words),
    st.builds(lambda t: ["add", "-m", t], words),
)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(argv=argvs)
def test_any_command_line_is_done_or_one_line(repository, capsys, argv):
    """In-process `cl ARGV`: it succeeds, or stderr is at most one line
    (`cl config KEY` of an unset key exits 1 saying nothing, as git does)
    and the exit is not the bug exit (70)."""
    from cl.cli.main import main
    here = os.getcwd()
    os.chdir(os.path.dirname(repository.root))
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    finally:
        os.chdir(here)
    err = capsys.readouterr().err
    assert code != 70 and "Traceback" not in err, (argv, err)
    if code:
        assert len(err.strip().splitlines()) <= 1, (argv, err)
