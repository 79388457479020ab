"""Typed configuration in one place: training settings from TOML, service settings from REDFLAGS_* variables."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from redflags.model.taxonomy import CATEGORIES



def project_home(environ=None, package_dir: Path | None = None, cwd: Path | None = None) -> Path:
    """Where data/, model/artifacts/ and reports/ live: $REDFLAGS_HOME when set; else the source checkout
    the package runs from (an editable install: a pyproject.toml beside the package); else the current
    folder (an installed wheel, whose package folder is inside site-packages)."""
    env = os.environ if environ is None else environ
    if env.get("REDFLAGS_HOME"):
        return Path(env["REDFLAGS_HOME"]).expanduser().resolve()
    checkout = (package_dir or Path(__file__).resolve().parent).parent
    if (checkout / "pyproject.toml").is_file() and (checkout / "redflags" / "config.py").is_file():
        return checkout
    return (cwd or Path.cwd()).resolve()


PROJECT_ROOT = project_home()
DEFAULT_DATA = PROJECT_ROOT / "data" / "anecdotes.csv"
DEFAULT_MODEL_DIR = PROJECT_ROOT / "model" / "artifacts"
DEFAULT_MODEL_PATH = DEFAULT_MODEL_DIR / "model.joblib"
DEFAULT_REPORTS = PROJECT_ROOT / "reports"
DEFAULT_TRAIN_CONFIG = Path(__file__).resolve().parent / "train_config.toml"
# The real-account development set, beside the checkout: only ever scored, never trained on.
DEFAULT_DEV = PROJECT_ROOT.parent / "shared" / "dev" / "real_dev.csv"



class ConfigError(ValueError):
    """A configuration value is missing or out of range; the message names it."""


@dataclass(frozen=True)
class GridConfig:
    features: tuple[str, ...] = ("word",)
    word_ngram_max: tuple[int, ...] = (2,)
    min_df: tuple[int, ...] = (2,)
    C: tuple[float, ...] = (4.0, 16.0)
    class_weight: tuple[str, ...] = ("balanced",)


@dataclass(frozen=True)
class ThresholdConfig:
    recall_floor: float = 0.85
    floor_categories: tuple[str, ...] = ("discrimination", "harassment", "scam")
    min_threshold: float = 0.05
    max_threshold: float = 0.95


@dataclass(frozen=True)
class CombineConfig:
    candidates: tuple[str, ...] = ("whole", "max", "blend", "stack")
    override_precision: float = 0.97   # out-of-fold precision a lone sentence needs to decide a category
    override_max_cost: float = 0.005   # macro F1 the override may cost and still be kept
    sentence_override: bool = True     # try the override at all (off: texts may be scored whole only)


@dataclass(frozen=True)
class EncoderConfig:
    """The opt-in sentence-encoder mode (issue 15): off by default, so the default model stays TF-IDF +
    logistic regression and needs no extra packages."""

    enabled: bool = False
    weight: float = 0.25   # the embeddings' scale beside the l2-normalised TF-IDF row (bench/encoder.py chose it)


@dataclass(frozen=True)
class TrainConfig:
    seed: int = 20261127
    test_size: float = 0.2
    cv_folds: int = 4
    grid: GridConfig = field(default_factory=GridConfig)
    thresholds: ThresholdConfig = field(default_factory=ThresholdConfig)
    combine: CombineConfig = field(default_factory=CombineConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)

    def __post_init__(self) -> None:
        if not 0.05 <= self.test_size <= 0.5:
            raise ConfigError(f"test_size must be in [0.05, 0.5], got {self.test_size}")
        if not 2 <= self.cv_folds <= 10:
            raise ConfigError(f"cv_folds must be in [2, 10], got {self.cv_folds}")
        bad = set(self.grid.features) - {"word", "word+char"}
        if bad:
            raise ConfigError(f"grid.features: unknown {sorted(bad)}; use 'word' or 'word+char'")
        bad = set(self.grid.class_weight) - {"balanced", "none"}
        if bad:
            raise ConfigError(f"grid.class_weight: unknown {sorted(bad)}; use 'balanced' or 'none'")
        bad = set(self.thresholds.floor_categories) - set(CATEGORIES)
        if bad:
            raise ConfigError(f"thresholds.floor_categories: unknown {sorted(bad)}")
        t = self.thresholds
        if not (0.0 <= t.recall_floor <= 1.0 and 0.0 < t.min_threshold < t.max_threshold < 1.0):
            raise ConfigError("thresholds: need 0 <= recall_floor <= 1 and 0 < min_threshold < max_threshold < 1")
        bad = set(self.combine.candidates) - {"whole", "max", "blend", "stack"}
        if bad:
            raise ConfigError(f"combine.candidates: unknown {sorted(bad)}")
        if not isinstance(self.encoder.enabled, bool):
            raise ConfigError(f"encoder.enabled must be true or false, got {self.encoder.enabled!r}")
        if not 0.0 < self.encoder.weight <= 10.0:
            raise ConfigError(f"encoder.weight must be in (0, 10], got {self.encoder.weight}")

    @classmethod
    def from_toml(cls, path: str | Path = DEFAULT_TRAIN_CONFIG) -> "TrainConfig":
        try:
            with open(path, "rb") as fh:
                raw = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read the training config ({exc})") from None
        sections = {"grid": GridConfig, "thresholds": ThresholdConfig, "combine": CombineConfig,
                    "encoder": EncoderConfig}
        kwargs = {}
        for key, value in raw.items():
            if key in sections:
                kwargs[key] = _build(sections[key], value, f"{path} [{key}]")
            elif key in {f.name for f in fields(cls)}:
                kwargs[key] = value
            else:
                raise ConfigError(f"{path}: unknown setting {key!r}")
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise ConfigError(f"{path}: {exc}") from None


def _build(kind, values: dict, where: str):
    names = {f.name for f in fields(kind)}
    unknown = set(values) - names
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {sorted(unknown)}")
    return kind(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def _env_int(env, name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    """Service settings, all from REDFLAGS_* environment variables (documented in the README)."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    model_path: Path = DEFAULT_MODEL_PATH
    api_keys: tuple[str, ...] = ()
    rate_limit: str = "120 per minute"
    max_body_bytes: int = 5 * 1024 * 1024
    max_batch_items: int = 1000     # may be lowered, not raised: the API contract says up to 1,000
    max_csv_rows: int = 10_000      # rows per /v1/score-csv request; larger files: `redflags score`
    log_level: str = "info"
    trusted_proxies: int = 0        # reverse proxies in front that set X-Forwarded-For (0: none, trust no header)
    encoder_threads: int = 1        # ONNX Runtime threads per worker for an encoder-mode model (workers x this <= cores)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        keys = tuple(k.strip() for k in env.get("REDFLAGS_API_KEYS", "").split(",") if k.strip())
        return cls(
            host=env.get("REDFLAGS_HOST") or cls.host,
            port=_env_int(env, "REDFLAGS_PORT", cls.port, 1, 65535),
            workers=_env_int(env, "REDFLAGS_WORKERS", cls.workers, 1, 64),
            model_path=Path(env.get("REDFLAGS_MODEL_PATH") or DEFAULT_MODEL_PATH),
            api_keys=keys,
            rate_limit=env.get("REDFLAGS_RATE_LIMIT") or cls.rate_limit,
            max_body_bytes=_env_int(env, "REDFLAGS_MAX_BODY_BYTES", cls.max_body_bytes, 1024, 1 << 30),
            max_batch_items=_env_int(env, "REDFLAGS_MAX_BATCH_ITEMS", cls.max_batch_items, 1, 1000),
            max_csv_rows=_env_int(env, "REDFLAGS_MAX_CSV_ROWS", cls.max_csv_rows, 1, 1_000_000),
            log_level=env.get("REDFLAGS_LOG_LEVEL") or cls.log_level,
            trusted_proxies=_env_int(env, "REDFLAGS_TRUSTED_PROXIES", cls.trusted_proxies, 0, 10),
            encoder_threads=_env_int(env, "REDFLAGS_ENCODER_THREADS", cls.encoder_threads, 1, 64),
        )
