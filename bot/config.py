"""The daemon's configuration: one frozen model per component, from a TOML file plus the
environment (`TRADEFLY__RISK__MAX_DAILY_LOSS_PCT=0.02` overrides `[risk] max_daily_loss_pct`).

Secrets (API keys, tokens) are accepted only from the environment or a secrets directory,
never from the TOML file, so a config can be shared or committed safely.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bot.execution_config import ExecutionConfig
from brokers.alpaca_config import AlpacaConfig
from brokers.ibkr_config import IbkrConfig
from brokers.paper import PaperConfig
from market.daily_history_config import DailyHistoryConfig
from market.feeds.massive_config import MassiveFeedConfig
from market.flow.config import FlowConfig
from market.greeks.config import GreeksConfig
from market.history.config import HistoryConfig
from market.indicators.config import IndicatorsConfig
from risk.config import RiskConfig

LIVE_CONFIRM_ENV = "TRADEFLY_LIVE_CONFIRM"
LIVE_CONFIRM_VALUE = "yes-real-money"

#: Dotted paths of fields that hold secrets: refused in the file, masked when printed.
SECRET_FIELDS = (
    "alpaca.api_key", "alpaca.secret_key", "telegram.token", "massive.api_key",
    "massive.s3_access_key", "massive.s3_secret_key", "http.token",
)


class ConfigError(ValueError):
    """An invalid configuration; the message names the field and the bad value."""


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReplayConfig(Section):
    folder: Path = Field(Path("data/replay"), description="Folder of recorded days.")
    underlyings: list[str] = Field(["GOOG"], description="Underlyings to replay.")
    days: list[date] = Field([date(2015, 12, 24)], description="Sessions to replay, in order.")
    speed: float = Field(
        0.0, ge=0, description="Replay speed vs real time (60 = a minute per second); "
        "0 = as fast as possible.")
    reset_state: bool = Field(
        True, description="Start each replay run from empty books (store and paper ledger).")


class FeedConfig(Section):
    kind: Literal["replay", "massive", "alpaca"] = Field(
        "replay", description="Where market data comes from.")
    stale_after_seconds: float = Field(
        30.0, gt=0, description="A live feed silent this long is stale; entries stop.")
    underlyings: list[str] = Field(
        [], description="Underlyings a live feed streams (empty default: a live feed needs "
        "at least one); their near-the-money option contracts are subscribed at start.")
    moneyness_band: float = Field(
        0.03, gt=0, lt=1, description="Subscribe contracts with strike / underlying within "
        "1 ± this (default 0.03: 3% either side of the money).")
    expirations: int = Field(
        2, ge=1, description="Subscribe contracts of this many nearest expirations "
        "(default 2).")
    contracts_per_side: int = Field(
        5, ge=1, description="Alpaca (no underlying price in its chain): per expiration, the "
        "calls and the puts whose |delta| is closest to 0.5, this many each (default 5).")


class StoreConfig(Section):
    url: str = Field("sqlite:///var/tradefly.db",
                     description="SQLAlchemy URL: SQLite (WAL) or postgresql+psycopg://…")
    sqlite_synchronous: Literal["NORMAL", "FULL"] = Field(
        "NORMAL", description="NORMAL survives a process crash (kill -9); FULL also a power "
        "loss, at about a millisecond per write.")
    durability: Literal["each_write", "at_flush"] = Field(
        "each_write", description="each_write (live, paper): every order-path write commits "
        "before the order goes on; at_flush: commits only at each session close, for a "
        "throwaway store (backtests use it; a crash loses the uncommitted session).")


class OrdersConfig(Section):
    client_id_prefix: str = Field("tf", pattern=r"^[A-Za-z0-9]{1,8}$",
                                  description="Prefix of our client order ids.")
    flatten_before_close_minutes: int = Field(
        5, ge=0, description="Close every position this many minutes before the session "
        "closes (early closes included); 0 disables.")
    close_expiring_before_close_minutes: int = Field(
        10, ge=0, description="Close positions in contracts expiring today this many minutes "
        "before the close, even with the end-of-day flatten off (a long option left in the "
        "money is exercised into stock, a short one can be assigned); 0 disables.")
    cancel_open_orders_on_shutdown: bool = Field(
        True, description="On SIGTERM, cancel working orders (else leave them at the broker).")
    reconcile_interval_seconds: float = Field(
        60.0, gt=0, description="How often a running daemon compares its orders, fills and "
        "positions with the broker's (positions changed outside the bot are caught here).")
    exit_retry_seconds: float = Field(
        30.0, gt=0, description="After a stop, target or time stop exit is refused (no bid, "
        "a risk rule, the broker), wait this long before trying again; the pause doubles with "
        "each refusal.")
    exit_retry_max_seconds: float = Field(
        300.0, gt=0, description="The longest pause between refused exit attempts.")


class HttpConfig(Section):
    enabled: bool = Field(True, description="Serve /healthz and /metrics.")
    host: str = Field("127.0.0.1", description="Bind address; keep it local unless "
                      "protected.")
    port: int = Field(8088, ge=0, le=65535, description="Port (0 = any free port).")
    token: SecretStr | None = Field(None, description="Bearer token for anything beyond "
                                    "localhost (environment only).")


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_logs: bool | None = Field(None, description="JSON lines; default: JSON unless on a "
                                   "terminal.")


class TelegramConfig(Section):
    """Control and alerts over Telegram. Users are Telegram user ids (numbers): commands are
    authorized on the user, never on the chat alone, so a bot in a group stays safe."""

    enabled: bool = Field(False, description="Run the Telegram control and alert service.")
    token: SecretStr | None = Field(None, description="Bot token from @BotFather "
                                    "(environment only: TRADEFLY__TELEGRAM__TOKEN).")
    base_url: str = Field("https://api.telegram.org/bot",
                          description="Bot API base URL (self-hosted servers, tests).")
    admins: list[int] = Field([], description="User ids that may do everything, including "
                              "/kill and resuming after a breaker or kill.")
    traders: list[int] = Field([], description="User ids that may also pause, resume, "
                               "flatten and switch strategies.")
    viewers: list[int] = Field([], description="User ids that may only read.")
    allowed_chats: list[int] = Field([], description="If set, commands are accepted only in "
                                     "these chats (still checked on the user); [] = any chat.")
    alert_chats: list[int] = Field([], description="Chats that receive alerts; [] = each "
                                   "admin's private chat.")
    alert_min_priority: int = Field(1, ge=0, le=2, description="Lowest notice priority sent "
                                    "as an alert: 0 also sends every signal, 1 fills and "
                                    "denials, 2 only faults and state changes.")
    alert_queue_size: int = Field(200, ge=10, description="Alerts kept per chat while "
                                  "Telegram is slow or down; beyond it the oldest of the lowest "
                                  "priority are dropped (and counted).")
    alert_interval_seconds: float = Field(3.0, ge=0, description="Least time between two "
                                          "alert messages to one chat; alerts arriving in "
                                          "between are batched into one message.")
    confirm_seconds: float = Field(60.0, gt=0, description="How long the confirm buttons of "
                                   "/flatten, /kill and resume-after-breaker stay valid.")
    heartbeat_minutes: float = Field(60.0, ge=0, description="A short 'alive' alert this "
                                     "often, so silence itself is the alarm; 0 = off.")
    poll_timeout_seconds: int = Field(20, ge=0, le=50, description="Long-polling timeout of "
                                      "getUpdates.")

    @model_validator(mode="after")
    def _check_users(self) -> TelegramConfig:
        seen: dict[int, str] = {}
        for role in ("admins", "traders", "viewers"):
            for user in getattr(self, role):
                if user in seen and seen[user] != role:
                    raise ValueError(f"user {user} is listed in both {seen[user]} and {role}; "
                                     "give each user one role")
                seen[user] = role
        if self.enabled and self.token is None:
            raise ValueError("enabled = true needs a token: set TRADEFLY__TELEGRAM__TOKEN")
        if self.enabled and not (seen or self.alert_chats):
            raise ValueError("enabled = true but no admins, traders, viewers or alert_chats: "
                             "nobody could use the bot")
        return self


class MassiveConfig(MassiveFeedConfig):
    """Massive: the feed's own settings (rest_url, ws_host, retries, timeouts...) plus secrets."""

    api_key: SecretStr | None = None
    s3_access_key: SecretStr | None = None
    s3_secret_key: SecretStr | None = None
    s3_endpoint: str = Field("https://files.massive.com", description="Flat-files S3 endpoint "
                             "(default https://files.massive.com).")
    s3_bucket: str = Field("flatfiles", description="Flat-files bucket (default flatfiles).")


class WalkForwardConfig(Section):
    in_sample_days: int = Field(3, ge=1, description="Sessions each optimization looks at.")
    out_of_sample_days: int = Field(1, ge=1, description="Sessions each winner is then "
                                    "tested on, unseen; the window rolls by this much.")
    objective: Literal["net_pnl", "sharpe", "profit_factor", "expectancy"] = Field(
        "net_pnl", description="What the in-sample search maximizes.")
    params: dict[str, list[Any]] = Field(
        default_factory=dict, description="Dotted config field -> candidate values, e.g. "
        "{\"strategies.scalping.min_momentum\" = [0.02, 0.03]}; the grid is their product.")


class MonteCarloConfig(Section):
    runs: int = Field(2000, ge=10, description="Resampled paths per method.")
    block_days: int = Field(2, ge=1, description="Block length of the day bootstrap.")
    seed: int = Field(7, description="Random seed: the same seed gives the same figures.")


class BacktestConfig(Section):
    daily_pnl_target: float = Field(300.0, description="P&L per day the report measures "
                                    "against (the specification's $300/day).")
    risk_free_rate: float = Field(0.0, ge=0, description="Annual rate subtracted in Sharpe "
                                  "and Sortino.")
    confidence_buckets: list[float] = Field(
        [0.5, 0.6, 0.7, 0.8, 0.9], description="Inner edges of the signal-confidence buckets "
        "of the breakdown.")
    scheduler: str | None = Field(
        None, description="Dask scheduler address (tcp://host:8786) for sweeps, walk-forward "
        "and Monte Carlo; unset runs local processes with joblib.")
    n_jobs: int = Field(-1, description="Local worker processes (-1 = one per core).")
    walk_forward: WalkForwardConfig = WalkForwardConfig()
    monte_carlo: MonteCarloConfig = MonteCarloConfig()


class Settings(BaseSettings):
    """Everything the daemon is told. Built by `load_settings`, never mutated."""

    model_config = SettingsConfigDict(
        frozen=True, extra="forbid", env_prefix="TRADEFLY__", env_nested_delimiter="__",
        nested_model_default_partial_update=True,
    )

    mode: Literal["paper", "live"] = Field(
        "paper", description="paper (default) or live; live also needs the confirmation "
        f"variable {LIVE_CONFIRM_ENV}={LIVE_CONFIRM_VALUE}.")
    broker: Literal["paper", "alpaca", "ibkr"] = Field("paper", description="Where orders go.")
    account_id: str = Field("paper-1", description="Name of these books in the store.")
    state_dir: Path = Field(Path("var"), description="Where the paper ledger and logs live.")
    feed: FeedConfig = FeedConfig()
    replay: ReplayConfig = ReplayConfig()
    store: StoreConfig = StoreConfig()
    paper: PaperConfig = PaperConfig(ledger_path="var/paper-ledger.db")
    risk: RiskConfig = RiskConfig()
    orders: OrdersConfig = OrdersConfig()
    execution: ExecutionConfig = ExecutionConfig()
    strategies: dict[str, dict[str, Any]] = Field(
        default_factory=lambda: {"scalping": dict[str, Any]()},
        description="One table per strategy, validated by that strategy's config model.")
    http: HttpConfig = HttpConfig()
    logging: LoggingConfig = LoggingConfig()
    alpaca: AlpacaConfig = AlpacaConfig()
    ibkr: IbkrConfig = IbkrConfig()
    telegram: TelegramConfig = TelegramConfig()
    massive: MassiveConfig = MassiveConfig()
    history: HistoryConfig = HistoryConfig()
    backtest: BacktestConfig = BacktestConfig()
    greeks: GreeksConfig = GreeksConfig()
    flow: FlowConfig = FlowConfig()
    indicators: IndicatorsConfig = IndicatorsConfig()
    daily_history: DailyHistoryConfig = DailyHistoryConfig()

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the file (passed as init values); secrets dir comes last.
        return env_settings, init_settings, file_secret_settings


def load_settings(path: Path | None) -> Settings:
    """Read the TOML file (if any) and the environment; raise ConfigError naming the field."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text())
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    for dotted in SECRET_FIELDS:
        section, key = dotted.split(".")
        if isinstance(raw.get(section), dict) and key in raw[section]:
            env = f"TRADEFLY__{section.upper()}__{key.upper()}"
            raise ConfigError(f"{dotted}: secrets may not be written in the config file; "
                              f"set {env} in the environment instead")
    try:
        return Settings(**raw)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(root)"
        value = err.get("input")
        shown = "***" if any(where.startswith(s) for s in SECRET_FIELDS) else repr(value)
        if isinstance(value, dict):  # a section-level check: its input may hold secrets
            lines.append(f"{where}: {err['msg']}")
        elif err["type"] == "extra_forbidden":
            lines.append(f"{where}: unknown field (got {shown})")
        else:
            lines.append(f"{where}: {err['msg']} (got {shown})")
    return "; ".join(lines)


def check_live_confirmation(settings: Settings) -> None:
    """Invariant 2: live needs the config *and* the confirmation variable, checked first."""
    if settings.mode != "live":
        return
    if os.environ.get(LIVE_CONFIRM_ENV) != LIVE_CONFIRM_VALUE:
        raise ConfigError(
            f"mode: 'live' trades real money; set {LIVE_CONFIRM_ENV}={LIVE_CONFIRM_VALUE} to "
            "confirm, or use mode = \"paper\"")
    if settings.broker == "paper":
        raise ConfigError("broker: mode 'live' needs a real broker (alpaca or ibkr)")


def masked_dump(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, secrets replaced by '***' (or null when unset)."""
    data = settings.model_dump(mode="json")
    for dotted in SECRET_FIELDS:
        section, key = dotted.split(".")
        if data.get(section, {}).get(key) is not None:
            data[section][key] = "***"
    return data
