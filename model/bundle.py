"""The one persisted model: a typed, versioned bundle of plain data (no scikit-learn objects).

Written by training (`training/train.py` `make_bundle`), read by `redflags.model.artifact`; a bundle of
another format is refused at load with a message that says to retrain.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from redflags.model.combine import Combiner
from redflags.model.encoder import EncoderBlock
from redflags.model.policy import AdvicePolicy
from redflags.model.taxonomy import CATEGORIES
from redflags.model.tfidf import TfidfFeatures

# 4: an optional sentence-encoder block after the TF-IDF columns (3: exported TF-IDF features and
# coefficients, no pickled scikit-learn objects; 2: a fitted Pipeline plus the advice policy; 1: a text
# recommender). Bump on any change a loader must know about.
BUNDLE_FORMAT = 4
# Format 3 is format 4 without an encoder block: such a bundle unpickles with `encoder` at its default (None),
# so a model trained before the encoder mode keeps serving after an upgrade.
READABLE_FORMATS = (3, 4)


class BundleError(ValueError):
    """The bundle is incomplete or inconsistent; the message names the part."""


@dataclass
class ModelBundle:
    features: tuple[TfidfFeatures, ...]   # one per TF-IDF block, in column order
    coef: np.ndarray                      # (features, categories) one-vs-rest logistic regression
    intercept: np.ndarray                 # (categories,)
    combiner: Combiner                    # whole text vs best sentence
    thresholds: dict[str, float]          # decision threshold per category
    policy: AdvicePolicy                  # probabilities -> recommendation
    metadata: dict[str, Any] = field(default_factory=dict)
    # the opt-in sentence encoder (issue 15): its embeddings are the last `encoder.dimension` columns
    encoder: EncoderBlock | None = None
    format: int = BUNDLE_FORMAT

    def validate(self) -> None:
        """Refuse at load what would otherwise fail mid-request."""
        if self.format not in READABLE_FORMATS:
            raise BundleError(f"format {self.format}, this code reads formats {READABLE_FORMATS}")
        if not self.features or not all(isinstance(f, TfidfFeatures) for f in self.features):
            raise BundleError("no TF-IDF features")
        n_features = sum(len(f.idf) for f in self.features)
        if self.encoder is not None:
            if not isinstance(self.encoder, EncoderBlock):
                raise BundleError(f"the encoder block is a {type(self.encoder).__name__}, not an EncoderBlock")
            try:
                self.encoder.validate()
            except ValueError as exc:
                raise BundleError(str(exc)) from None
            n_features += self.encoder.dimension
        if np.shape(self.coef) != (n_features, len(CATEGORIES)) or np.shape(self.intercept) != (len(CATEGORIES),):
            raise BundleError(f"coefficients of shape {np.shape(self.coef)} / {np.shape(self.intercept)} do not fit "
                              f"{n_features} features and {len(CATEGORIES)} categories")
        missing = [c for c in CATEGORIES if c not in self.thresholds]
        if missing:
            raise BundleError(f"no threshold for {', '.join(missing)}")
        if not isinstance(self.combiner, Combiner):
            raise BundleError(f"the combiner is a {type(self.combiner).__name__}, not a Combiner")
        self.combiner.validate()
        if not isinstance(self.policy, AdvicePolicy):
            raise BundleError(f"the advice policy is a {type(self.policy).__name__}, not an AdvicePolicy")
        self.policy.validate()
        if self.policy.reads_text and len(self.policy.text_coef) != n_features:
            raise BundleError(f"the advice policy's text severity has {len(self.policy.text_coef)} weights, the "
                              f"features have {n_features}")

    @property
    def feature_set(self) -> str:
        """Which features the model reads: "tfidf", or "tfidf+encoder" for the opt-in encoder mode."""
        return "tfidf+encoder" if self.encoder is not None else "tfidf"

    @property
    def version(self) -> str:
        return str(self.metadata.get("model_version", "unversioned"))
