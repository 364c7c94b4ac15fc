"""Option symbology: OCC symbols in the compact, padded (OSI) and Massive (`O:`) forms.

`AAPL240119C00190000` (compact), `AAPL  240119C00190000` (padded to 6 root characters) and
`O:AAPL240119C00190000` (Massive) all name the same contract. Strikes are encoded in
thousandths of a dollar on 8 digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

CONTRACT_MULTIPLIER = 100

_OCC = re.compile(
    r"^(?:O:)?(?P<root>[A-Z0-9.]{1,6}) *(?P<ymd>\d{6})(?P<right>[CP])(?P<strike>\d{8})$"
)


class OptionRight(StrEnum):
    CALL = "C"
    PUT = "P"


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
        expiration = date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:6]))
        return cls(m["root"], expiration, OptionRight(m["right"]), int(m["strike"]) / 1000.0)

    @property
    def occ(self) -> str:
        """Compact form, e.g. `AAPL240119C00190000`."""
        strike = round(self.strike * 1000)
        return f"{self.root}{self.expiration:%y%m%d}{self.right.value}{strike:08d}"

    @property
    def osi(self) -> str:
        """Padded 21-character OSI form, e.g. `AAPL  240119C00190000`."""
        return f"{self.root:<6}{self.occ[len(self.root):]}"

    @property
    def massive(self) -> str:
        """Massive (formerly Polygon) ticker, e.g. `O:AAPL240119C00190000`."""
        return f"O:{self.occ}"


def is_option_symbol(text: str) -> bool:
    return bool(_OCC.match(text))
