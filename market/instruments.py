"""Option symbology: OCC symbols and the contract fields of each vendor.

`AAPL240119C00190000` (compact), `AAPL  240119C00190000` (padded 21-character OSI) and
`O:AAPL240119C00190000` (Massive) all name the same contract; Alpaca and IBKR describe it with
separate fields instead. Strikes are encoded in thousandths of a dollar on 8 digits, so split-
adjusted strikes such as 92.857 survive a round trip exactly (`00092857`).

`parse_occ_array` parses a whole column of symbols with numpy (a 10,000-contract chain in well
under a millisecond) for the chain builders, where a Python loop per symbol would dominate.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

CONTRACT_MULTIPLIER = 100

_OCC = re.compile(
    r"^(?:O:)?(?P<root>[A-Z0-9.]{1,6}) *(?P<ymd>\d{6})(?P<right>[CP])(?P<strike>\d{8})$"
)

#: Roots whose underlying has another name (index weeklies / PM-settled series).
ROOT_UNDERLYING = {"SPXW": "SPX", "SPXPM": "SPX", "NDXP": "NDX", "RUTW": "RUT", "VIXW": "VIX",
                   "XSPW": "XSP", "DJXW": "DJX"}

_ROOT = re.compile(r"[A-Z0-9.]{1,6}")
_ADJUSTED_ROOT = re.compile(r"^(?P<base>[A-Z.]+)\d$")  # AAPL7: a split-adjusted series


class OptionRight(StrEnum):
    CALL = "C"
    PUT = "P"

    @classmethod
    def parse(cls, text: str) -> OptionRight:
        """Accept `C`/`P`, `call`/`put` (Alpaca, Massive) and `CALL`/`PUT` (IBKR)."""
        key = text.strip().upper()[:1] if text else ""
        if key not in ("C", "P") or text.strip().upper() not in ("C", "P", "CALL", "PUT"):
            raise ValueError(f"not an option right: {text!r} (expected C, P, call or put)")
        return cls(key)

    @property
    def word(self) -> str:
        """`call` or `put`, as Alpaca and Massive spell it."""
        return "call" if self is OptionRight.CALL else "put"


def underlying_of_root(root: str) -> str:
    """The underlying a root trades on: SPXW → SPX, AAPL7 (split-adjusted) → AAPL."""
    if root in ROOT_UNDERLYING:
        return ROOT_UNDERLYING[root]
    adjusted = _ADJUSTED_ROOT.match(root)
    return adjusted["base"] if adjusted else root


def format_strike(thousandths: int) -> str:
    """Dollars without trailing zeros: 190000 → `190`, 92857 → `92.857`, 2500 → `2.5`."""
    whole, frac = divmod(thousandths, 1000)
    return str(whole) if frac == 0 else f"{whole}.{frac:03d}".rstrip("0")


@dataclass(frozen=True, slots=True)
class OptionSymbol:
    """The identity of a listed option contract."""

    root: str
    expiration: date
    right: OptionRight
    strike: float

    @classmethod
    def parse(cls, text: str) -> OptionSymbol:
        """Parse any of the compact, padded or `O:`-prefixed OCC forms."""
        m = _OCC.match(text.strip().upper()) if text else None
        if m is None:
            raise ValueError(f"not an OCC option symbol: {text!r}")
        ymd = m["ymd"]
        try:
            expiration = date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:6]))
        except ValueError as exc:
            raise ValueError(f"not an OCC option symbol: {text!r} (bad date {ymd})") from exc
        strike = int(m["strike"])
        if strike == 0:
            raise ValueError(f"not an OCC option symbol: {text!r} (strike is zero)")
        return cls(m["root"], expiration, OptionRight(m["right"]), strike / 1000.0)

    @property
    def strike_thousandths(self) -> int:
        return round(self.strike * 1000)

    @property
    def underlying(self) -> str:
        return underlying_of_root(self.root)

    @property
    def occ(self) -> str:
        """Compact form, e.g. `AAPL240119C00190000`."""
        return f"{self.root}{self.expiration:%y%m%d}{self.right.value}{self.strike_thousandths:08d}"

    @property
    def osi(self) -> str:
        """Padded 21-character OSI form, e.g. `AAPL  240119C00190000`."""
        return f"{self.root:<6}{self.occ[len(self.root):]}"

    @property
    def massive(self) -> str:
        """Massive (formerly Polygon) ticker, e.g. `O:AAPL240119C00190000`."""
        return f"O:{self.occ}"

    # -- Alpaca: `GET /v2/options/contracts` items and alpaca-py's OptionContract --------------

    def to_alpaca(self) -> dict[str, str]:
        """The identifying fields of an Alpaca option contract (strings, as Alpaca sends them)."""
        return {
            "symbol": self.occ,
            "root_symbol": self.root,
            "underlying_symbol": self.underlying,
            "expiration_date": self.expiration.isoformat(),
            "type": self.right.word,
            "strike_price": format_strike(self.strike_thousandths),
            "size": str(CONTRACT_MULTIPLIER),
        }

    @classmethod
    def from_alpaca(cls, contract: Mapping[str, Any] | object) -> OptionSymbol:
        """From an Alpaca contract (JSON dict or alpaca-py model); the fields must agree with
        its `symbol`, so a vendor mix-up fails loudly instead of trading the wrong strike."""
        symbol = cls.parse(str(_field(contract, "symbol")))
        fields = cls(
            str(_field(contract, "root_symbol") or symbol.root),
            _as_date(_field(contract, "expiration_date")),
            OptionRight.parse(str(getattr(_field(contract, "type"), "value",
                                          _field(contract, "type")))),
            round(float(_field(contract, "strike_price")) * 1000) / 1000.0,
        )
        return _agree(symbol, fields, "Alpaca")

    # -- IBKR: ib_async `Contract(secType="OPT", ...)` ------------------------------------------

    def to_ibkr(self, exchange: str = "SMART", currency: str = "USD") -> dict[str, Any]:
        """Keyword arguments for `ib_async.Contract`/`Option` naming exactly this contract."""
        return {
            "secType": "OPT",
            "symbol": self.underlying,
            "lastTradeDateOrContractMonth": f"{self.expiration:%Y%m%d}",
            "strike": self.strike,
            "right": self.right.value,
            "multiplier": str(CONTRACT_MULTIPLIER),
            "exchange": exchange,
            "currency": currency,
            "tradingClass": self.root,
            "localSymbol": self.osi,
        }

    @classmethod
    def from_ibkr(cls, contract: Mapping[str, Any] | object) -> OptionSymbol:
        """From an IBKR option contract. `localSymbol` (the OSI form) wins when present and is
        checked against the separate fields; otherwise the fields are used on their own."""
        expiry = str(_field(contract, "lastTradeDateOrContractMonth"))
        if len(expiry) != 8 or not expiry.isdigit():
            raise ValueError(f"IBKR contract needs a YYYYMMDD expiry, got {expiry!r}")
        root = str(_field(contract, "tradingClass") or _field(contract, "symbol"))
        fields = cls(root, _as_date(f"{expiry[:4]}-{expiry[4:6]}-{expiry[6:]}"),
                     OptionRight.parse(str(_field(contract, "right"))),
                     round(float(_field(contract, "strike")) * 1000) / 1000.0)
        local = _field(contract, "localSymbol")
        return _agree(cls.parse(str(local)), fields, "IBKR") if local else fields


def is_option_symbol(text: str) -> bool:
    return bool(_OCC.match(text))


def _field(obj: Mapping[str, Any] | object, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _agree(symbol: OptionSymbol, fields: OptionSymbol, vendor: str) -> OptionSymbol:
    if symbol != fields:
        raise ValueError(f"{vendor} contract fields {fields.occ} disagree with its symbol "
                         f"{symbol.occ}")
    return symbol


# -- vectorized parsing -------------------------------------------------------------------------

_TAIL = 15  # YYMMDD + C/P + 8 strike digits
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_ROOT_WIDTH = 8  # "O:" + 6 root characters, or a 6-character padded OSI root
_DIGITS = (0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14)  # tail positions of digits
_ROOT_CHARS = np.zeros(256, dtype=np.bool_)
_ROOT_CHARS[[0, *b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789."]] = True


@dataclass(frozen=True, slots=True)
class OccColumns:
    """A column of OCC symbols split into parts; rows where `ok` is False did not parse (their
    other values are meaningless: NaN strike, NaT expiration, root code -1). Roots come as
    codes into `root_names` because a chain has one or two roots and numpy string arrays are
    slow to build."""

    def roots(self) -> list[str]:
        """Each row's root as text ('' where the row did not parse)."""
        names = [*self.root_names, ""]
        return [names[c] for c in self.root_code.tolist()]

    root_code: npt.NDArray[np.int32]  # index into root_names; -1 where the row did not parse
    root_names: tuple[str, ...]
    expiration: npt.NDArray[np.datetime64]
    is_call: npt.NDArray[np.bool_]
    strike: npt.NDArray[np.float64]
    ok: npt.NDArray[np.bool_]


def parse_occ_array(symbols: Sequence[str] | npt.NDArray[Any]) -> OccColumns:
    """Parse many OCC symbols (compact, padded or `O:`) at once, without a Python loop per row.

    The symbols are joined into one byte buffer (numpy's own string conversions cost ~0.1 µs per
    element per step, more than this whole function), then fixed-offset slices are read back.
    """
    items = symbols.tolist() if isinstance(symbols, np.ndarray) else list(symbols)
    n = len(items)
    buf = np.frombuffer(("\n".join(items) + "\n").encode("ascii", "replace"), dtype=np.uint8)
    if n and buf.max() >= ord("a"):
        buf = np.where((buf >= ord("a")) & (buf <= ord("z")), buf - 32, buf).astype(np.uint8)
    ends = np.flatnonzero(buf == ord("\n"))[:n]
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64) if n else ends
    ends = _strip_trailing_spaces(buf, starts, ends)
    ok = ends - starts >= _TAIL + 1
    tail_at = np.where(ok, ends - _TAIL, 0)
    row = int(ends[0] - starts[0]) + 1 if n else 0
    uniform = n and int(ends[-1]) == n * row - 1 and bool(np.all(ends - starts == row - 1))
    # Column-major from here on: one contiguous vector per character position, because numpy
    # reductions across a short row axis are many times slower than plain vector operations.
    if uniform:
        grid = buf.reshape(n, row)
        tail = [grid[:, row - 1 - _TAIL + j] for j in range(_TAIL)]  # one layout: slicing
    else:
        tail = [buf[tail_at + j] for j in range(_TAIL)]
    digits = [tail[j] - np.uint8(ord("0")) for j in _DIGITS]  # wraps below "0": one bound
    for d in digits:
        ok &= d <= 9
    right = tail[6]
    ok &= (right == ord("C")) | (right == ord("P"))
    ymd = [d.astype(np.int32) for d in digits[:6]]
    month = ymd[2] * 10 + ymd[3]
    day = ymd[4] * 10 + ymd[5]
    strike_k = np.zeros(n, dtype=np.int64)
    for d in digits[6:]:
        strike_k = strike_k * 10 + d
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31) & (strike_k > 0)
    year = 2000 + ymd[0] * 10 + ymd[1]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    ok &= day <= _MONTH_DAYS[np.clip(month, 1, 12)] + (leap & (month == 2))  # no 2024-02-30
    expiration = np.where(ok, _days_from_civil(year, month, day), 0).view("datetime64[D]")
    head = grid[:, :row - 1 - _TAIL] if uniform else None
    if head is not None and bool(np.all(head == head[0])):  # the usual chain: one root
        name = bytes(head[0]).decode("ascii", "replace").removeprefix("O:").rstrip(" ")
        single = bool(_ROOT.fullmatch(name))
        codes: npt.NDArray[np.intp] = np.zeros(n, dtype=np.intp)
        names: tuple[str, ...] = (name,)
        root_ok: npt.NDArray[np.bool_] = np.full(n, single)
    else:
        codes, names, root_ok = _roots(buf, starts, np.where(ok, tail_at, starts))
    ok &= root_ok
    return OccColumns(
        np.where(ok, codes, -1).astype(np.int32), names,
        np.where(ok, expiration, np.datetime64("NaT")),
        ok & (right == ord("C")), np.where(ok, strike_k / 1000.0, np.nan), ok)


def _days_from_civil(year: npt.NDArray[np.int32], month: npt.NDArray[np.int32],
                     day: npt.NDArray[np.int32]) -> npt.NDArray[np.int64]:
    """Days since 1970-01-01 in integer arithmetic (H. Hinnant's algorithm): numpy's own
    datetime64 unit conversions work element by element and cost more than all the parsing."""
    y = year.astype(np.int64) - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _strip_trailing_spaces(buf: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64],
                           ends: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    ends = ends.copy()
    while True:
        spaced = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == ord(" "))
        if not spaced.any():
            return ends
        ends[spaced] -= 1


def _roots(buf: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], stops: npt.NDArray[np.int64],
           ) -> tuple[npt.NDArray[np.intp], tuple[str, ...], npt.NDArray[np.bool_]]:
    """Each row's root as a code into a tuple of names: an 8-byte window read as one uint64, so
    the few distinct roots are found with an integer factorization and decoded once each."""
    prefixed = (stops - starts >= 2) & (buf[starts] == ord("O")) & (buf[starts + 1] == ord(":"))
    first = starts + np.where(prefixed, 2, 0)
    width = stops - first
    last = len(buf) - 1
    keys = np.zeros(len(starts), dtype=np.uint64)
    chars_ok = np.ones(len(starts), dtype=np.bool_)
    for j in range(_ROOT_WIDTH):  # column-major, as in parse_occ_array
        char = np.where(j < width, buf[np.minimum(first + j, last)], 0).astype(np.uint8)
        char[char == ord(" ")] = 0
        chars_ok &= _ROOT_CHARS[char]
        keys |= char.astype(np.uint64) << np.uint64(8 * j)
    inverse: npt.NDArray[np.intp]
    if len(keys) and bool(np.all(keys == keys[0])):  # the usual chain: a single root
        uniques, inverse = keys[:1], np.zeros(len(keys), dtype=np.intp)
    else:
        uniques, inverse = np.unique(keys, return_inverse=True)
    raw = [int(k).to_bytes(8, "little") for k in uniques]
    names = tuple(r.rstrip(b"\0").decode("ascii") for r in raw)
    # padding may only follow the root ("AB C" is not a root), and a root has 1 to 6 characters
    packed = np.array([b"\0" not in r.rstrip(b"\0") and 1 <= len(r.rstrip(b"\0")) <= 6
                       for r in raw], dtype=np.bool_)
    ok = (width >= 1) & (width <= _ROOT_WIDTH) & chars_ok & packed[inverse]
    return inverse, names, ok
