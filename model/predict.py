"""The prediction core shared by the API, the CLI and the batch scorer.

`Predictor.predict(texts, context=None, evidence=True, thresholds=None)` scores each text whole and
sentence by sentence (`model/scoring.py`), combines the two (`model/combine.py`), applies the
per-category thresholds, lets the advice policy pick the recommendation (`model/policy.py`) and
attaches evidence (`model/evidence.py`) and advice (`model/advice.py`).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from redflags.model.advice import advise
from redflags.model.bundle import ModelBundle
from redflags.model.evidence import select_evidence
from redflags.model.inputs import Context, check_thresholds
from redflags.model.results import Evidence, Prediction, Recommendation, RedFlag
from redflags.model.scoring import Embed, Scored, score_texts
from redflags.model.stage import resolve_stage
from redflags.model.taxonomy import BY_ID, CATEGORIES
from redflags.model.tfidf import LinearScorer

__all__ = ["Evidence", "Prediction", "Predictor", "Recommendation", "RedFlag"]

_SEVERITY = np.array([BY_ID[c].severity for c in CATEGORIES])


@dataclass
class Assessment:
    """A batch's scores before they become Prediction objects or batch columns."""

    probabilities: np.ndarray   # n x categories
    thresholds: np.ndarray      # per category, overrides applied
    flagged: np.ndarray         # n x categories, probability >= threshold
    order: np.ndarray           # n x categories: category indices, most serious first, then most probable
    decisions: list             # the advice policy's Decision per text
    scored: Scored

    def flags(self, i: int) -> list[int]:
        """Text i's flagged category indices in the order they are shown."""
        row = self.order[i]
        return row[self.flagged[i, row]].tolist()


class Predictor:
    """A loaded model bundle, ready to score texts. Build it with `redflags.model.artifact.load_predictor`."""

    def __init__(self, bundle: ModelBundle, embed: Embed | None = None, encoder_threads: int | None = None) -> None:
        """`embed` (texts -> embeddings) serves a model with the sentence-encoder block; without it such a
        model builds its `SentenceEncoder` on first use, with `encoder_threads` ONNX Runtime threads (None:
        all cores). The encoder is built per process: a pickled Predictor (a Dask worker's copy) leaves it
        behind and builds its own."""
        bundle.validate()
        self.bundle = bundle
        self.features = bundle.feature_set
        self.scorer = LinearScorer(bundle.features, bundle.coef, bundle.intercept,
                                   bundle.encoder.dimension if bundle.encoder else 0)
        self._embed = embed
        self._encoder_threads = encoder_threads
        self.combiner = bundle.combiner
        self.policy = bundle.policy
        self.thresholds = np.array([bundle.thresholds[c] for c in CATEGORIES], dtype=float)
        self.metadata: dict[str, Any] = dict(bundle.metadata)
        self.version = bundle.version
        # the category coefficients and, when the policy reads the text, its severity weights: one product
        self._weights = (np.hstack([self.scorer.coef, self.policy.text_coef[:, None]]) if self.policy.reads_text
                         else self.scorer.coef)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_embed"] = None   # an ONNX session does not travel; each process builds its own
        return state

    @property
    def embed(self) -> Embed | None:
        """The sentence encoder of an encoder-mode model (built on first use), else None."""
        if self.bundle.encoder is None:
            return None
        if self._embed is None:
            from redflags.model.encoder import SentenceEncoder

            self._embed = SentenceEncoder(threads=self._encoder_threads).encode
        return self._embed

    def score(self, texts: Sequence[str]) -> tuple[np.ndarray, Scored]:
        """Combined category probabilities (n x categories), and the intermediate scores."""
        scored = score_texts(self.scorer, texts, self.combiner.uses_sentences, self._weights, self.embed)
        return self.combiner(scored.whole, scored.best_sentence, scored.n_sentences, scored.split), scored

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        return self.score(texts)[0]

    def span_probabilities(self, spans: list[str], embedding: np.ndarray | None = None) -> np.ndarray:
        """Each span's category probabilities, scored as its scoring sentences are: its own TF-IDF row and,
        in the encoder mode, the `embedding` of the text it comes from (evidence ranks spans with it)."""
        return self.scorer.probabilities(spans, embedding[None, :] if self.scorer.dense_dim else None)

    def assess(self, texts: Sequence[str], context: Mapping[str, Any] | Context | None = None,
               thresholds: Mapping[str, float] | None = None) -> Assessment:
        """Probabilities, flags in the order they are shown and the policy's decisions for a batch, as arrays:
        what `predict` turns into Prediction objects and batch scoring into columns."""
        cut = self.thresholds.copy()
        for category, value in check_thresholds(thresholds).items():
            cut[CATEGORIES.index(category)] = value
        context = context if isinstance(context, Context) else Context.from_mapping(context)
        probs, scored = self.score(texts)
        extra = scored.extra[:, 0] + self.policy.text_intercept if scored.extra is not None else None
        decisions = self.policy.decide(probs, cut, context.open_to_other_roles, extra)
        # most serious first, then most probable; the sort is stable, so exact ties keep category order
        order = np.lexsort((-probs, np.broadcast_to(-_SEVERITY, probs.shape)), axis=1)
        return Assessment(probs, cut, probs >= cut, order, decisions, scored)

    def predict(self, texts: Sequence[str], context: Mapping[str, Any] | Context | None = None,
                evidence: bool = True, thresholds: Mapping[str, float] | None = None,
                advice: bool = True) -> list[Prediction]:
        """One Prediction per text, in order.

        `context`: {"open_to_other_roles": bool, "stage": "during" | "after"}; `thresholds`: per-category
        overrides in [0, 1]; `evidence`: attach evidence spans to each flag; `advice`: write the
        recommendation's rationale, script and follow-up (a batch that keeps only the action skips them).
        Inputs follow `redflags.model.inputs`; a bad one raises InputError (a ValueError).
        """
        if isinstance(texts, str):
            raise TypeError("predict takes a list of texts, not a single string")
        context = context if isinstance(context, Context) else Context.from_mapping(context)
        if not texts:
            check_thresholds(thresholds)   # a bad override is an error even for an empty batch
            return []
        assessed = self.assess(texts, context, thresholds)
        probs, cut, scored, decisions = assessed.probabilities, assessed.thresholds, assessed.scored, assessed.decisions
        cut_by_category = dict(zip(CATEGORIES, (float(t) for t in cut)))
        out = []
        for i, text in enumerate(texts):
            hits = assessed.flags(i)
            scores = dict(zip(CATEGORIES, probs[i].tolist()))
            spans = (select_evidence(partial(self.span_probabilities, embedding=None if scored.embeddings is None
                                             else scored.embeddings[i]), text, hits, cut) if evidence else {})
            red_flags = [RedFlag(CATEGORIES[k], scores[CATEGORIES[k]], int(_SEVERITY[k]), spans.get(k, []))
                         for k in hits]
            decision = decisions[i]
            if advice:
                stage = resolve_stage(text, context.stage)
                rationale, script, follow_up = advise(decision, [f.category for f in red_flags], scores,
                                                      cut_by_category, stage)
            else:
                stage, rationale, script, follow_up = context.stage or "during", "", "", ""
            out.append(Prediction(self.version, bool(hits), red_flags, scores,
                                  Recommendation(decision.action, decision.confidence, rationale, script, follow_up,
                                                 stage, decision.driver)))
        return out
