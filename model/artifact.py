"""Persist and load the model bundle: one joblib file plus a JSON sidecar with its SHA-256 and metadata.

Loading checks the sidecar *before* unpickling (a pickle runs code when loaded, so an artifact whose
digest does not match is never opened) and refuses a bundle of another format (`model/bundle.py`). The
bundle holds plain data and arrays only, so it does not depend on the installed scikit-learn.

On disk, `save_bundle(bundle, "dir/model.joblib")` makes::

    dir/model.joblib       -> .model.joblib.versions/current/model.joblib       (symlink, made once)
    dir/model.joblib.json  -> .model.joblib.versions/current/model.joblib.json  (symlink, made once)
    dir/.model.joblib.versions/current -> v<time>-<random>                      (the one pointer)
    dir/.model.joblib.versions/v<time>-<random>/model.joblib, model.joblib.json (never changed)

Both files of a version are written, fsynced and their folder fsynced under a temporary name, the
folder is renamed into place, and only then is the single `current` pointer replaced by one atomic
rename (and the folders fsynced). A reader resolves the links once and reads both files from the
version folder it landed in, so it sees either the old pair or the new pair, never a mix and never
a half-written file. The newest few versions are kept so a reader that resolved an older pointer can
still finish. A plain `model.joblib` with a plain sidecar beside it (copied by hand, or written by an
older release) is still read; the next save turns it into the layout above.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

import joblib

from redflags.model.bundle import BUNDLE_FORMAT, READABLE_FORMATS, BundleError, ModelBundle
from redflags.model.predict import Predictor

RETRAIN_HINT = "Run `make train` (or `redflags train`) to build a fresh model."
CURRENT = "current"        # the pointer inside the versions folder
KEEP_VERSIONS = 3          # version folders kept (the current one is always kept)
_STALE_TEMP_SECONDS = 3600  # leftovers of a crashed save older than this are removed by the next save
_READ_ATTEMPTS = 5


class ArtifactError(RuntimeError):
    """The model artifact is missing, tampered with, or was made by incompatible software."""


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def versions_dir(path: Path) -> Path:
    """The hidden folder beside `path` that holds its versions and the `current` pointer."""
    path = Path(path)
    return path.with_name(f".{path.name}.versions")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_format(path: Path, meta: dict[str, Any]) -> None:
    """Refuse, before unpickling, a bundle whose sidecar names another format (older sidecars name none)."""
    found = meta.get("bundle_format", 2)
    if found not in READABLE_FORMATS:
        raise ArtifactError(f"{path} holds a model bundle of format {found}; this code reads format "
                            f"{BUNDLE_FORMAT}. {RETRAIN_HINT}")


def _digest_mismatch(path: Path, expected: str, actual: str) -> ArtifactError:
    return ArtifactError(
        f"SHA-256 digest mismatch for {path}: the sidecar says {expected}, the file is {actual}. The artifact "
        f"was modified or corrupted after training; refusing to load it. {RETRAIN_HINT}")


# ---------------------------------------------------------------------------------------------
# file modes and durability

def current_umask() -> int | None:
    """The process umask, read without changing it (os.umask can only be read by setting it, which races
    with any thread creating a file meanwhile). Linux reports it in /proc/self/status; None elsewhere."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8) & 0o777
    except (OSError, ValueError, IndexError):
        pass
    return None


def umask_mode() -> int:
    """The mode a plainly created file gets (mkstemp makes 0600; a model must be readable by the service).

    Falls back to 0o644 where the umask cannot be read without changing it."""
    mask = current_umask()
    return 0o644 if mask is None else 0o666 & ~mask


def fsync_dir(folder: Path) -> None:
    """Make renames and new entries in `folder` durable (POSIX; a no-op where folders cannot be opened)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, write) -> None:
    """Create `path` (it must not exist), write it and fsync it. Mode 0666 minus the umask, set by the kernel."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    with os.fdopen(fd, "wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())


def _temp_name(folder: Path, stem: str) -> Path:
    return folder / f".tmp-{stem}-{os.getpid()}-{secrets.token_hex(6)}"


def _point(link: Path, target: str, scratch: Path) -> None:
    """Make `link` a symlink to `target` with one atomic rename (a temp link made in `scratch`, which is on
    the same filesystem, replaces it). Nothing happens if it already points there."""
    if link.is_symlink() and os.readlink(link) == target:
        return
    tmp = _temp_name(scratch, "link")
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _prune(store: Path) -> None:
    """Remove all but the newest KEEP_VERSIONS version folders (never the current one) and stale temp entries."""
    try:
        current = os.readlink(store / CURRENT)
    except OSError:
        return
    versions = sorted(p.name for p in store.iterdir() if p.name.startswith("v") and not p.is_symlink())
    for name in versions[:-KEEP_VERSIONS]:
        if name != current:
            shutil.rmtree(store / name, ignore_errors=True)
    now = time.time()
    for entry in store.iterdir():
        try:
            if entry.name.startswith(".tmp-") and now - entry.lstat().st_mtime > _STALE_TEMP_SECONDS:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------
# saving

def save_bundle(bundle: ModelBundle, path: str | Path) -> dict[str, Any]:
    """Write the bundle and its sidecar as one new version and switch readers to it atomically; return the
    sidecar's content. `path` (and its sidecar) afterwards always name a complete, matching pair."""
    path = Path(path)
    if path.exists() and path.is_dir():
        raise ArtifactError(f"{path} is a folder; give the path of the model file (for example {path}/model.joblib)")
    path.parent.mkdir(parents=True, exist_ok=True)
    store = versions_dir(path)
    store.mkdir(exist_ok=True)

    # 1. both files into a fresh folder under a temporary name; files and folder fsynced
    staging = _temp_name(store, "version")
    os.mkdir(staging, 0o777)  # the umask applies, as to any folder
    try:
        model = staging / path.name
        _write_file(model, lambda fh: joblib.dump(bundle, fh, compress=3))
        meta = dict(bundle.metadata)
        meta["bundle_format"] = bundle.format
        meta["features"] = bundle.feature_set
        meta["artifact_sha256"] = sha256_of(model)
        meta["artifact_file"] = path.name
        _write_file(sidecar_path(model),
                    lambda fh: fh.write(json.dumps(meta, indent=2, sort_keys=True).encode()))
        fsync_dir(staging)
        version = store / f"v{time.time_ns():020d}-{secrets.token_hex(4)}"
        os.replace(staging, version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    fsync_dir(store)

    # 2. the one switch readers see: the pointer moves to the complete version
    _point(store / CURRENT, version.name, store)
    fsync_dir(store)

    # 3. the stable names (made once; this also turns plain legacy files into links: the model first, so a
    #    reader that follows it lands in a version folder and takes the sidecar from there)
    inside = f"{store.name}/{CURRENT}/{path.name}"
    _point(path, inside, store)
    _point(sidecar_path(path), inside + ".json", store)
    fsync_dir(path.parent)

    _prune(store)
    return meta


# ---------------------------------------------------------------------------------------------
# loading

def _resolve(path: Path) -> tuple[Path, Path]:
    """The real artifact file behind `path` (links followed once) and the sidecar that belongs to it: the
    one beside the real file (a version folder), else the one beside `path` (a hand-made link)."""
    real = Path(os.path.realpath(path))
    side = sidecar_path(real)
    if not side.is_file() and sidecar_path(path).is_file():
        side = sidecar_path(path)
    return real, side


def _parse_sidecar(path: Path, real: Path, side: Path) -> dict[str, Any]:
    if not real.is_file():
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


def _read_pair(path: Path, read_bytes: bool) -> tuple[dict[str, Any], bytes | None, str]:
    """Sidecar, (bytes,) and digest of one consistent pair. A save that swaps the pair while we read (and
    prunes the folder we resolved, or migrates a plain file) shows up as a changed resolution: read again."""
    for attempt in range(_READ_ATTEMPTS):
        real, side = _resolve(path)
        last = attempt == _READ_ATTEMPTS - 1
        try:
            meta = _parse_sidecar(path, real, side)
            data = real.read_bytes() if read_bytes else None
            actual = hashlib.sha256(data).hexdigest() if read_bytes else sha256_of(real)
        except (ArtifactError, FileNotFoundError) as exc:
            if not last and _resolve(path)[0] != real:
                continue
            if isinstance(exc, FileNotFoundError):
                raise ArtifactError(f"No model artifact at {path}. {RETRAIN_HINT}") from exc
            raise
        if actual != meta["artifact_sha256"]:
            if not last and _resolve(path)[0] != real:
                continue
            raise _digest_mismatch(path, meta["artifact_sha256"], actual)
        return meta, data, actual
    raise AssertionError("unreachable")  # pragma: no cover


def read_sidecar(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    real, side = _resolve(path)
    return _parse_sidecar(path, real, side)


def verify_artifact(path: str | Path) -> dict[str, Any]:
    """Check sidecar, digest and bundle format without unpickling; return the sidecar."""
    path = Path(path)
    meta, _, _ = _read_pair(path, read_bytes=False)
    _check_format(path, meta)
    return meta


def load_bundle(path: str | Path) -> ModelBundle:
    """Verify digest and format, then unpickle the very bytes that were hashed (so the file cannot
    be swapped between check and load), then check the bundle is complete. Raises ArtifactError with what
    is wrong and what to do."""
    path = Path(path)
    meta, data, _ = _read_pair(path, read_bytes=True)
    _check_format(path, meta)
    try:
        bundle = joblib.load(io.BytesIO(data))
    except Exception as exc:  # a pickle can fail in many ways; all mean the same to the caller
        raise ArtifactError(f"{path} could not be unpickled ({type(exc).__name__}: {exc}). {RETRAIN_HINT}") from exc
    if isinstance(bundle, dict):   # formats 1 and 2 were dicts around a pickled scikit-learn Pipeline
        raise ArtifactError(f"{path} holds a model bundle of format {bundle.get('format', 1)}; this code reads format "
                            f"{BUNDLE_FORMAT}. {RETRAIN_HINT}")
    if not isinstance(bundle, ModelBundle):
        raise ArtifactError(f"{path} does not hold a red-flag model bundle. {RETRAIN_HINT}")
    try:
        bundle.validate()
    except (BundleError, ValueError, AttributeError, TypeError) as exc:
        raise ArtifactError(f"{path} holds an incomplete or inconsistent model bundle ({exc}). {RETRAIN_HINT}") from exc
    return bundle


def load_predictor(path: str | Path, encoder_threads: int | None = None) -> Predictor:
    """The one loading function used by the service, the CLI and the batch scorer. A model of the
    encoder mode needs the encoder extra, checked here so that a missing one is a load error, not a
    failed request; `encoder_threads` caps its ONNX Runtime threads (None: all cores)."""
    bundle = load_bundle(path)
    if bundle.encoder is not None:
        from redflags.model.encoder import EXTRA_HINT, extra_installed

        if not extra_installed():
            raise ArtifactError(f"{path} is a model of the sentence-encoder mode ({bundle.encoder.model_id}), "
                                f"and the encoder extra is not installed: {EXTRA_HINT}")
    return Predictor(bundle, encoder_threads=encoder_threads)
