"""Parts of the one persisted scikit-learn Pipeline: `features` (TF-IDF) and `clf` (one-vs-rest logistic
regression), assembled as Pipeline([("features", ...), ("clf", ...)]) by training/train.py."""
from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion


def build_features(features: str = "word", word_ngram_max: int = 2, min_df: int = 2) -> FeatureUnion:
    """TF-IDF over word n-grams, optionally joined by char_wb 2-5 grams (robust to typos and inflections)."""
    parts = [("word", TfidfVectorizer(ngram_range=(1, word_ngram_max), min_df=min_df, sublinear_tf=True,
                                      strip_accents="unicode", dtype=np.float64))]
    if features == "word+char":
        parts.append(("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=min_df,
                                              sublinear_tf=True, strip_accents="unicode", dtype=np.float64)))
    return FeatureUnion(parts)


def build_classifier(C: float = 4.0, class_weight: str | None = "balanced", seed: int = 0) -> OneVsRestClassifier:
    return OneVsRestClassifier(LogisticRegression(C=C, class_weight=class_weight, solver="liblinear",
                                                  max_iter=2000, random_state=seed))
