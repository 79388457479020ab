"""The one scikit-learn Pipeline that is fitted and persisted: TF-IDF features -> one-vs-rest logistic regression."""
from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion, Pipeline


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


def build_pipeline(features: str = "word", word_ngram_max: int = 2, min_df: int = 2, C: float = 4.0,
                   class_weight: str | None = "balanced", seed: int = 0) -> Pipeline:
    """Named steps, so the vectorizer and classifier are persisted together and a grid can say `clf__C`."""
    return Pipeline([
        ("features", build_features(features, word_ngram_max, min_df)),
        ("clf", build_classifier(C, class_weight, seed)),
    ])


def build_recommender(C: float = 1.0, seed: int = 0) -> LogisticRegression:
    """Multinomial logistic regression over the four actions."""
    return LogisticRegression(C=C, max_iter=3000, class_weight="balanced", random_state=seed)
