"""The real corpus: schema, allowed labels, the project's corpus rules, and the datasheet in step."""
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.neighbors import NearestNeighbors

from redflags.config import DEFAULT_DATA
from redflags.model.taxonomy import CATEGORIES, RECOMMENDATIONS
from redflags.training.data import load_anecdotes
from redflags.training.datasheet import agreement_table, counts_table

ROOT = Path(__file__).resolve().parents[2]
SHARED_REPORT = ROOT.parent / "shared" / "tools" / "corpus_report.py"


@pytest.fixture(scope="module")
def corpus():
    return load_anecdotes(DEFAULT_DATA)  # raises CorpusError on any schema problem


def test_size_and_mix(corpus):
    sets = corpus.label_sets
    counts = Counter(label for s in sets for label in s)
    assert len(corpus) >= 1500
    assert all(counts[c] >= 120 for c in CATEGORIES), counts
    assert sum(1 for s in sets if not s) >= 400
    assert sum(1 for s in sets if len(s) >= 2) >= 250
    recs = Counter(corpus.recommendations)
    assert all(recs[r] >= 150 for r in RECOMMENDATIONS), recs


def test_lengths_vary(corpus):
    words = corpus.frame["text"].str.split().str.len()
    assert (words < 40).mean() >= 0.25 and (words > 150).mean() >= 0.20


def test_no_near_duplicates_and_no_overused_openings(corpus):
    X = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(corpus.texts)
    dist, _ = NearestNeighbors(n_neighbors=2, metric="cosine").fit(X).kneighbors(X)
    sim = 1 - dist[:, 1]
    assert (sim >= 0.8).sum() == 0 and sim.mean() <= 0.35
    openings = Counter(" ".join(re.findall(r"\w+", t.lower())[:3]) for t in corpus.texts)
    assert openings.most_common(1)[0][1] <= max(10, 0.02 * len(corpus))


# The writer's own judgement words (the taxonomy's rule): each must teach both ways, as a real flag
# of its category and in realistic negatives ("not rude, just blunt"), with the flags in the majority.
# "unprofessional" judges any kind of conduct (a no-show as often as a sneer): any flag counts.
JUDGEMENT_WORDS = [
    ("disrespect", r"\brude\b"), (None, r"\bunprofessional\b"), ("disrespect", r"\bcondescending\b"),
    ("discrimination", r"\bdiscriminat"), ("harassment", r"\bcreep"), ("scam", r"\bscam"),
    ("toxic_culture", r"\btoxic\b"), ("disorganized_process", r"\bghost(?:ed|ing)\b"),
    ("bait_and_switch", r"\bbait[- ]and[- ]switch\b"), ("unreasonable_task", r"\bfree (?:labou?r|work)\b"),
]


@pytest.mark.parametrize("category, pattern", JUDGEMENT_WORDS)
def test_judgement_words_appear_as_flags_and_as_negatives(corpus, category, pattern):
    flagged = corpus.Y.any(axis=1) if category is None else corpus.Y[:, CATEGORIES.index(category)] == 1
    has = corpus.frame["text"].str.contains(pattern, case=False, regex=True).to_numpy()
    positives = int((has & flagged).sum())
    negatives = int((has & ~flagged).sum())
    assert positives >= 15 and negatives >= 3, (positives, negatives)
    assert positives > negatives, (positives, negatives)


DEV = ROOT.parent / "shared" / "dev" / "real_dev.csv"


@pytest.mark.skipif(not DEV.exists(), reason="../shared/dev is not beside this checkout")
def test_no_corpus_row_is_a_near_duplicate_of_a_real_dev_account(corpus):
    """The dev set is only for measuring: nothing in data/ may copy or paraphrase its rows."""
    import pandas as pd

    dev = pd.read_csv(DEV, dtype=str, keep_default_na=False)["text"].tolist()
    vec = TfidfVectorizer(sublinear_tf=True).fit(corpus.texts + dev)
    sim = (vec.transform(corpus.texts) @ vec.transform(dev).T).toarray()
    close = np.argwhere(sim >= 0.5)
    assert len(close) == 0, [(corpus.frame["id"].iloc[i], f"dev row {j}", round(float(sim[i, j]), 2))
                             for i, j in close[:10]]


def test_styles_are_varied(corpus):
    styles = Counter(corpus.frame["style"])
    assert len(styles) >= 8 and styles.most_common(1)[0][1] / len(corpus) < 0.35


@pytest.mark.skipif(not SHARED_REPORT.exists(), reason="../shared is not beside this checkout")
def test_shared_corpus_report_passes():
    done = subprocess.run([sys.executable, str(SHARED_REPORT), str(DEFAULT_DATA)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all corpus rules hold" in done.stdout


def test_datasheet_tables_are_current(corpus):
    """data/README.md carries the tables the command prints; they must not drift from the data."""
    sheet = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    assert counts_table(DEFAULT_DATA) in sheet
    assert agreement_table(DEFAULT_DATA.parent / "relabel", len(corpus)) in sheet


def test_relabel_sample_ids_exist(corpus):
    import pandas as pd

    sample = pd.read_csv(DEFAULT_DATA.parent / "relabel" / "first_pass.csv", dtype=str)
    assert set(sample["id"]) <= set(corpus.frame["id"])
    assert len(sample) >= 0.1 * 1853 - 1


@pytest.mark.skipif(not (ROOT.parent / "shared" / "TAXONOMY.md").exists(), reason="../shared is not beside this checkout")
def test_datasheet_guide_is_in_step_with_shared_taxonomy():
    shared = (ROOT.parent / "shared" / "TAXONOMY.md").read_text(encoding="utf-8").split("\n", 1)[1]
    expected = re.sub(r"^## ", "### ", shared, flags=re.M).strip()
    assert expected in (ROOT / "data" / "README.md").read_text(encoding="utf-8")
