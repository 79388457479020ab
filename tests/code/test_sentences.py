"""Sentence spans: offsets index the original text, and nothing with words is lost."""
import pytest
from hypothesis import given, strategies as st

from redflags.model.sentences import sentence_spans


@pytest.mark.parametrize("text, pieces", [
    ("One. Two! Three?", ["One.", "Two!", "Three?"]),
    ('He said "we want young energy." Then left.', ['He said "we want young energy."', "Then left."]),
    ("line one\nline two", ["line one", "line two"]),
    ("no punctuation at all", ["no punctuation at all"]),
    ("   ", []),
    ("...", []),
])
def test_examples(text, pieces):
    assert [text[s:e] for s, e in sentence_spans(text)] == pieces


def test_run_on_text_is_cut_into_windows():
    text = " ".join(f"w{i}" for i in range(200))
    spans = sentence_spans(text)
    assert len(spans) > 1
    assert all(len(text[s:e].split()) <= 60 for s, e in spans)


@given(st.text(max_size=400))
def test_spans_are_ordered_stripped_and_cover_every_word(text):
    spans = sentence_spans(text)
    last = 0
    for s, e in spans:
        assert last <= s < e <= len(text)
        assert not text[s].isspace() and not text[e - 1].isspace()
        last = e
    covered = "".join(text[s:e] for s, e in spans)
    assert sum(ch.isalnum() for ch in covered) == sum(ch.isalnum() for ch in text)


def test_clause_spans_split_lists_of_conduct():
    from redflags.model.sentences import clause_spans

    text = "The owner laughed at my CV, asked how old I was, and said the job might be part-time now."
    assert [text[s:e] for s, e in clause_spans(text)] == [
        "The owner laughed at my CV,", "asked how old I was,", "and said the job might be part-time now."]


@given(st.text(max_size=300))
def test_clause_spans_are_ordered_and_inside_sentences(text):
    from redflags.model.sentences import clause_spans

    sentences = sentence_spans(text)
    last = 0
    for s, e in clause_spans(text):
        assert last <= s < e <= len(text)
        assert any(a <= s and e <= b for a, b in sentences)
        last = e


@given(st.text(max_size=80), st.data())
def test_strip_span_moves_inwards_past_white_space_only(text, data):
    from redflags.model.sentences import strip_span

    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    s, e = strip_span(text, start, end)
    assert start <= s <= e <= end
    assert text[s:e] == text[start:end].strip()
    assert all(c.isspace() for c in text[start:s] + text[e:end])


@given(st.text(max_size=80))
def test_sentences_hold_a_letter_or_digit(text):
    for s, e in sentence_spans(text):
        assert any(c.isalnum() for c in text[s:e]) and text[s:e] == text[s:e].strip()
