"""`redflags review`: rows closest to a threshold, spread across categories and lengths, no near-duplicates,
written in the corpus format with the model's guess."""
import numpy as np
import pandas as pd
import pytest

from redflags.batch.frame import SCORE_COLUMNS
from redflags.batch.review import OUTPUT_COLUMNS, ReviewError, candidates, pick, write_review
from redflags.model.taxonomy import CATEGORIES
from redflags.training.data import load_anecdotes

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa "
         "quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()


def distinct_text(i: int, words: int = 12) -> str:
    """Texts that share no word sequence, so none is a near-duplicate of another."""
    rng = np.random.default_rng(i)
    return " ".join(f"{rng.choice(WORDS)}{rng.integers(0, 10**6)}" for _ in range(words)) + "."


def scored_row(text, probs, error="", rid=None):
    """A row as `redflags score` writes it (thresholds of the tiny model are 0.5 everywhere)."""
    row = {"rid": rid or "", "answer": text}
    flags = [c for c, p in zip(CATEGORIES, probs) if p >= 0.5]
    row.update({"red_flags": ";".join(flags), "flag_count": str(len(flags)) if not error else "",
                **{f"p_{c}": ("" if error else f"{p:.4f}") for c, p in zip(CATEGORIES, probs)},
                "recommendation": "" if error else ("end_interview" if flags else "continue"), "error": error})
    return row


def probs_near(k, p, rest=0.02):
    out = [rest] * len(CATEGORIES)
    out[k] = p
    return out


def write_scored(path, rows):
    frame = pd.DataFrame(rows)
    assert set(SCORE_COLUMNS) <= set(frame.columns)
    frame.to_csv(path, index=False)
    return frame


def test_picks_the_rows_closest_to_a_threshold(tmp_path, tiny_model_path):
    # category 0 only: margins 0.45, 0.30, 0.01, 0.10, 0.02 (both sides of the threshold)
    ps = [0.05, 0.80, 0.51, 0.40, 0.48]
    rows = [scored_row(distinct_text(i), probs_near(0, p), rid=f"x{i}") for i, p in enumerate(ps)]
    write_scored(tmp_path / "scored.csv", rows)
    out = tmp_path / "to_label.csv"
    assert write_review(str(tmp_path / "scored.csv"), str(out), n=3, text_column="answer", id_column="rid",
                        model_path=tiny_model_path) == 3
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert got["id"].tolist() == ["x2", "x4", "x3"]
    assert got.loc[0, "labels"] == "disrespect" and got.loc[1, "labels"] == ""   # the model's guess
    assert got.loc[0, "recommendation"] == "end_interview"
    assert "disrespect threshold" in got.loc[0, "note"]


def test_spread_across_categories_and_length_bands():
    rows = []
    for k in range(len(CATEGORIES)):
        for j in range(6):   # six short rows per category, and one long one further from the threshold
            rows.append(scored_row(distinct_text(100 * k + j), probs_near(k, 0.5 + 0.01 * j)))
        rows.append(scored_row(distinct_text(100 * k + 50, words=60), probs_near(k, 0.3)))
    strata = candidates([pd.DataFrame(rows)], np.full(len(CATEGORIES), 0.5), "answer", None, per_stratum=20)
    picked = pick(strata, 18)
    assert sorted({r["category"] for r in picked}) == sorted(CATEGORIES)
    # every category gives its short row closest to the threshold and its long row before any second short one
    assert sum(r["band"] == "40-150 words" for r in picked) == len(CATEGORIES)
    assert all(r["margin"] == pytest.approx(0.0) for r in picked if r["band"] == "under 40 words")


def test_near_duplicates_and_exact_duplicates_are_picked_once():
    base = "The recruiter kept me waiting for an hour in the lobby and never explained why at all."
    rows = [scored_row(base, probs_near(5, 0.50)),
            scored_row("  the recruiter kept me WAITING for an hour in the lobby and never explained why at all. ",
                       probs_near(5, 0.50)),                                                  # same, normalised
            scored_row(base.replace("an hour", "one hour"), probs_near(5, 0.51)),             # near-duplicate
            scored_row(distinct_text(7), probs_near(5, 0.53))]
    strata = candidates([pd.DataFrame(rows)], np.full(len(CATEGORIES), 0.5), "answer", None, per_stratum=10)
    picked = pick(strata, 10)
    assert len(picked) == 2
    assert picked[0]["row"] == 1 and picked[1]["text"] == rows[3]["answer"]


def test_selection_does_not_depend_on_chunking():
    rng = np.random.default_rng(3)
    rows = [scored_row(distinct_text(i, words=int(rng.integers(5, 200))), list(rng.random(len(CATEGORIES))))
            for i in range(300)]
    frame = pd.DataFrame(rows)
    thresholds = np.full(len(CATEGORIES), 0.5)
    whole = pick(candidates([frame], thresholds, "answer", None, 25), 25)
    chunked = pick(candidates([frame.iloc[i:i + 17] for i in range(0, 300, 17)], thresholds, "answer", None, 25), 25)
    assert [r["row"] for r in whole] == [r["row"] for r in chunked]


def test_output_is_the_corpus_format_and_loads_as_extra_labels(tmp_path, tiny_model_path):
    rows = [scored_row(distinct_text(i), probs_near(i % 9, 0.3 + 0.04 * (i % 10))) for i in range(40)]
    rows.append(scored_row("", [0.0] * 9, error="blank text"))
    rows.append(scored_row("=HYPERLINK(\"http://x\") they asked my age", probs_near(1, 0.5)))
    write_scored(tmp_path / "scored.csv", rows)
    out = tmp_path / "to_label.csv"
    n = write_review(str(tmp_path / "scored.csv"), str(out), n=15, text_column="answer",
                     model_path=tiny_model_path)
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(got.columns) == OUTPUT_COLUMNS and len(got) == n == 15
    assert "" not in got["text"].str.strip().tolist()           # rows not scored are never offered
    assert not got["text"].str.startswith("=").any()           # a spreadsheet will not run a formula
    corpus = load_anecdotes(out, extra_columns=True)            # what `redflags train --extra` reads
    assert len(corpus) == 15 and corpus.frame["id"].str.match(r"r\d+$").all()


def test_errors(tmp_path, tiny_model_path):
    write_scored(tmp_path / "scored.csv", [scored_row(distinct_text(1), probs_near(0, 0.5))])
    with pytest.raises(ReviewError, match="no column"):
        write_review(str(tmp_path / "scored.csv"), str(tmp_path / "o.csv"), text_column="text",
                     model_path=tiny_model_path)
    with pytest.raises(ReviewError, match="no such file"):
        write_review(str(tmp_path / "missing.csv"), str(tmp_path / "o.csv"), model_path=tiny_model_path)
    with pytest.raises(ReviewError, match="overwrite"):
        write_review(str(tmp_path / "scored.csv"), str(tmp_path / "scored.csv"), text_column="answer",
                     model_path=tiny_model_path)
    write_scored(tmp_path / "bad.csv", [scored_row("x", [0.0] * 9, error="blank text")])
    with pytest.raises(ReviewError, match="no scored row"):
        write_review(str(tmp_path / "bad.csv"), str(tmp_path / "o.csv"), text_column="answer",
                     model_path=tiny_model_path)
    assert not (tmp_path / "o.csv").exists()


def test_cli_review(tmp_path, tiny_model_path, capsys):
    from redflags.cli import main

    write_scored(tmp_path / "scored.csv", [scored_row(distinct_text(i), probs_near(0, 0.45)) for i in range(5)])
    code = main(["review", str(tmp_path / "scored.csv"), "-o", str(tmp_path / "l.csv"), "--text-column", "answer",
                 "--n", "3", "--model", str(tiny_model_path)])
    assert code == 0 and len(pd.read_csv(tmp_path / "l.csv")) == 3
    assert main(["review", str(tmp_path / "scored.csv"), "-o", str(tmp_path / "l.csv"), "--model",
                 str(tiny_model_path)]) == 2
    assert "redflags review:" in capsys.readouterr().err
