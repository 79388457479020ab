"""Persist and load the model bundle: one joblib file plus a JSON sidecar with its SHA-256 and metadata.

Loading checks the sidecar *before* unpickling (a pickle runs code when loaded, so an artifact whose
digest does not match is never opened) and refuses an artifact made with another scikit-learn.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import joblib
import sklearn

from redflags.model.predict import Predictor

RETRAIN_HINT = "Run `make train` (or `redflags train`) to build a fresh model."


class ArtifactError(RuntimeError):
    """The model artifact is missing, tampered with, or was made by incompatible software."""


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_versions(path: Path, meta: dict[str, Any]) -> None:
    trained_with = meta.get("sklearn_version")
    if trained_with != sklearn.__version__:
        raise ArtifactError(
            f"{path} was made with scikit-learn {trained_with}, but {sklearn.__version__} is installed; "
            f"pickles do not carry across versions. {RETRAIN_HINT}")


def _digest_mismatch(path: Path, expected: str, actual: str) -> ArtifactError:
    return ArtifactError(
        f"SHA-256 digest mismatch for {path}: the sidecar says {expected}, the file is {actual}. The artifact "
        f"was modified or corrupted after training; refusing to load it. {RETRAIN_HINT}")


def umask_mode() -> int:
    """The mode a plainly created file gets (mkstemp makes 0600; a model must be readable by the service)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _atomic_write_bytes(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, umask_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_bundle(bundle: dict[str, Any], path: str | Path) -> dict[str, Any]:
    """Write the bundle and its sidecar atomically; return the sidecar's content."""
    path = Path(path)
    _atomic_write_bytes(path, lambda fh: joblib.dump(bundle, fh, compress=3))
    meta = dict(bundle["metadata"])
    meta["artifact_sha256"] = sha256_of(path)
    meta["artifact_file"] = path.name
    _atomic_write_bytes(sidecar_path(path), lambda fh: fh.write(json.dumps(meta, indent=2, sort_keys=True).encode()))
    return meta


def read_sidecar(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    side = sidecar_path(path)
    if not path.is_file():
        raise ArtifactError(f"No model artifact at {path}. {RETRAIN_HINT}")
    if not side.is_file():
        raise ArtifactError(f"The model artifact {path} has no sidecar {side.name}, so it cannot be verified; "
                            f"refusing to load it. {RETRAIN_HINT}")
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"The sidecar {side} is not readable JSON ({exc}). {RETRAIN_HINT}") from exc
    if not isinstance(meta, dict) or "artifact_sha256" not in meta:
        raise ArtifactError(f"The sidecar {side} has no artifact_sha256. {RETRAIN_HINT}")
    return meta


def verify_artifact(path: str | Path) -> dict[str, Any]:
    """Check sidecar, digest and scikit-learn version without unpickling; return the sidecar."""
    path = Path(path)
    meta = read_sidecar(path)
    actual = sha256_of(path)
    if actual != meta["artifact_sha256"]:
        raise _digest_mismatch(path, meta["artifact_sha256"], actual)
    _check_versions(path, meta)
    return meta


def load_bundle(path: str | Path) -> dict[str, Any]:
    """Verify digest and versions, then unpickle the very bytes that were hashed (so the file cannot
    be swapped between check and load). Raises ArtifactError with what is wrong and what to do."""
    path = Path(path)
    meta = read_sidecar(path)
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != meta["artifact_sha256"]:
        raise _digest_mismatch(path, meta["artifact_sha256"], actual)
    _check_versions(path, meta)
    try:
        bundle = joblib.load(io.BytesIO(data))
    except Exception as exc:  # a pickle can fail in many ways; all mean the same to the caller
        raise ArtifactError(f"{path} could not be unpickled ({type(exc).__name__}: {exc}). {RETRAIN_HINT}") from exc
    if not isinstance(bundle, dict) or "pipeline" not in bundle:
        raise ArtifactError(f"{path} does not hold a red-flag model bundle. {RETRAIN_HINT}")
    return bundle


def load_predictor(path: str | Path) -> Predictor:
    """The one loading function used by the service, the CLI and the batch scorer."""
    bundle = load_bundle(path)
    try:
        return Predictor(bundle)
    except (KeyError, ValueError, AttributeError, TypeError) as exc:
        raise ArtifactError(f"{path} holds an incomplete or incompatible model bundle ({exc!r}). "
                            f"{RETRAIN_HINT}") from exc
