"""Strategies registered by name, each a (strategy class, config model) pair.

`build_strategies` validates each configured strategy's section with its own model, so a bad
field fails at start-up with its full path (`strategies.scalping.min_volume`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from market.clock import Clock
from market.state import MarketState
from strategies.base import Strategy, StrategyConfig


@dataclass(frozen=True)
class Registration:
    strategy: type[Strategy]
    config: type[StrategyConfig]


_REGISTRY: dict[str, Registration] = {}


class StrategyConfigError(ValueError):
    """A strategy section is invalid; the message names the field and the value."""


def register(name: str, strategy: type[Strategy], config: type[StrategyConfig]) -> None:
    if name in _REGISTRY and _REGISTRY[name].strategy is not strategy:
        raise ValueError(f"strategy name {name!r} is already registered")
    _REGISTRY[name] = Registration(strategy, config)


def registered() -> dict[str, Registration]:
    _load_builtins()
    return dict(_REGISTRY)


def build_strategies(sections: Mapping[str, Mapping[str, Any]], market: MarketState,
                     clock: Clock) -> list[Strategy]:
    """Instantiate every configured strategy (enabled or not: they can be switched at run time)."""
    _load_builtins()
    built: list[Strategy] = []
    for name, raw in sections.items():
        reg = _REGISTRY.get(name)
        if reg is None:
            known = ", ".join(sorted(_REGISTRY))
            raise StrategyConfigError(f"strategies.{name}: unknown strategy (known: {known})")
        try:
            config = reg.config.model_validate(dict(raw))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise StrategyConfigError(
                f"strategies.{name}.{where}: {err['msg']} (got {err.get('input')!r})") from exc
        built.append(reg.strategy(config, market, clock))
    return built


def _load_builtins() -> None:
    # Importing the modules runs their register() calls.
    import strategies.momentum_breakout
    import strategies.scalping
    import strategies.unusual_activity  # noqa: F401
