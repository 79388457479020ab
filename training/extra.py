"""`redflags train --extra MY_LABELS.csv`: the user's own labelled rows, validated and split.

The file is the corpus format (id, text, labels, recommendation; extra columns such as `note` from
`redflags review` are allowed) and is validated by the corpus loader, so every error names the file,
the row and the problem. A part of the rows is kept aside (never trained on) so the user sees the
figures on their own population before and after, beside the usual held-out split of the corpus.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from redflags.training.data import Corpus, CorpusError, load_anecdotes

ASIDE_SHARE = 0.25     # of the user's rows, kept aside to measure on
MIN_ROWS_ASIDE = 8     # with fewer rows than this, none is kept aside (too few to measure anything)
# Without --extra-weight, the user's training rows together weigh this share of the corpus's training rows
# (each at least 1): a few dozen rows are otherwise lost among thousands. On half of the real-account set,
# weights 1, 3 and 10 left macro F1 where it was and 30 (about this share for 48 rows) raised it a little
# (bench/extra_labels.py, bench/README.md).
AUTO_SHARE = 0.2


@dataclass(frozen=True)
class ExtraLabels:
    """The user's rows that survived validation: which to train on and which to keep aside."""

    labelled: Corpus
    train_idx: np.ndarray
    aside_idx: np.ndarray
    weight: float
    skipped: tuple[str, ...]       # ids dropped because the same text is already in the corpus

    @property
    def sha256(self) -> str:
        return self.labelled.sha256

    def subset(self, idx: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
        texts = self.labelled.texts
        return [texts[i] for i in idx], self.labelled.Y[idx], self.labelled.recommendations[idx]

    def record(self) -> dict[str, Any]:
        """What the sidecar and the model card say about the extra data (no text)."""
        return {"file": self.labelled.path.name, "sha256": self.sha256, "rows": len(self.labelled),
                "trained_on": int(len(self.train_idx)), "kept_aside": int(len(self.aside_idx)),
                "weight": self.weight, "skipped_same_as_corpus": len(self.skipped)}


def load_extra(path: str | Path, corpus: Corpus, weight: float | None = None, seed: int = 0,
               aside_share: float = ASIDE_SHARE, corpus_train_rows: int | None = None) -> ExtraLabels:
    """Validate `path` like the corpus, drop rows whose text the corpus already holds (training on them
    twice, or on a held-out row, would flatter the figures), and split off the rows kept aside.

    `weight` None: automatic, so that the rows trained on weigh AUTO_SHARE of `corpus_train_rows`
    (default: the whole corpus) together, and each at least as much as a corpus row."""
    if weight is not None and not weight > 0:
        raise CorpusError(f"--extra-weight must be above 0, got {weight}")
    labelled = load_anecdotes(path, extra_columns=True)
    known = {_key(t): rid for t, rid in zip(corpus.texts, corpus.frame["id"])}
    ids = labelled.frame["id"].tolist()
    keep = [i for i, t in enumerate(labelled.texts) if _key(t) not in known]
    skipped = tuple(ids[i] for i in range(len(ids)) if i not in set(keep))
    if not keep:
        raise CorpusError(f"{path}: every row has the same text as a row of the corpus; nothing new to learn")
    keep_arr = np.array(keep)
    if len(keep) < MIN_ROWS_ASIDE:
        train_idx, aside_idx = keep_arr, np.array([], dtype=int)
    else:
        train_part, aside_part = _split(labelled.Y[keep_arr], labelled.recommendations[keep_arr], aside_share, seed)
        train_idx, aside_idx = keep_arr[train_part], keep_arr[aside_part]
    if weight is None:
        weight = max(1.0, AUTO_SHARE * (corpus_train_rows or len(corpus)) / len(train_idx))
    return ExtraLabels(labelled, train_idx, aside_idx, round(float(weight), 2), skipped)


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def _split(Y: np.ndarray, rec: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The corpus's stratified split when the rows allow it, else a seeded shuffle."""
    from redflags.training.train import split

    try:
        train, aside = split(Y, rec, share, seed)
        if len(aside) and len(train):
            return train, aside
    except ValueError:
        pass
    order = np.random.default_rng(seed).permutation(len(Y))
    n_aside = max(1, int(round(share * len(Y))))
    return np.sort(order[n_aside:]), np.sort(order[:n_aside])


def aside_figures(predictor, texts: list[str], Y: np.ndarray, rec: np.ndarray, Y_train: np.ndarray,
                  rec_train: np.ndarray) -> dict[str, Any]:
    """The figures of `predictor` on the kept-aside rows, with the same metrics as the held-out split."""
    from redflags.training.evaluate import evaluate

    metrics = evaluate(predictor.predict(texts, evidence=False), texts, Y, rec, Y_train, rec_train)
    model = metrics["model"]
    return {"model_version": predictor.version, "rows": len(texts), "macro_f1": model["macro_f1"],
            "micro_f1": model["micro_f1"], "recommendation_accuracy": model["recommendation_accuracy"],
            "per_category": {c: {"f1": v["f1"], "support": v["support"]} for c, v in model["per_category"].items()},
            "keyword_rules_macro_f1": metrics["baselines"]["keyword_rules"]["macro_f1"]}


def _figures_line(name: str, figures: dict[str, Any] | None) -> str:
    if figures is None:
        return f"{name}: no figures"
    return (f"{name} (model {figures['model_version']}): macro F1 {figures['macro_f1']:.3f}, micro F1 "
            f"{figures['micro_f1']:.3f}, advice accuracy {figures['recommendation_accuracy']:.3f}")


def extra_summary(extra: dict[str, Any]) -> str:
    """The lines `redflags train --extra` prints about the kept-aside rows."""
    if not extra["kept_aside"]:
        return (f"extra labels: only {extra['rows']} rows, none kept aside (at least {MIN_ROWS_ASIDE} are needed "
                "to measure anything on them)")
    lines = [f"on your {extra['kept_aside']} kept-aside rows:",
             "  " + _figures_line("before", extra["before"]) if extra["before"] else
             "  before: there was no model to compare with",
             "  " + _figures_line("after", extra["after"])]
    return "\n".join(lines)


def extra_section(extra: dict[str, Any]) -> str:
    """The model card's section on the extra labelled data."""
    text = (f"\n## Extra labelled data\nTrained with the user's labelled file `{extra['file']}` "
            f"(SHA-256 `{extra['sha256']}`, {extra['rows']} rows): {extra['trained_on']} rows added to the "
            f"training split at weight {extra['weight']:g} (a corpus row weighs 1), {extra['kept_aside']} kept "
            f"aside and never trained on"
            + (f", {extra['skipped_same_as_corpus']} skipped as the corpus already holds their text" if
               extra["skipped_same_as_corpus"] else "") + ". The held-out split above is the corpus's, unchanged.\n")
    if extra["kept_aside"]:
        text += ("\n| model | rows | macro F1 | micro F1 | advice accuracy |\n|---|---|---|---|---|\n")
        for name in ("before", "after"):
            f = extra[name]
            if f:
                text += (f"| {name} (`{f['model_version']}`) | {f['rows']} | {f['macro_f1']:.3f} | {f['micro_f1']:.3f}"
                         f" | {f['recommendation_accuracy']:.3f} |\n")
        text += ("\nBefore: the model that was in place when this one was trained. With few kept-aside rows one "
                 "row moves these figures by several points; read them beside the row count.\n")
    return text
