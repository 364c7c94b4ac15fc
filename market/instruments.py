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
_ROOT_WIDTH = 8  # "O:" + 6 root characters, or a 6-character padded OSI root
_DIGITS = np.array([0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14])  # tail positions of digits
_STRIKE_WEIGHTS = 10 ** np.arange(7, -1, -1, dtype=np.int64)
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
    if n and int(ends[-1]) == n * row - 1 and bool(np.all(ends - starts == row - 1)):
        tail = buf.reshape(n, row)[:, row - 1 - _TAIL:row - 1]  # one layout: plain slicing
    else:
        tail = buf[tail_at[:, None] + np.arange(_TAIL)]
    digits = tail[:, _DIGITS] - np.uint8(ord("0"))  # wraps below "0", so one bound suffices
    right = tail[:, 6]
    ok &= np.all(digits <= 9, axis=1)
    ok &= (right == ord("C")) | (right == ord("P"))
    ymd = digits[:, :6].astype(np.int32)
    month = ymd[:, 2] * 10 + ymd[:, 3]
    day = ymd[:, 4] * 10 + ymd[:, 5]
    strike_k = digits[:, 6:].astype(np.int64) @ _STRIKE_WEIGHTS
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31) & (strike_k > 0)
    months = np.where(ok, (ymd[:, 0] * 10 + ymd[:, 1] + 30) * 12 + month - 1, 0)
    months = months.astype("datetime64[M]")
    expiration = months.astype("datetime64[D]") + np.where(ok, day - 1, 0)
    ok &= expiration.astype("datetime64[M]") == months  # 2024-02-30 rolls into March: refuse
    codes, names, root_ok = _roots(buf, starts, np.where(ok, tail_at, starts))
    ok &= root_ok
    return OccColumns(
        np.where(ok, codes, -1).astype(np.int32), names,
        np.where(ok, expiration, np.datetime64("NaT")),
        ok & (right == ord("C")), np.where(ok, strike_k / 1000.0, np.nan), ok)


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
    positions = np.minimum(first[:, None] + np.arange(_ROOT_WIDTH), len(buf) - 1)
    window = buf[positions]
    window[np.arange(_ROOT_WIDTH) >= width[:, None]] = 0
    window[window == ord(" ")] = 0
    chars_ok = _ROOT_CHARS[window].all(axis=1)
    keys = np.ascontiguousarray(window).view(np.uint64).ravel()
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
