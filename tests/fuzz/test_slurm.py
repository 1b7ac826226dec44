"""Bounded fuzz tests for what the Slurm executor parses and writes: Slurm's
`code:signal` exit codes, final job states, `scontrol show job -o` lines,
and the job script, whose quoting must hand any command to the node intact."""

import shlex

from hypothesis import given, settings
from hypothesis import strategies as st

from cl.runs.executor import RunPlan
from cl.runs.layout import Mount
from cl.runs.slurm_executor import SlurmExecutor, _scontrol_fields, outcome, parse_exit_code

FUZZ = settings(max_examples=200, deadline=None)
text = st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)), max_size=60)


@FUZZ
@given(text)
def test_exit_codes_parse_or_say_none(value):
    code = parse_exit_code(value)
    assert code is None or isinstance(code, int)


@FUZZ
@given(st.integers(0, 255), st.integers(0, 64))
def test_exit_codes_round_trip(code, signal):
    assert parse_exit_code(f"{code}:{signal}") == (128 + signal if signal and not code else code)


@FUZZ
@given(st.one_of(text, st.text(" \t\n", max_size=3)), st.one_of(st.none(), text))
def test_every_final_state_becomes_an_outcome(state, exit_code):
    exit_ = outcome(state, exit_code)
    # a run always learns something: an exit code, an OOM, or a message
    assert exit_.code is not None or exit_.oom or exit_.message


@FUZZ
@given(st.dictionaries(st.sampled_from(["JobId", "JobState", "Reason", "ExitCode", "Other"]),
                       st.from_regex(r"[A-Za-z0-9_:()]{1,12}", fullmatch=True), max_size=5))
def test_scontrol_lines_give_back_their_fields(fields):
    line = " ".join(f"{k}={v}" for k, v in fields.items())
    assert _scontrol_fields(line) == {k: v for k, v in fields.items() if k != "Other"}


@FUZZ
@given(text.filter(lambda t: "/bin/sh -c" not in t and "\nfi\n" not in t and "\nelse\n" not in t), st.from_regex(r"[a-z0-9 ._'\"$-]{1,20}", fullmatch=True))
def test_the_script_hands_the_command_over_intact(command, key):
    plan = RunPlan(bundle="b" * 64, repo_root="/repo/.codalab", worker="w", command=command,
                   run_dir="/repo/.codalab/runs/" + "b" * 64,
                   mounts=(Mount(key, "/repo/.codalab/checkouts/c", "dir"),))
    script = SlurmExecutor().script(plan)
    # the fallback's statement, and the sandbox's arguments, carry it intact
    fallback = script[script.rindex("\n/bin/sh -c ") + 1:script.rindex("\nfi\n")]
    assert shlex.split(fallback) == ["/bin/sh", "-c", command]
    start = script.index("then\n  unshare ") + len("then\n")
    sandbox = shlex.split(script[start:script.index("\nelse\n", start)])
    run_dir = sandbox.index("cl-run") + 1
    assert sandbox[run_dir:run_dir + 2] == [plan.run_dir, command]
    assert sandbox[-2:] == ["/repo/.codalab/checkouts/c", key]
