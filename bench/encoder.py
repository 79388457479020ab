"""What the opt-in sentence encoder (issue 15) buys: one-vs-rest logistic regression on word TF-IDF, on
all-MiniLM-L6-v2 embeddings, and on both, against the shipped model; plus the encoder's cost.

python -m bench.encoder [--dev ../shared/dev/real_dev.csv] [--data CSV] [--model model/artifacts/model.joblib]
                        [--variants a_tfidf,c_tfidf+embeddings] [--weights 0.25,0.5,1] [--c-grid 4,16]
                        [--every-point] [--no-sentences] [--skip-quality] [--skip-speed] [--out encoder]

Needs the extra: pip install -e '.[encoder]'. Quality: the project's held-out split (training/train.py's `split`,
seed and test size from redflags/train_config.toml); every choice (C, the embedding block's weight) is made by
cross-validation on the training split (mean average precision, as `redflags train` does), and the per-category
thresholds are tuned on out-of-fold training probabilities with the project's `tune_thresholds`, never on the
held-out rows or the dev set. The dev set is only scored: figures leave it, no text does.
Embeddings of the corpus and the dev texts are cached in bench/out/encoder_cache/ (untracked), keyed by a digest
of the texts and the model, so reruns take minutes, not the first run's encode time.
Speed and memory are measured in a fresh child process each (peak RSS of that process), on texts cut to 100 words.
"""
from __future__ import annotations

import argparse
import hashlib
import itertools
import multiprocessing
import resource
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import average_precision_score, f1_score

from bench.common import OUT, save
from redflags.config import DEFAULT_DATA, DEFAULT_DEV, TrainConfig
from redflags.model.encoder import MODEL_ID, SentenceEncoder
from redflags.model.pipeline import build_classifier, build_features
from redflags.model.sentences import sentence_spans
from redflags.model.taxonomy import CATEGORIES
from redflags.training.data import load_anecdotes
from redflags.training.train import apply_thresholds, folds, split, tune_thresholds

CACHE = OUT / "encoder_cache"
DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "model" / "artifacts" / "model.joblib"
C_GRID = (4.0, 16.0)                # the project's grid (redflags/train_config.toml)
# Scale of the embedding block beside TF-IDF (rows of norm 1 each). CV mean AP falls as it grows (0.25: 0.930,
# 0.5: 0.918, 1: 0.898, 2: 0.873 on the 2026-12-07 corpus), hence a grid at the low end.
EMBEDDING_WEIGHTS = (0.25, 0.5, 1.0)


# -- embeddings, cached -------------------------------------------------------------------------------

def _digest(kind: str, texts: list[str]) -> str:
    h = hashlib.sha256(f"{MODEL_ID}\0{kind}\0".encode())
    for t in texts:
        h.update(t.encode() + b"\0")
    return h.hexdigest()[:16]


def whole_embeddings(encoder_box: list, texts: list[str]) -> np.ndarray:
    """One embedding per text (truncated at the model's 256 tokens)."""
    path = CACHE / f"whole-{_digest('whole', texts)}.npy"
    if path.is_file():
        return np.load(path)
    started = time.perf_counter()
    E = _encoder(encoder_box).encode(texts, batch_size=32)
    print(f"encoded {len(texts)} texts in {time.perf_counter() - started:.0f} s", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, E)
    return E


def sentence_embeddings(encoder_box: list, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each text's sentences (the project's `sentence_spans`) embedded one by one, pooled by mean and by max
    (max then re-normalised), so a long text is not cut at 256 tokens and one damning sentence is not diluted."""
    path = CACHE / f"sentences-{_digest('sentences', texts)}.npz"
    if path.is_file():
        saved = np.load(path)
        return saved["mean"], saved["max"]
    pieces, owner = [], []
    for row, text in enumerate(texts):
        spans = sentence_spans(text) or [(0, len(text))]
        pieces.extend(text[s:e] for s, e in spans)
        owner.extend([row] * len(spans))
    started = time.perf_counter()
    S = _encoder(encoder_box).encode(pieces, batch_size=64)
    print(f"encoded {len(pieces)} sentences of {len(texts)} texts in {time.perf_counter() - started:.0f} s",
          flush=True)
    owner = np.asarray(owner)
    mean = np.zeros((len(texts), S.shape[1]), dtype=np.float32)
    np.add.at(mean, owner, S)
    mean /= np.bincount(owner, minlength=len(texts))[:, None]
    mx = np.full((len(texts), S.shape[1]), -np.inf, dtype=np.float32)
    np.maximum.at(mx, owner, S)
    mean /= np.linalg.norm(mean, axis=1, keepdims=True)
    mx /= np.linalg.norm(mx, axis=1, keepdims=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, mean=mean, max=mx)
    return mean, mx


def _encoder(box: list) -> SentenceEncoder:
    if not box:
        box.append(SentenceEncoder())
    return box[0]


# -- one-vs-rest logistic regression on feature blocks, chosen and thresholded on the training split only --

class Blocks:
    """Feature matrices over rows of one text list: word TF-IDF (fitted on the fit rows only) and/or embedding
    blocks, the embeddings scaled by `weight` when they sit beside TF-IDF (each block's rows have norm 1)."""

    def __init__(self, texts: list[str], embeddings: dict[str, np.ndarray]):
        self.texts = np.array(texts, dtype=object)
        self.embeddings = embeddings

    def build(self, blocks: tuple[str, ...], weight: float, fit_rows: np.ndarray, apply_rows: list[np.ndarray]):
        parts = []
        if "tfidf" in blocks:
            union = build_features("word", 2, 2)
            parts.append([union.fit_transform(self.texts[fit_rows])] +
                         [union.transform(self.texts[rows]) for rows in apply_rows])
        scale = weight if "tfidf" in blocks else 1.0
        for key in blocks:
            if key != "tfidf":
                E = self.embeddings[key]
                parts.append([sp.csr_matrix(E[rows] * scale) for rows in [fit_rows, *apply_rows]])
        return [sp.hstack(mats, format="csr") for mats in zip(*parts)]


def fit_variant(name: str, blocks: tuple[str, ...], weights, features: Blocks, train_rows: np.ndarray,
                Y_train: np.ndarray, fold_list, config: TrainConfig, evaluations, c_grid=C_GRID,
                every_point: bool = False) -> dict:
    """Every (weight, C) scored by out-of-fold mean average precision on the training split; thresholds tuned on
    the winner's out-of-fold probabilities; then one fit on the whole training split, scored on `evaluations`.
    `every_point` also scores every grid point on `evaluations` (a diagnostic: those figures choose nothing)."""
    table = []
    for w, C in itertools.product(weights, c_grid):
        P = np.zeros(Y_train.shape)
        for train_i, val_i in fold_list:
            X_tr, X_val = features.build(blocks, w, train_rows[train_i], [train_rows[val_i]])
            P[val_i] = build_classifier(C, "balanced", config.seed).fit(X_tr, Y_train[train_i]).predict_proba(X_val)
        ap = float(np.mean([average_precision_score(Y_train[:, k], P[:, k]) for k in range(Y_train.shape[1])]))
        table.append({"weight": w, "C": C, "cv_mean_ap": round(ap, 4), "P": P})
        print(f"  {name} w={w} C={C}: cv mean AP {ap:.4f}", flush=True)
    best = max(table, key=lambda r: r["cv_mean_ap"])
    out = {"chosen": {"weight": best["weight"], "C": best["C"]}, "cv_mean_ap": best["cv_mean_ap"]}
    out.update(_final_scores(blocks, best, features, train_rows, Y_train, config, evaluations))
    if every_point:
        for row in table:
            row.update(_final_scores(blocks, row, features, train_rows, Y_train, config, evaluations))
            print(f"  {name} w={row['weight']} C={row['C']} (diagnostic): "
                  f"{ {k: v for k, v in row.items() if k.endswith('macro_f1')} }", flush=True)
    out["grid"] = [{k: v for k, v in row.items() if k != "P"} for row in table]
    return out


def _final_scores(blocks, row, features: Blocks, train_rows, Y_train, config: TrainConfig, evaluations) -> dict:
    """Thresholds tuned on the grid point's out-of-fold probabilities, one fit on the whole training split,
    macro F1 on each evaluation set."""
    t = config.thresholds
    thresholds = tune_thresholds(Y_train, row["P"], t.recall_floor, t.floor_categories, t.min_threshold,
                                 t.max_threshold)
    X_train, *X_evals = features.build(blocks, row["weight"], train_rows, [rows for rows, _, _ in evaluations])
    clf = build_classifier(row["C"], "balanced", config.seed).fit(X_train, Y_train)
    oof_flags = apply_thresholds(row["P"], thresholds)
    out = {"cv_oof_macro_f1": round(float(f1_score(Y_train, oof_flags, average="macro", zero_division=0)), 4)}
    for (_, Y_eval, label), X_eval in zip(evaluations, X_evals):
        flags = apply_thresholds(clf.predict_proba(X_eval), thresholds)
        out[f"{label}_macro_f1"] = round(float(f1_score(Y_eval, flags, average="macro", zero_division=0)), 4)
    return out


# -- speed and memory, each in a fresh process ---------------------------------------------------------

def _cut(texts: list[str], words: int = 100) -> list[str]:
    long_enough = [t for t in texts if len(t.split()) >= words]
    return [" ".join(t.split()[:words]) for t in long_enough]


def _speed_child(kind: str, texts: list[str], model_path: str, queue) -> None:
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    if kind.startswith("encoder"):
        threads = 1 if kind.endswith("1thread") else None
        encoder = SentenceEncoder(threads=threads)
        load_s = time.perf_counter() - started
        encoder.encode(texts[:8])  # warm
        t = time.perf_counter()
        for text in texts:
            encoder.encode([text])
        one = (time.perf_counter() - t) * 1e3 / len(texts)
        t = time.perf_counter()
        encoder.encode(texts, batch_size=32)
        batched = (time.perf_counter() - t) * 1e3 / len(texts)
    else:
        from redflags.model.artifact import load_predictor
        predictor = load_predictor(model_path)
        load_s = time.perf_counter() - started
        predictor.predict(texts[:8], evidence=False)
        t = time.perf_counter()
        for text in texts:
            predictor.predict([text], evidence=False)
        one = (time.perf_counter() - t) * 1e3 / len(texts)
        t = time.perf_counter()
        predictor.predict(texts, evidence=False)
        batched = (time.perf_counter() - t) * 1e3 / len(texts)
    queue.put({"ms_per_100_word_text_one_at_a_time": round(one, 2),
               "ms_per_100_word_text_batched": round(batched, 2),
               "load_seconds": round(load_s, 2),
               "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
               "rss_at_start_mb": round(rss0 / 1024, 1)})


def speed(texts: list[str], model_path: Path) -> dict:
    ctx = multiprocessing.get_context("spawn")
    result = {"n_texts": len(texts)}
    for kind in ("shipped_model", "encoder_1thread", "encoder_all_threads"):
        if kind == "shipped_model" and not model_path.is_file():
            continue
        queue = ctx.Queue()
        child = ctx.Process(target=_speed_child, args=(kind, texts, str(model_path), queue))
        child.start()
        result[kind] = queue.get()
        child.join()
        print(kind, result[kind], flush=True)
    return result


# -- main -----------------------------------------------------------------------------------------------

def shipped_scores(model_path: Path, evaluations) -> dict:
    from redflags.model.artifact import load_predictor
    predictor = load_predictor(model_path)
    out = {"model_version": predictor.version}
    for texts, Y, label in evaluations:
        preds = predictor.predict(texts, evidence=False)
        flags = np.array([[int(c in {f.category for f in p.red_flags}) for c in CATEGORIES] for p in preds])
        out[f"{label}_macro_f1"] = round(float(f1_score(Y, flags, average="macro", zero_division=0)), 4)
    return out


VARIANTS = {
    "a_tfidf": (("tfidf",), (1.0,)),
    "b_embeddings": (("whole",), (1.0,)),
    "c_tfidf+embeddings": (("tfidf", "whole"), EMBEDDING_WEIGHTS),
    "b_sentence_mean": (("mean",), (1.0,)),
    "b_sentence_max": (("max",), (1.0,)),
    "c_tfidf+sentence_mean": (("tfidf", "mean"), EMBEDDING_WEIGHTS),
    "c_tfidf+embeddings+sentence_max": (("tfidf", "whole", "max"), EMBEDDING_WEIGHTS),
}
SENTENCE_BLOCKS = {"mean", "max"}


def quality(args, config: TrainConfig) -> dict:
    corpus = load_anecdotes(args.data)
    train_idx, test_idx = split(corpus.Y, corpus.recommendations, config.test_size, config.seed)
    dev = load_anecdotes(args.dev, extra_columns=True)
    all_texts = corpus.texts + dev.texts  # corpus rows first, then dev rows
    n = len(corpus)
    box: list = []
    embeddings = {"whole": whole_embeddings(box, all_texts)}
    if args.sentences:
        embeddings["mean"], embeddings["max"] = sentence_embeddings(box, all_texts)
    features = Blocks(all_texts, embeddings)
    Y_train = corpus.Y[train_idx]
    fold_list = folds(Y_train, corpus.recommendations[train_idx], config.cv_folds, config.seed)
    evaluations = [(test_idx, corpus.Y[test_idx], "held_out"), (np.arange(n, n + len(dev)), dev.Y, "real_dev")]
    names = [v for v in args.variants.split(",") if v] or [
        v for v, (blocks, _) in VARIANTS.items() if args.sentences or not SENTENCE_BLOCKS & set(blocks)]
    result = {"corpus_rows": n, "train_rows": len(train_idx), "held_out_rows": len(test_idx),
              "dev_rows": len(dev), "variants": {}}
    for name in names:
        blocks, weights = VARIANTS[name]
        if args.weights and len(weights) > 1:
            weights = args.weights
        started = time.perf_counter()
        scores = fit_variant(name, blocks, weights, features, train_idx, Y_train, fold_list, config, evaluations,
                             args.c_grid or C_GRID, args.every_point)
        scores["fit_seconds"] = round(time.perf_counter() - started, 1)
        result["variants"][name] = scores
        print(name, {k: v for k, v in scores.items() if k != "grid"}, flush=True)
    if args.model.is_file():
        result["variants"]["shipped_model"] = shipped_scores(
            args.model, [([corpus.texts[i] for i in test_idx], corpus.Y[test_idx], "held_out"),
                         (dev.texts, dev.Y, "real_dev")])
        print("shipped_model", result["variants"]["shipped_model"], flush=True)
    return result


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(x) for x in text.split(","))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dev", default=str(DEFAULT_DEV))
    ap.add_argument("--data", default=str(DEFAULT_DATA), help="labelled corpus (default: %(default)s)")
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="the shipped model, for reference")
    ap.add_argument("--variants", default="", help="comma-separated subset of the variants (default: all)")
    ap.add_argument("--no-sentences", dest="sentences", action="store_false",
                    help="skip the per-sentence embeddings (the first run encodes every sentence of the corpus)")
    ap.add_argument("--weights", type=_floats,
                    help="embedding-block weights to try beside TF-IDF (default: 0.25,0.5,1)")
    ap.add_argument("--c-grid", type=_floats, help="C values to try (default: 4,16)")
    ap.add_argument("--every-point", action="store_true",
                    help="also score every grid point on the held-out and dev sets (a diagnostic; chooses nothing)")
    ap.add_argument("--out", default="encoder", help="results file bench/out/NAME.json (default: %(default)s)")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    args = ap.parse_args()
    config = TrainConfig.from_toml()
    result = {}
    if not args.skip_speed:
        corpus = load_anecdotes(args.data)
        result["speed"] = speed(_cut(corpus.texts)[:200], args.model)
    if not args.skip_quality:
        result["quality"] = quality(args, config)
    save(args.out, result)


if __name__ == "__main__":
    main()
