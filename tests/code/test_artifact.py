"""Loading refuses a tampered artifact, a missing sidecar and a bundle of another format, saying what to do."""
import json
import os
import shutil
import stat
import threading

import numpy as np
import pytest

from redflags.model.artifact import (CURRENT, KEEP_VERSIONS, ArtifactError, load_bundle, load_predictor, read_sidecar,
                                     save_bundle, sidecar_path, umask_mode, verify_artifact, versions_dir)
from tests.tiny import tiny_bundle


@pytest.fixture
def artifact(tmp_path, tiny_model_path):
    path = tmp_path / "model.joblib"
    shutil.copy(tiny_model_path, path)
    shutil.copy(sidecar_path(tiny_model_path), sidecar_path(path))
    return path


def test_round_trip_and_metadata(artifact):
    predictor = load_predictor(artifact)
    meta = json.loads(sidecar_path(artifact).read_text())
    assert predictor.version == meta["model_version"]
    for key in ("trained_at", "corpus_sha256", "bundle_format", "python_version", "artifact_sha256"):
        assert key in meta


def test_tampered_artifact_is_refused_before_unpickling(artifact, monkeypatch):
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0xFF
    artifact.write_bytes(bytes(data))
    monkeypatch.setattr("joblib.load", lambda *_: pytest.fail("unpickled a tampered file"))
    with pytest.raises(ArtifactError, match="SHA-256 digest mismatch") as err:
        load_predictor(artifact)
    assert "make train" in str(err.value)


def test_missing_sidecar(artifact):
    sidecar_path(artifact).unlink()
    with pytest.raises(ArtifactError, match="no sidecar"):
        load_predictor(artifact)


def test_missing_artifact(tmp_path):
    with pytest.raises(ArtifactError, match="No model artifact"):
        load_predictor(tmp_path / "none.joblib")


def test_a_sidecar_naming_another_format_is_refused_before_unpickling(artifact, monkeypatch):
    side = sidecar_path(artifact)
    meta = json.loads(side.read_text())
    meta["bundle_format"] = 2
    side.write_text(json.dumps(meta))
    monkeypatch.setattr("joblib.load", lambda *_: pytest.fail("unpickled a bundle of another format"))
    with pytest.raises(ArtifactError, match="format 2.*make train"):
        load_predictor(artifact)


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path):
    """The stable names are links into one complete version folder; no temp file is left; old versions go."""
    path = tmp_path / "m" / "model.joblib"
    bundle = tiny_bundle()
    for i in range(KEEP_VERSIONS + 2):
        bundle.metadata["note"] = i
        meta = save_bundle(bundle, path)
    store = versions_dir(path)
    assert sorted(p.name for p in path.parent.iterdir()) == [store.name, "model.joblib", "model.joblib.json"]
    entries = sorted(p.name for p in store.iterdir())
    assert entries[0] == CURRENT and len(entries) == KEEP_VERSIONS + 1
    assert all(name.startswith("v") for name in entries[1:]), entries
    current = store / os.readlink(store / CURRENT)
    assert current.name == entries[-1]
    assert sorted(p.name for p in current.iterdir()) == ["model.joblib", "model.joblib.json"]
    assert path.is_symlink() and sidecar_path(path).is_symlink()
    assert path.resolve() == current / "model.joblib"
    assert read_sidecar(path) == meta and meta["note"] == KEEP_VERSIONS + 1


def test_a_plain_legacy_pair_is_read_and_replaced_by_the_next_save(artifact):
    """A model.joblib with a plain sidecar beside it (copied by hand, older releases) loads, and a save over
    it switches to the linked layout."""
    load_predictor(artifact)
    bundle = tiny_bundle()
    bundle.metadata["note"] = "new"
    save_bundle(bundle, artifact)
    assert artifact.is_symlink() and sidecar_path(artifact).is_symlink()
    assert load_bundle(artifact).metadata["note"] == "new"


def _two_bundles():
    first, second = tiny_bundle(), tiny_bundle()
    first.metadata["note"], second.metadata["note"] = "first", "second"
    return first, second


def test_a_reader_between_any_two_steps_of_a_save_sees_one_whole_pair(tmp_path, monkeypatch):
    """Read the model before and after every rename of a save (where a worker reloading could land): each
    read gets the old pair or the new pair, never a file that does not match its sidecar."""
    path = tmp_path / "model.joblib"
    first, second = _two_bundles()
    save_bundle(first, path)
    seen, errors = [], []

    def read():
        try:
            verify_artifact(path)
            seen.append(load_bundle(path).metadata["note"])
        except ArtifactError as exc:
            errors.append(str(exc))

    real_replace = os.replace

    def replace_and_read(*args, **kwargs):
        read()
        real_replace(*args, **kwargs)
        read()

    monkeypatch.setattr(os, "replace", replace_and_read)
    save_bundle(second, path)
    save_bundle(first, path)
    monkeypatch.undo()
    assert errors == []
    assert seen and set(seen) == {"first", "second"}
    assert seen[-1] == "first"


def test_readers_polling_during_repeated_saves_never_see_a_mismatch(tmp_path):
    path = tmp_path / "model.joblib"
    bundles = _two_bundles()
    save_bundle(bundles[0], path)
    done, errors, reads = threading.Event(), [], [0]

    def poll():
        while not done.is_set():
            try:
                verify_artifact(path)
                load_bundle(path)
                reads[0] += 1
            except ArtifactError as exc:
                errors.append(str(exc))

    readers = [threading.Thread(target=poll) for _ in range(3)]
    for t in readers:
        t.start()
    try:
        for i in range(12):
            save_bundle(bundles[i % 2], path)
    finally:
        done.set()
        for t in readers:
            t.join(timeout=30)
    assert errors == [], errors[:3]
    assert reads[0] > 0


def test_save_fsyncs_both_files_and_the_folders(tmp_path, monkeypatch):
    path = tmp_path / "model.joblib"
    synced = []
    real_fsync = os.fsync

    def record(fd):
        st = os.fstat(fd)
        synced.append((stat.S_ISDIR(st.st_mode), st.st_ino, st.st_size))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", record)
    save_bundle(tiny_bundle(), path)
    monkeypatch.undo()
    files = {(ino, size) for is_dir, ino, size in synced if not is_dir}
    folders = {ino for is_dir, ino, _ in synced if is_dir}
    for name in (path, sidecar_path(path)):
        st = name.stat()
        assert (st.st_ino, st.st_size) in files, f"{name.name} was not fsynced"
    assert path.resolve().parent.stat().st_ino in folders, "the version folder was not fsynced"
    assert versions_dir(path).stat().st_ino in folders, "the pointer's folder was not fsynced after the swap"
    assert tmp_path.stat().st_ino in folders, "the parent folder was not fsynced after the renames"


def test_unpicklable_artifact_is_an_artifact_error(tmp_path):
    """A file whose digest matches its sidecar but is not a model: refused with a message, not a crash."""
    import hashlib

    from redflags.model.bundle import BUNDLE_FORMAT

    path = tmp_path / "model.joblib"
    path.write_bytes(b"not a pickle at all")
    sidecar_path(path).write_text(json.dumps({"artifact_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                                              "bundle_format": BUNDLE_FORMAT}))
    with pytest.raises(ArtifactError, match="could not be unpickled"):
        load_predictor(path)


def test_saved_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        save_bundle(tiny_bundle(), tmp_path / "model.joblib")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "model.joblib").stat().st_mode) == 0o644
    assert stat.S_IMODE(sidecar_path(tmp_path / "model.joblib").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "model.joblib").resolve().parent.stat().st_mode) == 0o755


def test_umask_mode_reads_the_umask_without_changing_it(tmp_path, monkeypatch):
    """os.umask can only be read by setting it, which races with other threads creating files."""
    real_umask = os.umask
    old = real_umask(0o027)
    try:
        def forbidden(*_):
            raise AssertionError("os.umask changes the umask of every thread in the process")

        monkeypatch.setattr(os, "umask", forbidden)
        assert umask_mode() == 0o640
        save_bundle(tiny_bundle(), tmp_path / "model.joblib")
        assert stat.S_IMODE((tmp_path / "model.joblib").stat().st_mode) == 0o640
    finally:
        monkeypatch.undo()
        real_umask(old)


def test_umask_mode_falls_back_to_0644_where_the_umask_cannot_be_read(monkeypatch):
    import redflags.model.artifact as artifact_module

    monkeypatch.setattr(artifact_module, "current_umask", lambda: None)
    assert umask_mode() == 0o644


def test_a_broken_advice_policy_is_refused_at_load_not_mid_request(tmp_path):
    """Unpickling skips the policy's own checks; loading must run them, so no request meets a bad policy."""
    from redflags.model.policy import AdvicePolicy, OrdinalModel

    bundle = tiny_bundle()
    policy = AdvicePolicy(0.0, "severity")
    object.__setattr__(policy, "kind", "ordinal")   # what a hand-edited or older pickle could hold
    object.__setattr__(policy, "ordinal", OrdinalModel(-np.ones(19), np.array([0.0, 1.0])))
    bundle.policy = policy
    path = tmp_path / "model.joblib"
    save_bundle(bundle, path)
    with pytest.raises(ArtifactError, match="non-negative"):
        load_predictor(path)


def test_a_bundle_of_an_older_format_is_refused_with_what_to_do(tmp_path):
    """Formats 1 and 2 were dicts around a pickled Pipeline; a sidecar of that time names no format."""
    import hashlib

    import joblib

    path = tmp_path / "model.joblib"
    joblib.dump({"format": 2, "pipeline": None, "metadata": {}}, path)
    sidecar_path(path).write_text(json.dumps({"artifact_sha256": hashlib.sha256(path.read_bytes()).hexdigest()}))
    with pytest.raises(ArtifactError, match="format 2.*make train"):
        load_predictor(path)
    meta = json.loads(sidecar_path(path).read_text())
    from redflags.model.bundle import BUNDLE_FORMAT

    meta["bundle_format"] = BUNDLE_FORMAT   # a sidecar that lies about the format: the bundle itself is checked too
    sidecar_path(path).write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="format 2.*make train"):
        load_predictor(path)


@pytest.mark.parametrize("break_it, message", [
    (lambda b: setattr(b, "coef", b.coef[:, :3]), "coefficients of shape"),
    (lambda b: b.thresholds.pop("scam"), "no threshold for scam"),
    (lambda b: setattr(b.combiner, "rule", "median"), "unknown combination rule"),
    (lambda b: setattr(b, "format", 99), "format 99"),
])
def test_an_inconsistent_bundle_is_refused_at_load(tmp_path, break_it, message):
    bundle = tiny_bundle()
    break_it(bundle)
    path = tmp_path / "model.joblib"
    save_bundle(bundle, path)
    with pytest.raises(ArtifactError, match=message):
        load_predictor(path)
