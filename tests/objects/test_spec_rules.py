"""Every MUST rule of docs/format.md ([F1], [F2], …) is checked by a test
under tests/objects/ that names it, and every label a test names exists."""

import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
LABEL = re.compile(r"\[F(\d+)\]")


def _labels(text):
    return {int(n) for n in LABEL.findall(text)}


def test_every_rule_has_a_test():
    with open(os.path.join(HERE, "..", "..", "docs", "format.md")) as f:
        doc = _labels(f.read())
    assert doc == set(range(1, max(doc) + 1)), "rules are numbered F1..Fn without gaps"
    tested = set()
    for name in os.listdir(HERE):
        if name.startswith("test_") and name.endswith(".py") and name != "test_spec_rules.py":
            with open(os.path.join(HERE, name)) as f:
                tested |= _labels(f.read())
    assert doc - tested == set(), "rules without a test"
    assert tested - doc == set(), "tests naming rules the spec does not have"
