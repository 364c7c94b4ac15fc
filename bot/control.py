"""The control surface shared by Telegram and the web dashboard.

One entry point, `ControlAPI.execute(actor, command, args)`: it checks the actor's role, asks
for a confirmation where a slip of the thumb would cost money (flatten, kill, resume after a
breaker or a kill), runs the command and writes an audit row — for every request, including
refused and unknown ones. Channels only translate: they turn a message or a click into an
`Actor` and a command, and an `Outcome` back into text.

Every action goes through the same objects the engine uses (TradingControl, Engine.flatten and
so the risk manager and order manager), so nothing typed on a phone can bypass risk. Like the
engine, the API is synchronous and must be called from the event loop's thread (a handler, an
`async def` endpoint), never from a worker thread.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any

from bot.control_report import report_view
from bot.control_views import (
    audit_view,
    orders_view,
    pnl_view,
    positions_view,
    risk_view,
    signals_view,
    status_view,
    strategies_view,
    version_view,
)
from bot.store.store import StoreError
from bot.wiring import Bot
from brokers.orders import Intent
from market.instruments import OptionSymbol
from risk.state import TradingState

log = logging.getLogger(__name__)

STRATEGY_KEY = "strategy:"  # trading_state key prefix of a strategy switched from a channel


class Role(IntEnum):
    """Ordered: each role may do everything the ones below it may."""

    VIEWER = 1
    TRADER = 2
    ADMIN = 3


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks: the channel's own user id, a display name, and the role the channel's
    access list gave them (None = a stranger)."""

    channel: str
    user_id: str
    name: str = ""
    role: Role | None = None

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.user_id}"

    @property
    def label(self) -> str:
        return f"{self.key} ({self.name})" if self.name else self.key


class AccessList:
    """User id → role, from config lists. An id absent from every list has no role."""

    def __init__(self, admins: Iterable[int | str] = (), traders: Iterable[int | str] = (),
                 viewers: Iterable[int | str] = ()) -> None:
        self._roles: dict[str, Role] = {}
        for ids, role in ((viewers, Role.VIEWER), (traders, Role.TRADER), (admins, Role.ADMIN)):
            for user in ids:
                self._roles[str(user)] = max(role, self._roles.get(str(user), role))

    def role_of(self, user_id: int | str) -> Role | None:
        return self._roles.get(str(user_id))

    @property
    def admins(self) -> list[str]:
        return [u for u, r in self._roles.items() if r is Role.ADMIN]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    role: Role
    summary: str
    usage: str = ""
    confirm: bool = False


COMMANDS: dict[str, CommandSpec] = {spec.name: spec for spec in (
    CommandSpec("help", Role.VIEWER, "the commands you may use"),
    CommandSpec("status", Role.VIEWER, "mode, trading state, breaker, feed, broker, uptime"),
    CommandSpec("positions", Role.VIEWER, "open positions, marks, unrealized P&L"),
    CommandSpec("orders", Role.VIEWER, "working orders and the latest ones"),
    CommandSpec("pnl", Role.VIEWER, "today's P&L against the daily-loss limit"),
    CommandSpec("signals", Role.VIEWER, "latest signals, their reasons and outcome"),
    CommandSpec("risk", Role.VIEWER, "risk limits and how much of each is used"),
    CommandSpec("strategies", Role.VIEWER, "strategies and whether they run"),
    CommandSpec("report", Role.VIEWER, "today's trades and the equity chart"),
    CommandSpec("version", Role.VIEWER, "software versions"),
    CommandSpec("strategy", Role.TRADER, "switch a strategy on or off", "NAME on|off"),
    CommandSpec("pause", Role.TRADER, "stop new entries; exits and brackets go on"),
    CommandSpec("resume", Role.TRADER, "allow entries again (after a breaker or a kill: "
                "admin, confirmed)"),
    CommandSpec("flatten", Role.TRADER, "close every position, one contract, or every "
                "contract of an underlying", "[SYMBOL]", confirm=True),
    CommandSpec("audit", Role.ADMIN, "the latest commands: who, what, allowed, result"),
    CommandSpec("kill", Role.ADMIN, "HALT: cancel entries, flatten all, no new entries until "
                "an admin resumes", confirm=True),
)}


class Status(StrEnum):
    DONE = "done"
    CONFIRM = "confirm"  # nothing happened yet: the actor must confirm with `token`
    DENIED = "denied"  # not allowed for this actor
    INVALID = "invalid"  # bad arguments
    UNKNOWN = "unknown"  # no such command
    FAILED = "failed"  # allowed, but it could not be done (expired confirmation, error)


@dataclass(frozen=True, slots=True)
class Outcome:
    status: Status
    command: str
    message: str = ""  # the result of an action, the reason of a refusal, or the prompt
    view: Any = None  # the typed data of a read (see bot.control_views)
    token: str | None = None  # with CONFIRM: pass it to `confirm` or `cancel`
    expires_in: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status is Status.DONE


@dataclass(frozen=True, slots=True)
class _Pending:
    actor_key: str
    command: str
    args: tuple[str, ...]
    expires_at: float


class _BadArgs(ValueError):
    pass


def utc_now() -> datetime:
    return datetime.now(UTC)


class ControlAPI:
    """What people may do to the running bot, with roles, confirmations and an audit trail.

    Audit rows and confirmation deadlines run on the wall clock (they are about people); state
    changes are stamped with the bot's clock like everything the engine does.
    """

    def __init__(self, bot: Bot, *, health: Callable[[], Mapping[str, Any]] | None = None,
                 confirm_seconds: float = 60.0, components: Mapping[str, str] | None = None,
                 wall: Callable[[], datetime] = utc_now,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.bot = bot
        self._health = health or (lambda: {})
        self.confirm_seconds = confirm_seconds
        self._components = dict(components or {})
        self._wall = wall
        self._monotonic = monotonic
        self._pending: dict[str, _Pending] = {}

    # -- permissions ----------------------------------------------------------------------
    def required_role(self, command: str) -> Role:
        if command == "resume" and self.bot.control.state is not TradingState.ACTIVE:
            return Role.ADMIN  # after a breaker or a kill: a person with the last word
        return COMMANDS[command].role

    def needs_confirmation(self, command: str) -> bool:
        if command == "resume":
            return self.bot.control.state is not TradingState.ACTIVE
        return COMMANDS[command].confirm

    def commands_for(self, role: Role | None) -> list[CommandSpec]:
        return [] if role is None else [c for c in COMMANDS.values() if c.role <= role]

    # -- entry points ---------------------------------------------------------------------
    def execute(self, actor: Actor, command: str, args: Sequence[str] = ()) -> Outcome:
        command = command.lower().lstrip("/")
        text = " ".join(["/" + command, *args])[:200]
        self._forget_expired()
        if actor.role is None:
            log.warning("refused %s from unauthorized %s", text, actor.label)
            return self._audit(actor, text, False, Outcome(Status.DENIED, command,
                                                           "Not authorized."))
        spec = COMMANDS.get(command)
        if spec is None:
            return self._audit(actor, text, True, Outcome(
                Status.UNKNOWN, command, f"Unknown command /{command}. /help lists them."))
        need = self.required_role(command)
        if actor.role < need:
            why = (f"/{command} needs the {need.name.lower()} role"
                   + (f" while trading is {self.bot.control.state.value}"
                      if need > spec.role else "")
                   + f"; you are {actor.role.name.lower()}.")
            log.warning("refused %s from %s: %s", text, actor.label, why)
            return self._audit(actor, text, False, Outcome(Status.DENIED, command, why))
        try:
            parsed = self._parse(command, args)
        except _BadArgs as exc:
            usage = f"/{command} {spec.usage}".strip()
            return self._audit(actor, text, True, Outcome(Status.INVALID, command,
                                                          f"{exc}. Usage: {usage}"))
        if self.needs_confirmation(command):
            return self._audit(actor, text, True, self._ask(actor, command, parsed))
        return self._audit(actor, text, True, self._run(actor, command, parsed))

    def confirm(self, actor: Actor, token: str) -> Outcome:
        """Carry out a confirmed command: only its requester, only before it expires, and
        only if they still may (the trading state may have changed meanwhile)."""
        pending = self._pending.get(token)
        if pending is None or pending.actor_key != actor.key:
            why = ("Only the person who asked can confirm this." if pending is not None
                   else "This confirmation is unknown or was already used.")
            allowed = pending is None and actor.role is not None
            return self._audit(actor, "confirm", allowed,
                               Outcome(Status.DENIED if pending else Status.FAILED, "confirm",
                                       why))
        del self._pending[token]
        text = " ".join(["/" + pending.command, *pending.args]) + " (confirmed)"
        if self._monotonic() > pending.expires_at:
            return self._audit(actor, text, True, Outcome(
                Status.FAILED, pending.command,
                f"Confirmation expired; nothing was done. Send /{pending.command} again."))
        if actor.role is None or actor.role < self.required_role(pending.command):
            return self._audit(actor, text, False, Outcome(
                Status.DENIED, pending.command, "No longer allowed; nothing was done."))
        return self._audit(actor, text, True, self._run(actor, pending.command, pending.args))

    def cancel(self, actor: Actor, token: str) -> Outcome:
        pending = self._pending.get(token)
        if pending is None or pending.actor_key != actor.key:
            return self._audit(actor, "cancel", False,
                               Outcome(Status.FAILED, "cancel", "Nothing to cancel."))
        del self._pending[token]
        return self._audit(actor, f"/{pending.command} (cancelled)", True,
                           Outcome(Status.DONE, pending.command, "Cancelled; nothing was done."))

    def is_pending(self, token: str) -> bool:
        return token in self._pending

    def forget(self, token: str) -> None:
        """Drop a confirmation nobody answered (its buttons expired)."""
        self._pending.pop(token, None)

    # -- internals ------------------------------------------------------------------------
    def _forget_expired(self) -> None:
        now = self._monotonic()
        for token in [t for t, p in self._pending.items() if now > p.expires_at]:
            del self._pending[token]

    def _audit(self, actor: Actor, text: str, allowed: bool, outcome: Outcome) -> Outcome:
        result = outcome.status.value + (f": {outcome.message}" if outcome.message else "")
        try:
            self.bot.store.audit(self._wall(), actor.label[:64], actor.channel, text, allowed,
                                 result[:500])
        except StoreError:
            log.exception("could not write the audit row for %s by %s", text, actor.label)
        return outcome

    def _parse(self, command: str, args: Sequence[str]) -> tuple[str, ...]:
        if command == "strategy":
            names = [g.name for g in self.bot.engine.strategies]
            if len(args) != 2 or args[1].lower() not in ("on", "off"):
                raise _BadArgs("Say which strategy and on or off")
            if args[0] not in names:
                raise _BadArgs(f"No strategy {args[0]!r}; there are: {', '.join(names)}")
            return args[0], args[1].lower()
        if command == "flatten":
            if len(args) > 1:
                raise _BadArgs("At most one symbol")
            return tuple(_normalize_symbol(a) for a in args)
        if args:
            raise _BadArgs(f"/{command} takes no arguments")
        return ()

    def _ask(self, actor: Actor, command: str, args: tuple[str, ...]) -> Outcome:
        prompt = self._prompt(command, args)
        if prompt is None:  # nothing to do: say so without asking
            return self._run(actor, command, args)
        token = secrets.token_urlsafe(9)
        self._pending[token] = _Pending(actor.key, command, args,
                                        self._monotonic() + self.confirm_seconds)
        return Outcome(Status.CONFIRM, command, prompt, token=token,
                       expires_in=self.confirm_seconds)

    def _prompt(self, command: str, args: tuple[str, ...]) -> str | None:
        bot = self.bot
        target = args[0] if args else None
        held = [p for p in bot.portfolio.open_positions() if _covers(target, p.symbol)]
        entries = [o for o in bot.orders.open_orders() if o.request.intent is Intent.OPEN
                   and _covers(target, o.request.symbol)]
        what = ", ".join(f"{p.quantity:+d} {p.symbol}" for p in held) or "no positions"
        if command == "flatten":
            if not held and not entries:
                return None
            return (f"Flatten {what} at market and cancel {len(entries)} working "
                    "entr" + ("y" if len(entries) == 1 else "ies") + "?")
        if command == "kill":
            return (f"HALT trading: cancel {len(entries)} working entries, flatten {what}, "
                    "and refuse every entry until an admin resumes?")
        return (f"Trading is {bot.control.state.value} ({bot.control.reason}). Resume "
                "entries?")

    def _run(self, actor: Actor, command: str, args: tuple[str, ...]) -> Outcome:
        bot = self.bot
        try:
            if command == "help":
                return Outcome(Status.DONE, command, view=self.commands_for(actor.role))
            if command in _READS:
                return Outcome(Status.DONE, command, view=_READS[command](self))
            action = _ACTIONS[command]
            return Outcome(Status.DONE, command, action(self, actor, args))
        except Exception as exc:
            log.exception("/%s by %s failed", command, actor.label)
            state = bot.control.state.value
            return Outcome(Status.FAILED, command,
                           f"/{command} failed ({type(exc).__name__}); trading is {state}. "
                           "See the logs.")

    # -- actions (each returns the one-line result) ----------------------------------------
    def _pause(self, actor: Actor, _args: tuple[str, ...]) -> str:
        control = self.bot.control
        if control.paused:
            return "Entries were already paused."
        control.set_paused(True, self.bot.clock.now(), actor.label)
        return "Entries paused. Open positions, exits and brackets go on."

    def _resume(self, actor: Actor, _args: tuple[str, ...]) -> str:
        control, now = self.bot.control, self.bot.clock.now()
        if control.state is not TradingState.ACTIVE:
            old = control.state.value
            control.set_state(TradingState.ACTIVE, f"resumed by {actor.label}", now)
            if control.paused:
                control.set_paused(False, now, actor.label)
            return f"Trading resumed from {old}: entries allowed."
        if not control.paused:
            return "Entries were not paused."
        control.set_paused(False, now, actor.label)
        return "Entries resumed."

    def _flatten(self, actor: Actor, args: tuple[str, ...]) -> str:
        bot, target = self.bot, args[0] if args else None
        reason = f"flatten by {actor.label}"
        if target is None:
            orders = bot.engine.flatten(reason)
        else:  # one contract, or every contract of an underlying
            symbols = {p.symbol for p in bot.portfolio.open_positions()} | {
                o.request.symbol for o in bot.orders.open_orders()
                if o.request.intent is Intent.OPEN}
            orders = [o for sym in sorted(symbols) if _covers(target, sym)
                      for o in bot.engine.flatten(reason, sym)]
        if not orders:
            return f"Nothing to flatten{' in ' + target if target else ''}."
        parts = [f"{o.request.side} {o.request.quantity} {o.request.symbol}: {o.status.value}"
                 for o in orders]
        return "Flatten sent: " + "; ".join(parts) + "."

    def _kill(self, actor: Actor, _args: tuple[str, ...]) -> str:
        bot = self.bot
        bot.control.set_state(TradingState.HALTED, f"kill by {actor.label}", bot.clock.now())
        orders = bot.engine.flatten(f"kill by {actor.label}")
        return (f"HALTED. {len(orders)} closing order(s) sent; entries are refused until an "
                "admin sends /resume.")

    def _strategy(self, actor: Actor, args: tuple[str, ...]) -> str:
        name, on = args[0], args[1] == "on"
        guarded = next(g for g in self.bot.engine.strategies if g.name == name)
        guarded.enabled = on
        if on:
            guarded.errors, guarded.disabled_reason = 0, ""
        self.bot.store.set_state(STRATEGY_KEY + name, on, self.bot.clock.now())
        return f"Strategy {name} {'on' if on else 'off'} (kept across restarts)."


_READS: dict[str, Callable[[ControlAPI], Any]] = {
    "status": lambda api: status_view(api.bot, api._health()),
    "positions": lambda api: positions_view(api.bot),
    "orders": lambda api: orders_view(api.bot),
    "pnl": lambda api: pnl_view(api.bot),
    "signals": lambda api: signals_view(api.bot),
    "risk": lambda api: risk_view(api.bot),
    "strategies": lambda api: strategies_view(api.bot),
    "report": lambda api: report_view(api.bot),
    "version": lambda api: version_view(api._components),
    "audit": lambda api: audit_view(api.bot),
}
_ACTIONS: dict[str, Callable[[ControlAPI, Actor, tuple[str, ...]], str]] = {
    "pause": ControlAPI._pause, "resume": ControlAPI._resume, "flatten": ControlAPI._flatten,
    "kill": ControlAPI._kill, "strategy": ControlAPI._strategy,
}


def _normalize_symbol(text: str) -> str:
    """`goog151224c00750000`, `O:GOOG151224C00750000` or the padded OSI form → compact OCC."""
    try:
        return OptionSymbol.parse(text).occ
    except ValueError:
        return text.upper()


def _covers(target: str | None, symbol: str) -> bool:
    """Whether `/flatten TARGET` applies to `symbol`: no target, the contract itself, or
    its underlying (`/flatten GOOG` closes every GOOG option)."""
    if target is None or symbol == target:
        return True
    try:
        return OptionSymbol.parse(symbol).underlying == target
    except ValueError:
        return False


def restore_strategy_switches(bot: Bot) -> list[str]:
    """Apply strategy on/off switches made from a channel before a restart; they win over
    the config file, as a trader who switched a strategy off expects it to stay off."""
    saved = bot.store.all_state()
    changed = []
    for guarded in bot.engine.strategies:
        value = saved.get(STRATEGY_KEY + guarded.name)
        if isinstance(value, bool) and value != guarded.enabled:
            guarded.enabled = value
            changed.append(f"{guarded.name} {'on' if value else 'off'}")
    if changed:
        log.info("strategy switches restored from the store: %s", ", ".join(changed))
    return changed
