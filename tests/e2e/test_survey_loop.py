"""The researcher's loop, through the `redflags` command as a user runs it: score a survey with a report,
pick rows to label, label them, retrain with them, score again (README, "Your own survey").

The survey is the project's own invented file (tests/e2e/data/survey_sample.csv, 46 answers in four
departments, two of them too small to show alone) and its labelled twin; the model is trained on a
sample of the corpus with a reduced grid, so the loop runs in about a minute."""
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from redflags.config import DEFAULT_DATA
from tests.code.test_report import parse

pytestmark = pytest.mark.e2e

DATA = Path(__file__).resolve().parent / "data"
SURVEY = DATA / "survey_sample.csv"
LABELLED = DATA / "survey_sample_labelled.csv"
REDFLAGS = str(Path(sys.executable).with_name("redflags"))
SMALL_CONFIG = """
seed = 7
test_size = 0.2
cv_folds = 2
[grid]
features = ["word"]
word_ngram_max = [2]
min_df = [2]
C = [4.0]
class_weight = ["balanced"]
[combine]
candidates = ["whole"]
sentence_override = false
"""


def redflags(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([REDFLAGS, *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def sidecar(model_dir: Path) -> dict:
    return json.loads((model_dir / "model.joblib.json").read_text(encoding="utf-8"))


def test_score_report_review_label_retrain_score_again(tmp_path):
    corpus = tmp_path / "corpus.csv"
    pd.read_csv(DEFAULT_DATA, dtype=str, keep_default_na=False).sample(n=900, random_state=3).to_csv(corpus, index=False)
    config = tmp_path / "small.toml"
    config.write_text(SMALL_CONFIG, encoding="utf-8")
    models = tmp_path / "models"
    model = str(models / "model.joblib")
    redflags("train", "--data", str(corpus), "--out", str(models), "--reports", str(tmp_path / "reports0"),
             "--config", str(config))
    first = sidecar(models)

    # 1. score with a report, per department
    report = tmp_path / "report.html"
    redflags("score", str(SURVEY), "-o", str(tmp_path / "scored.csv"), "--text-column", "answer", "--evidence",
             "--report", str(report), "--group-by", "department", "--model", model)
    page = report.read_text(encoding="utf-8")
    parsed = parse(page)
    assert len(parsed.images) == 4 and all(s.startswith("data:image/png;base64,") for s in parsed.images)
    assert parsed.external == [] and parsed.scripts == 0
    assert ">engineering<" in page and ">sales<" in page
    assert "other (2 small groups pooled)" in page            # support (6) and legal (5 scored) pooled
    assert ">support<" not in page and ">legal<" not in page
    assert hashlib.sha256(SURVEY.read_bytes()).hexdigest() in page
    assert first["model_version"] in page
    assert "46 rows, 45 scored, 1 not scored" in page and "blank text" in page

    # 2. the rows worth labelling, in the corpus format with the model's guess
    to_label = tmp_path / "to_label.csv"
    redflags("review", str(tmp_path / "scored.csv"), "-o", str(to_label), "--text-column", "answer",
             "--id-column", "respondent", "--n", "32", "--model", model)
    picked = pd.read_csv(to_label, dtype=str, keep_default_na=False)
    assert list(picked.columns) == ["id", "text", "labels", "recommendation", "note"]
    survey = pd.read_csv(SURVEY, dtype=str, keep_default_na=False).set_index("respondent")
    assert 24 <= len(picked) <= 32 and picked["id"].is_unique
    assert (picked["text"] == survey.loc[picked["id"], "answer"].to_numpy()).all()

    # 3. the labeller corrects the model's guess (here: the answers written with the sample)
    truth = pd.read_csv(LABELLED, dtype=str, keep_default_na=False).set_index("id")
    labelled = picked.assign(labels=truth.loc[picked["id"], "labels"].to_numpy(),
                             recommendation=truth.loc[picked["id"], "recommendation"].to_numpy())
    mine = tmp_path / "my_labels.csv"
    labelled.to_csv(mine, index=False)

    # 4. retrain with them: a new version that records the extra data and the figures on the rows kept aside
    done = redflags("train", "--data", str(corpus), "--out", str(models), "--reports", str(tmp_path / "reports1"),
                    "--config", str(config), "--extra", str(mine), "--extra-weight", "3")
    second = sidecar(models)
    digest = hashlib.sha256(mine.read_bytes()).hexdigest()
    assert second["model_version"] != first["model_version"] and f"extra-{digest[:8]}" in second["model_version"]
    assert second["extra_data"]["sha256"] == digest and second["extra_data"]["weight"] == 3.0
    aside = second["extra_data"]["kept_aside"]
    assert aside >= 6 and second["extra_data"]["trained_on"] + aside == len(labelled)
    figures = second["metrics"]["extra_aside"]
    assert figures["before"]["model_version"] == first["model_version"]
    assert figures["after"]["model_version"] == second["model_version"]
    assert figures["before"]["rows"] == figures["after"]["rows"] == aside
    assert "kept-aside rows" in done.stdout
    card = (tmp_path / "reports1" / "model_card.md").read_text(encoding="utf-8")
    assert "## Extra labelled data" in card and digest in card

    # 5. score again: the report names the new model and its extra data
    redflags("score", str(SURVEY), "-o", str(tmp_path / "scored2.csv"), "--text-column", "answer",
             "--report", str(tmp_path / "report2.html"), "--group-by", "wave", "--model", model)
    page2 = (tmp_path / "report2.html").read_text(encoding="utf-8")
    parse(page2)
    assert second["model_version"] in page2 and "Trained with extra labels" in page2 and digest in page2
