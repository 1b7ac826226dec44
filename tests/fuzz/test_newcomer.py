"""Bounded fuzzing of the suggestions on the error path: `did_you_mean`
takes any mistyped word and any names (a repository's bundle names are
anything a user typed) and answers None or a hint naming only those names;
the completion table names a kind for any parameter name or none."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cl.errors import did_you_mean

SETTINGS = settings(max_examples=300, deadline=None)
words = st.text(max_size=20)
# names as bundle and worksheet names usually read (no quote, no space)
names_words = st.text(alphabet="abcdeio.-_019", max_size=12)


@SETTINGS
@given(words, st.lists(words, max_size=30))
def test_did_you_mean_never_fails(word, names):
    hint = did_you_mean(word, names)
    assert hint is None or (hint.startswith("did you mean '") and hint.endswith("'?"))


@SETTINGS
@given(names_words, st.lists(names_words, max_size=30))
def test_did_you_mean_names_only_given_names(word, names):
    hint = did_you_mean(word, names)
    if hint is not None:
        offered = [o.strip("'") for o in hint[len("did you mean "):-1].split(" or ")]
        assert 1 <= len(offered) <= 3
        assert all(o in names and o != word for o in offered)


@SETTINGS
@given(words)
def test_a_word_is_never_suggested_for_itself(word):
    assert did_you_mean(word, [word]) is None
