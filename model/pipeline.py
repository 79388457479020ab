"""Parts of the one persisted scikit-learn Pipeline: `features` (TF-IDF, and in the encoder mode the
sentence encoder's embeddings) and `clf` (one-vs-rest logistic regression), assembled as
Pipeline([("features", ...), ("clf", ...)]) by training/train.py."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer

from redflags.model.encoder import DIMENSION
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion


class EmbeddingFeatures(BaseEstimator, TransformerMixin):
    """The encoder block: each text's sentence embedding times `weight`, as columns beside the TF-IDF ones.

    `embed` (texts -> n x dense_dim array) is the encoder, usually behind training's embedding cache; the
    weight sets how much the embeddings count against the (l2-normalised) TF-IDF row under one penalty.
    Nothing is learned here; `LinearScorer.from_pipeline` folds the weight into the exported coefficients.
    """

    def __init__(self, embed: Callable[[Sequence[str]], np.ndarray] | None = None, weight: float = 0.25,
                 dense_dim: int = DIMENSION) -> None:
        self.embed = embed
        self.weight = weight
        self.dense_dim = dense_dim

    def fit(self, texts, y=None):
        return self

    def transform(self, texts) -> sp.csr_matrix:
        E = np.asarray(self.embed(list(texts)), dtype=np.float64)
        if E.shape != (len(texts), self.dense_dim):
            raise ValueError(f"the encoder returned shape {E.shape}, expected ({len(texts)}, {self.dense_dim})")
        return sp.csr_matrix(self.weight * E)


def build_features(features: str = "word", word_ngram_max: int = 2, min_df: int = 2,
                   encoder: EmbeddingFeatures | None = None) -> FeatureUnion:
    """TF-IDF over word n-grams, optionally joined by char_wb 2-5 grams (robust to typos and inflections),
    and in the encoder mode by the encoder block (always last)."""
    parts = [("word", TfidfVectorizer(ngram_range=(1, word_ngram_max), min_df=min_df, sublinear_tf=True,
                                      strip_accents="unicode", dtype=np.float64))]
    if features == "word+char":
        parts.append(("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=min_df,
                                              sublinear_tf=True, strip_accents="unicode", dtype=np.float64)))
    if encoder is not None:
        parts.append(("encoder", encoder))
    return FeatureUnion(parts)


def build_classifier(C: float = 4.0, class_weight: str | None = "balanced", seed: int = 0) -> OneVsRestClassifier:
    return OneVsRestClassifier(LogisticRegression(C=C, class_weight=class_weight, solver="liblinear",
                                                  max_iter=2000, random_state=seed))
