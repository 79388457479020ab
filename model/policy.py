"""The advice policy: which action follows from the flags, held to a contract that no input can break.

The recommendation used to be a separate text classifier and could contradict the flags shown
beside it (a scam flagged at 0.99 and "continue"). It is now a function of the category
probabilities and the thresholds that made the flags:

- no flag: `continue`, or `proceed_with_caution` when some category is ambiguous (its probability
  within `margin` below its threshold; the margin is chosen out of fold);
- any flag: never `continue`;
- `discrimination`, `harassment` or `scam` flagged: `end_interview`, whatever the context;
- otherwise a rule learned from the data (the candidates are compared by cross-validation in
  training) that is monotone: raising any probability never makes the advice milder. The learned
  rule may also read how grave the text sounds (a linear "text severity" score over the TF-IDF
  features), which separates a curt interviewer from one who screams; its weight is free, since
  monotonicity is owed in the probabilities only.

`open_to_other_roles` softens `end_interview` to `finish_then_withdraw` unless a category that is
never softened is flagged.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from redflags.model.taxonomy import BY_ID, CATEGORIES, NEVER_SOFTENED, RECOMMENDATIONS

ALWAYS_END: frozenset[str] = NEVER_SOFTENED  # discrimination, harassment, scam
RANK: dict[str, int] = {a: i for i, a in enumerate(RECOMMENDATIONS)}
# Actions the learned branch chooses among (a flag is present and none of ALWAYS_END).
FLAGGED_ACTIONS: tuple[str, ...] = ("proceed_with_caution", "finish_then_withdraw", "end_interview")
_SEVERITY = np.array([BY_ID[c].severity for c in CATEGORIES])
_ALWAYS_END_MASK = np.array([c in ALWAYS_END for c in CATEGORIES])
POLICY_KINDS = ("severity", "ordinal")


@dataclass(frozen=True)
class Decision:
    """One action and why: `rule` names the branch of the policy, `driver` the category behind it."""

    action: str
    confidence: float
    rule: str              # "no_flag" | "ambiguous" | "always_end" | "severity" | "ordinal"
    driver: str | None     # the category whose flag (or near-flag) drove the action
    softened: bool = False


N_MONOTONE = 2 * len(CATEGORIES) + 1


def policy_features(probs: np.ndarray, flags: np.ndarray, text_severity: np.ndarray | None = None) -> np.ndarray:
    """Inputs of the learned branch. The first N_MONOTONE are non-decreasing in every probability (so
    non-negative weights give a monotone policy): probability where flagged (0 below the threshold),
    the flag itself, and the number of flags. The text severity score, when given, comes last."""
    flags = flags.astype(float)
    parts = [probs * flags, flags, flags.sum(axis=1, keepdims=True)]
    if text_severity is not None:
        parts.append(np.asarray(text_severity, dtype=float).reshape(-1, 1))
    return np.hstack(parts)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


@dataclass(frozen=True)
class OrdinalModel:
    """Proportional-odds (cumulative logit) model over `policy_features` with non-negative weights.

    score = w . x; P(action >= FLAGGED_ACTIONS[j]) = sigmoid(score - cut[j-1]). The action is the
    median of that distribution (the largest j with score >= cut[j-1]), which is monotone in the score
    by construction; the argmax need not be.
    """

    weights: np.ndarray   # (n_features,), the first N_MONOTONE >= 0
    cuts: np.ndarray      # (len(FLAGGED_ACTIONS) - 1,), increasing

    def scores(self, X: np.ndarray) -> np.ndarray:
        return X @ self.weights

    def class_probabilities(self, X: np.ndarray) -> np.ndarray:
        above = _sigmoid(self.scores(X)[:, None] - self.cuts[None, :])   # P(y >= 1), P(y >= 2)
        cum = np.hstack([np.ones((len(X), 1)), above, np.zeros((len(X), 1))])
        return np.clip(cum[:, :-1] - cum[:, 1:], 0.0, 1.0)

    def predict_index(self, X: np.ndarray) -> np.ndarray:
        return (self.scores(X)[:, None] >= self.cuts[None, :]).sum(axis=1)


def fit_ordinal(X: np.ndarray, y: np.ndarray, l2: float = 1.0) -> OrdinalModel:
    """Maximum likelihood with an L2 penalty, weights bounded at 0 (L-BFGS-B).

    `y` holds indices into FLAGGED_ACTIONS; columns past N_MONOTONE (the text severity) are free.
    Neither scikit-learn nor a maintained package offers an ordinal logit with sign constraints,
    so this is the one small optimiser of our own.
    """
    n_feat, n_cut = X.shape[1], len(FLAGGED_ACTIONS) - 1

    def unpack(theta):
        w = theta[:n_feat]
        cuts = np.cumsum(np.concatenate([[theta[n_feat]], np.exp(theta[n_feat + 1:])]))
        return w, cuts

    def loss(theta):
        w, cuts = unpack(theta)
        s = X @ w
        above = _sigmoid(s[:, None] - cuts[None, :])
        cum = np.hstack([np.ones((len(X), 1)), above, np.zeros((len(X), 1))])
        p = np.clip(cum[np.arange(len(y)), y] - cum[np.arange(len(y)), y + 1], 1e-12, 1.0)
        return -np.log(p).mean() + 0.5 * l2 * (w @ w) / max(len(y), 1)

    theta0 = np.concatenate([np.full(n_feat, 0.1), [1.0], np.zeros(n_cut - 1)])
    bounds = ([(0.0, None)] * min(n_feat, N_MONOTONE) + [(None, None)] * max(0, n_feat - N_MONOTONE)
              + [(None, None)] * n_cut)
    from scipy.optimize import minimize   # only training fits; serving never pays this import

    result = minimize(loss, theta0, method="L-BFGS-B", bounds=bounds, options={"maxiter": 500})
    w, cuts = unpack(result.x)
    w[:N_MONOTONE] = np.maximum(w[:N_MONOTONE], 0.0)
    return OrdinalModel(w, cuts)


def severity_index(flags: np.ndarray) -> np.ndarray:
    """The simplest monotone rule: the most severe flag decides (1 -> caution, 2 -> withdraw, 3 -> end)."""
    top = np.where(flags, _SEVERITY[None, :], 0).max(axis=1)
    return np.clip(top - 1, 0, len(FLAGGED_ACTIONS) - 1)


@dataclass(frozen=True)
class AdvicePolicy:
    """The persisted policy: the no-flag margin and the learned branch (`kind` "severity" or "ordinal").

    `text_coef`/`text_intercept`, when set, make the text severity score (a linear function of the
    whole text's TF-IDF row) that the ordinal model reads as its last input.
    """

    margin: float = 0.0
    kind: str = "severity"
    ordinal: OrdinalModel | None = None
    text_coef: np.ndarray | None = None
    text_intercept: float = 0.0

    @property
    def reads_text(self) -> bool:
        return self.kind == "ordinal" and self.text_coef is not None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ValueError if the policy could fail mid-request (also run on a policy read from disk,
        since unpickling skips __post_init__)."""
        if self.kind not in POLICY_KINDS:
            raise ValueError(f"unknown advice policy kind {self.kind!r}; expected one of {POLICY_KINDS}")
        if self.kind == "ordinal":
            if self.ordinal is None:
                raise ValueError("an ordinal advice policy needs its fitted model")
            expected = N_MONOTONE + (self.text_coef is not None)
            if len(self.ordinal.weights) != expected or np.any(self.ordinal.weights[:N_MONOTONE] < 0):
                raise ValueError(f"the ordinal advice policy needs {expected} weights, the first {N_MONOTONE} "
                                 "non-negative")
            if len(self.ordinal.cuts) != len(FLAGGED_ACTIONS) - 1 or np.any(np.diff(self.ordinal.cuts) < 0):
                raise ValueError("the ordinal advice policy needs increasing cut points")
        if not 0.0 <= self.margin < 1.0:
            raise ValueError(f"advice policy margin must be in [0, 1), got {self.margin}")

    def flagged_index(self, probs: np.ndarray, flags: np.ndarray,
                      text_severity: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """For rows with a flag: index into FLAGGED_ACTIONS and its confidence, before the hard rules."""
        if self.kind == "ordinal":
            if self.reads_text and text_severity is None:
                raise ValueError("this advice policy reads the text severity score; pass text_severity")
            X = policy_features(probs, flags, text_severity if self.reads_text else None)
            idx = self.ordinal.predict_index(X)
            conf = self.ordinal.class_probabilities(X)[np.arange(len(idx)), idx]
            return idx, conf
        idx = severity_index(flags)
        conf = np.where(flags, probs, 0.0).max(axis=1) if len(flags) else np.zeros(0)
        return idx, conf

    def decide(self, probs: np.ndarray, thresholds: np.ndarray, open_to_other_roles: bool | Sequence[bool] = False,
               text_severity: np.ndarray | None = None) -> list[Decision]:
        """One Decision per row of `probs` (n x 9) against `thresholds` (9,)."""
        probs = np.asarray(probs, dtype=float)
        n = len(probs)
        soft = np.broadcast_to(np.asarray(open_to_other_roles, dtype=bool), (n,))
        flags = probs >= thresholds[None, :]
        idx, conf = self.flagged_index(probs, flags, text_severity)
        # every branch's choice computed for all rows at once; the loop below only picks and packs
        ratio = probs / np.maximum(thresholds, 1e-9)[None, :]
        no_flag_conf = 1.0 - np.clip(ratio.max(axis=1), 0.0, 1.0) if n else np.zeros(0)
        near = probs >= (thresholds - self.margin)[None, :] if self.margin > 0 else np.zeros_like(flags)
        near_k = np.argmax(np.where(near, probs - thresholds[None, :], -np.inf), axis=1)
        severe = flags & _ALWAYS_END_MASK[None, :]
        severe_k = np.argmax(np.where(severe, probs, -np.inf), axis=1)
        # the driver of a flagged row: the most severe flag, then the most probable (compared in that order, not
        # as one sum, which rounding could tie)
        flag_severity = np.where(flags, _SEVERITY[None, :], -1)
        top = flag_severity == flag_severity.max(axis=1, keepdims=True) if n else flags
        driver_k = np.argmax(np.where(flags & top, probs, -np.inf), axis=1)
        rows = zip(flags.any(axis=1).tolist(), near.any(axis=1).tolist(), near_k.tolist(), severe.any(axis=1).tolist(),
                   severe_k.tolist(), driver_k.tolist(), idx.tolist(), conf.tolist(), no_flag_conf.tolist(),
                   soft.tolist())
        out = []
        for i, (flagged, is_near, nk, is_severe, sk, dk, k_action, k_conf, free_conf, softer) in enumerate(rows):
            if not flagged:
                out.append(Decision("proceed_with_caution", float(ratio[i, nk]), "ambiguous", CATEGORIES[nk])
                           if is_near else Decision("continue", free_conf, "no_flag", None))
            elif is_severe:
                out.append(Decision("end_interview", float(probs[i, sk]), "always_end", CATEGORIES[sk]))
            elif softer and FLAGGED_ACTIONS[k_action] == "end_interview":
                out.append(Decision("finish_then_withdraw", k_conf, self.kind, CATEGORIES[dk], softened=True))
            else:
                out.append(Decision(FLAGGED_ACTIONS[k_action], k_conf, self.kind, CATEGORIES[dk]))
        return out


def choose_margin(probs: np.ndarray, thresholds: np.ndarray, truth: Sequence[str],
                  grid: Sequence[float] = tuple(np.round(np.arange(0.0, 0.31, 0.02), 2))) -> tuple[float, list[dict]]:
    """The no-flag ambiguity margin with the best advice accuracy among rows with no flag (out-of-fold
    probabilities); ties go to the smaller margin."""
    truth = np.asarray(truth)
    none = ~(probs >= thresholds[None, :]).any(axis=1)
    gap = (probs[none] - thresholds[None, :]).max(axis=1) if none.any() else np.zeros(0)
    rows, best = [], (0.0, -1.0)
    for m in grid:
        guess = np.where(gap >= -m, "proceed_with_caution", "continue") if m > 0 else np.full(len(gap), "continue")
        acc = float((guess == truth[none]).mean()) if none.any() else 0.0
        rows.append({"margin": float(m), "accuracy_on_no_flag_rows": round(acc, 4)})
        if acc > best[1] + 1e-9:
            best = (float(m), acc)
    return best[0], rows


def learned_branch_target(truth: Sequence[str]) -> np.ndarray:
    """Index into FLAGGED_ACTIONS of each true action (`continue` counts as the mildest flagged one)."""
    return np.array([max(0, RANK[a] - 1) for a in truth], dtype=int)


def contract_violations(actions: Sequence[str], flags: np.ndarray) -> list[str]:
    """Each way the actions break the contract above, one message per row that does (empty: none)."""
    out = []
    for i, (action, row) in enumerate(zip(actions, np.asarray(flags, dtype=bool))):
        if not row.any() and action not in {"continue", "proceed_with_caution"}:
            out.append(f"row {i}: no flag but {action}")
        if row.any() and action == "continue":
            out.append(f"row {i}: flagged but continue")
        if (row & _ALWAYS_END_MASK).any() and action != "end_interview":
            out.append(f"row {i}: {[c for c, f in zip(CATEGORIES, row & _ALWAYS_END_MASK) if f]} flagged but {action}")
    return out
