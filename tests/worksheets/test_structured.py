from cl.worksheets import structured
from cl.worksheets.structured import extract, load_yaml, read_table


def test_json_nested_and_lists():
    data = b'{"train": {"errorRate": 0.2, "epochs": [1, 2, 3]}, "method": "simple"}'
    assert extract(data, "stats.json", "train/errorRate") == 0.2
    assert extract(data, "stats", "method") == "simple"
    assert extract(data, "stats", "train/epochs/1") == 2
    assert extract(data, "stats", "train/missing") is None
    assert extract(data, "stats", "method/deeper") is None


def test_yaml_simple_form():
    text = "errorRate: 0.2\nmethod: simple   # a comment\nname: 'a: b'\ntrain:\n  loss: 1.5\n  ok: true\n" \
           "layers:\n  - 64\n  - 32\nnothing:\n"
    doc = load_yaml(text)
    assert doc == {"errorRate": 0.2, "method": "simple", "name": "a: b",
                   "train": {"loss": 1.5, "ok": True}, "layers": [64, 32], "nothing": None}
    assert extract(text.encode(), "stats", "train/loss") == 1.5
    assert extract(text.encode(), "stats.yaml", "layers/0") == 64


def test_yaml_list_of_maps():
    doc = load_yaml("runs:\n  - name: a\n    score: 1\n  - name: b\n    score: 2\n")
    assert doc == {"runs": [{"name": "a", "score": 1}, {"name": "b", "score": 2}]}


def test_tsv_and_whitespace_separated():
    assert extract(b"errorRate\t0.2\nmethod\tsimple\n", "stats", "errorRate") == 0.2
    assert extract(b"errorRate   0.2\nmethod      simple words\n", "stats", "method") == "simple words"
    assert extract(b"errorRate\t0.2\n", "stats.tsv", "errorRate") == 0.2


def test_unreadable_is_none():
    assert extract(b"{not json", "x.json", "a") is None


def test_scalars():
    s = structured.scalar
    assert (s("12"), s("-1.5e3"), s("true"), s("~"), s('"q"'), s("[1, 2]"), s("word")) == \
           (12, -1500.0, True, None, "q", [1, 2], "word")


def test_read_table_with_and_without_header():
    assert read_table(b"epoch\tloss\n1\t0.5\n2\t0.25\n") == (["epoch", "loss"], [[1, 0.5], [2, 0.25]])
    assert read_table(b"1 0.5\n2 0.25\n") == (["0", "1"], [[1, 0.5], [2, 0.25]])
    assert read_table(b"") == ([], [])


def test_yaml_flow_maps_and_lists():
    """`{a: 1}` is a map in YAML (the old hand-written reader kept it as
    the text '{a: 1}', so `train/lr` found nothing)."""
    text = b"train: {lr: 0.1, layers: [64, 32]}\nname: run-1\n"
    assert extract(text, "params.yaml", "train/lr") == 0.1
    assert extract(text, "params.yaml", "train/layers/1") == 32
    assert extract(text, "params", "name") == "run-1"


def test_yaml_folded_and_literal_text():
    """`>` folds lines into one with spaces, `|` keeps them (the old reader
    returned the bare '>' and lost the text)."""
    text = b"note: >\n  a long\n  description\nlog: |\n  line one\n  line two\nafter: 3\n"
    assert extract(text, "meta.yaml", "note") == "a long description\n"
    assert extract(text, "meta.yaml", "log") == "line one\nline two\n"
    assert extract(text, "meta.yaml", "after") == 3


def test_yaml_keys_that_read_as_other_types_are_text():
    text = b"1: one\n2024-01-31: dated\nnested: {0.5: half}\n"
    assert extract(text, "k.yaml", "1") == "one"
    assert extract(b"true: yes-key\n", "k.yaml", "true") == "yes-key"
    assert extract(text, "k.yaml", "2024-01-31") == "dated"
    assert extract(text, "k.yaml", "nested/0.5") == "half"


def test_yaml_never_builds_python_objects():
    """The safe loader: a tag naming a Python function is an error, so the
    value is absent (and nothing ran)."""
    text = b"x: !!python/object/apply:os.system ['touch /tmp/cl-yaml-pwned']\n"
    assert extract(text, "evil.yaml", "x") is None


def test_bad_yaml_and_deep_nesting_are_absent_values():
    assert extract(b"a: [unclosed\n", "x.yaml", "a") is None
    assert extract(b"[" * 100_000 + b"]" * 100_000, "deep.json", "0") is None
