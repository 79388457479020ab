"""Sentence-encoder embeddings for training the encoder mode, each text encoded once and kept on disk.

Why: training reads the same texts many times (every fold, the out-of-fold sentence scores, the final fit,
the evaluations), and the encoder costs tens of milliseconds a text where TF-IDF costs well under one. The
cache is keyed by a digest of the text (no text is stored) and lives beside the model, so retraining on
the same corpus encodes only what is new.
"""
from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from redflags.model.encoder import DIMENSION, MODEL_ID

ENCODE_CHUNK = 512   # texts per encoder call: the unit of progress and of memory
SAVE_EVERY = 8192    # newly encoded texts after which the cache is written (when it has a path)


KEY_BYTES = 16


def text_key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=KEY_BYTES).digest()


def cache_path_for(model_path: str | Path) -> Path:
    """Where the embedding cache of a model at `model_path` is kept: beside it, named by the encoder."""
    return Path(model_path).parent / f"embeddings-{MODEL_ID}.npz"


class EmbeddingCache:
    """texts -> embeddings (n x DIMENSION float32), encoding only texts it has not seen.

    The encoder (`SentenceEncoder`, or any texts -> array function given as `encode`) is built on first
    need; a pickled copy (a cross-validation worker's) carries the vectors, not the encoder.
    """

    def __init__(self, path: str | Path | None = None, encode=None, threads: int | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.vectors: dict[bytes, np.ndarray] = {}
        self._encode = encode
        self._built = False
        self._threads = threads
        self._unsaved = 0
        if self.path is not None and self.path.is_file():
            self._load(self.path)

    def _load(self, path: Path) -> None:
        try:
            with open(path, "rb") as fh, np.load(fh) as data:   # our handle: closed even when the zip is bad
                keys, vectors = data["keys"], data["vectors"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):   # damaged: only a slower run
            return
        if (vectors.ndim == 2 and vectors.shape[1] == DIMENSION and keys.shape == (len(vectors), KEY_BYTES)
                and keys.dtype == np.uint8):
            self.vectors = {k.tobytes(): v for k, v in zip(keys, vectors)}

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if self._built:   # our own SentenceEncoder: an ONNX session does not travel, a copy builds its own
            state["_encode"], state["_built"] = None, False
        return state

    def __len__(self) -> int:
        return len(self.vectors)

    def _encoder(self):
        if self._encode is None:
            from redflags.model.encoder import SentenceEncoder

            self._encode = SentenceEncoder(threads=self._threads).encode
            self._built = True
        return self._encode

    def __call__(self, texts: Sequence[str], progress=None) -> np.ndarray:
        """Embeddings of `texts` in order; `progress` (a tqdm-like bar) is told of each text encoded."""
        keys = [text_key(t) for t in texts]
        missing: dict[bytes, str] = {}
        for key, text in zip(keys, texts):
            if key not in self.vectors and key not in missing:
                missing[key] = text
        if missing:
            encode = self._encoder()
            todo = list(missing.items())
            for lo in range(0, len(todo), ENCODE_CHUNK):
                chunk = todo[lo:lo + ENCODE_CHUNK]
                vectors = np.asarray(encode([t for _, t in chunk]), dtype=np.float32)
                for (key, _), vector in zip(chunk, vectors):
                    self.vectors[key] = vector
                self._unsaved += len(chunk)
                if self._unsaved >= SAVE_EVERY:   # a long first run keeps its work if it is stopped
                    self.save()
                if progress is not None:
                    progress.update(len(chunk))
        if not keys:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        return np.stack([self.vectors[k] for k in keys])

    def missing(self, texts: Sequence[str]) -> int:
        """How many distinct texts of `texts` would be encoded."""
        return len({k for k in map(text_key, texts) if k not in self.vectors})

    def subset(self, texts: Sequence[str]) -> "EmbeddingCache":
        """A cache holding only `texts` (what a cross-validation worker needs), without a file."""
        if self.missing(texts):
            self(texts)
        out = EmbeddingCache(None, threads=1)
        out.vectors = {k: self.vectors[k] for k in map(text_key, texts)}
        return out

    def save(self) -> None:
        """Write the cache atomically (a half-written file never replaces a good one); no-op without a
        path or without anything new."""
        if self.path is None or not self._unsaved:
            return
        from redflags.model.artifact import fsync_dir

        self.path.parent.mkdir(parents=True, exist_ok=True)
        # raw digest bytes as uint8 rows: numpy's fixed-width bytes ("S16") would drop a trailing NUL
        keys = np.frombuffer(b"".join(self.vectors), dtype=np.uint8).reshape(-1, KEY_BYTES)
        vectors = np.stack(list(self.vectors.values())) if self.vectors else np.zeros((0, DIMENSION), np.float32)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as fh:
                np.savez(fh, keys=keys, vectors=vectors)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            fsync_dir(self.path.parent)
        finally:
            tmp.unlink(missing_ok=True)
        self._unsaved = 0
