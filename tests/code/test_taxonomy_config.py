"""The taxonomy module matches the contract, and configuration errors name the setting."""
import re
from pathlib import Path

import pytest

from redflags.config import ConfigError, Settings, TrainConfig
from redflags.model.taxonomy import CATEGORIES, NEVER_SOFTENED, RECOMMENDATIONS, severity

SHARED = Path(__file__).resolve().parents[3] / "shared" / "TAXONOMY.md"


@pytest.mark.skipif(not SHARED.exists(), reason="../shared is not beside this checkout")
def test_ids_match_shared_taxonomy():
    text = SHARED.read_text(encoding="utf-8")
    table_ids = re.findall(r"^\| `([a-z_]+)` \|", text, flags=re.M)
    assert table_ids == [*CATEGORIES, *RECOMMENDATIONS]


def test_severity_and_softening():
    assert severity("harassment") == 3 and severity("disorganized_process") == 1
    assert NEVER_SOFTENED == {"harassment", "discrimination", "scam"}
    with pytest.raises(KeyError):
        severity("rudeness")


def test_default_train_config_loads():
    config = TrainConfig.from_toml()
    assert config.cv_folds >= 2 and "discrimination" in config.thresholds.floor_categories


@pytest.mark.parametrize("toml, message", [
    ("test_size = 0.9\n", "test_size"),
    ("bogus = 1\n", "unknown setting 'bogus'"),
    ("[grid]\nfeatures = ['bert']\n", "grid.features"),
    ("[thresholds]\nfloor_categories = ['rudeness']\n", "floor_categories"),
    ("[thresholds]\nmin_threshold = 0.9\nmax_threshold = 0.2\n", "min_threshold < max_threshold"),
    ("[thresholds]\nrecall_floor = 2\n", "recall_floor"),
    ("seed = \n", "cannot read"),
])
def test_bad_train_config(tmp_path, toml, message):
    path = tmp_path / "c.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_toml(path)


def test_settings_from_env():
    s = Settings.from_env({"REDFLAGS_PORT": "9001", "REDFLAGS_API_KEYS": "a, b,,", "REDFLAGS_WORKERS": "3"})
    assert (s.port, s.api_keys, s.workers, s.host) == (9001, ("a", "b"), 3, "127.0.0.1")


@pytest.mark.parametrize("env", [{"REDFLAGS_PORT": "http"}, {"REDFLAGS_PORT": "0"}, {"REDFLAGS_WORKERS": "-1"}])
def test_bad_settings(env):
    with pytest.raises(ConfigError, match=next(iter(env))):
        Settings.from_env(env)


def test_cli_survives_an_unrelated_bad_setting(monkeypatch, capsys):
    from redflags.cli import main

    monkeypatch.setenv("REDFLAGS_PORT", "http")
    assert main(["classify", "--model", "/nonexistent/model.joblib", "hello"]) == 2
    assert "No model artifact" in capsys.readouterr().err
