"""`redflags train --extra`: the user's rows validated like the corpus, split, and weighted in the fit."""
import numpy as np
import pandas as pd
import pytest

from redflags.model.taxonomy import CATEGORIES
from redflags.training.data import CorpusError, label_matrix, load_anecdotes
from redflags.training.extra import MIN_ROWS_ASIDE, extra_section, extra_summary, load_extra
from redflags.training.train import fit_final
from tests.tiny import TINY


@pytest.fixture()
def corpus(tmp_path):
    frame = pd.DataFrame([{"id": f"c{i}", "text": t, "labels": ";".join(l), "recommendation": r}
                          for i, (t, l, r) in enumerate(TINY)])
    frame.to_csv(tmp_path / "corpus.csv", index=False)
    return load_anecdotes(tmp_path / "corpus.csv")


def user_rows(n, start=0):
    """Labelled rows of the user's own survey (invented), a note column as `redflags review` writes it."""
    kinds = [("The call started {k} minutes late and the panel had not read my CV.", "disorganized_process",
              "proceed_with_caution"),
             ("They asked me to pay {k} dollars for a starter kit before the offer.", "scam", "end_interview"),
             ("Calm conversation about the role, number {k}, and a clear timeline.", "", "continue")]
    rows = []
    for i in range(start, start + n):
        text, labels, rec = kinds[i % 3]
        rows.append({"id": f"u{i}", "text": text.format(k=i + 3), "labels": labels, "recommendation": rec,
                     "note": "closest to the scam threshold"})
    return rows


def test_problems_name_the_file_the_row_and_the_problem(tmp_path, corpus):
    rows = user_rows(6)
    rows[1]["labels"] = "rude"
    rows[3]["recommendation"] = "walk_out"
    rows[4]["id"] = "u0"
    path = tmp_path / "mine.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    with pytest.raises(CorpusError) as caught:
        load_extra(path, corpus)
    message = str(caught.value)
    assert "3 problem(s)" in message
    assert f"{path}: row u1: unknown label(s) ['rude']" in message
    assert f"{path}: row u3: bad recommendation 'walk_out'" in message
    assert f"{path}: row u0: duplicate id (also on line 2)" in message


def test_missing_columns_and_bad_weight(tmp_path, corpus):
    path = tmp_path / "mine.csv"
    pd.DataFrame(user_rows(4)).drop(columns=["recommendation"]).to_csv(path, index=False)
    with pytest.raises(CorpusError, match=r"missing \['recommendation'\]"):
        load_extra(path, corpus)
    pd.DataFrame(user_rows(4)).to_csv(path, index=False)
    with pytest.raises(CorpusError, match="--extra-weight must be above 0"):
        load_extra(path, corpus, weight=0)


def test_rows_already_in_the_corpus_are_skipped(tmp_path, corpus):
    rows = user_rows(10)
    rows[2]["text"] = "  " + TINY[0][0].upper()      # the corpus's own text, in other case and spacing
    path = tmp_path / "mine.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    extra = load_extra(path, corpus, seed=1)
    assert extra.skipped == ("u2",)
    used = set(extra.train_idx) | set(extra.aside_idx)
    assert 2 not in used and len(used) == 9


def test_a_quarter_is_kept_aside_disjoint_and_repeatable(tmp_path, corpus):
    path = tmp_path / "mine.csv"
    pd.DataFrame(user_rows(40)).to_csv(path, index=False)
    a, b = load_extra(path, corpus, seed=5), load_extra(path, corpus, seed=5)
    assert not set(a.train_idx) & set(a.aside_idx)
    assert len(a.train_idx) + len(a.aside_idx) == 40 and 8 <= len(a.aside_idx) <= 12
    np.testing.assert_array_equal(a.aside_idx, b.aside_idx)
    record = a.record()
    assert record["sha256"] == a.labelled.sha256 and record["kept_aside"] == len(a.aside_idx)
    assert record["file"] == "mine.csv" and record["weight"] == 1.0   # automatic: 30 rows vs a corpus of 24
    heavy = load_extra(path, corpus, seed=5, corpus_train_rows=6000)
    assert heavy.weight == pytest.approx(0.2 * 6000 / len(heavy.train_idx), abs=0.01)
    assert load_extra(path, corpus, weight=7.5).weight == 7.5


def test_too_few_rows_keeps_none_aside_and_says_so(tmp_path, corpus):
    path = tmp_path / "mine.csv"
    pd.DataFrame(user_rows(MIN_ROWS_ASIDE - 1)).to_csv(path, index=False)
    extra = load_extra(path, corpus)
    assert len(extra.aside_idx) == 0 and len(extra.train_idx) == MIN_ROWS_ASIDE - 1
    record = {**extra.record(), "before": None, "after": None}
    assert "none kept aside" in extra_summary(record)
    assert extra.sha256 in extra_section(record)


def test_sample_weight_moves_the_fit_towards_the_weighted_rows():
    """The same contradicting row, weighted 1 and 20: the heavier one pulls its category's probability up."""
    texts = [t for t, _, _ in TINY] + ["A friendly panel asked me about my kids and my husband."]
    labels = [l for _, l, _ in TINY] + [["discrimination"]]
    Y = label_matrix(labels)
    params = {"features": "word", "word_ngram_max": 1, "min_df": 1, "C": 1.0, "class_weight": "none"}
    k = CATEGORIES.index("discrimination")
    probe = ["A friendly panel asked me about my kids."]
    plain, _ = fit_final(texts, Y, params, seed=0)
    weights = np.ones(len(texts))
    weights[-1] = 20.0
    weighted, _ = fit_final(texts, Y, params, seed=0, sample_weight=weights)
    p_plain = plain.predict_proba(probe)[0, k]
    p_weighted = weighted.predict_proba(probe)[0, k]
    assert p_weighted > p_plain + 0.1
    unit, _ = fit_final(texts, Y, params, seed=0, sample_weight=np.ones(len(texts)))
    assert unit.predict_proba(probe)[0, k] == pytest.approx(p_plain, abs=1e-6)   # weight 1 is no weight


def test_cli_train_with_a_bad_extra_file_stops_before_training(tmp_path, corpus, capsys):
    from redflags.cli import main

    rows = user_rows(5)
    rows[2]["labels"] = "disrespect;disrespect"
    pd.DataFrame(rows).to_csv(tmp_path / "mine.csv", index=False)
    code = main(["train", "--data", str(tmp_path / "corpus.csv"), "--out", str(tmp_path / "m"),
                 "--reports", str(tmp_path / "r"), "--extra", str(tmp_path / "mine.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "row u2: a label is repeated" in err and str(tmp_path / "mine.csv") in err
    assert not (tmp_path / "m").exists()
