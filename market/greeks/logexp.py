"""Inlined natural log and exp for the compiled IV kernel (numba), from a table and a polynomial.

The kernel takes about three logs and two exps per quote. numba calls glibc's for `math.log` and
`math.exp`: accurate, but an out-of-line call each (with its errno wrapper), which profiling put
at ~25% of the kernel's time. These are written inline instead, in the classic table form:

- ``log(x) = k ln 2 + ln(c) + log1p(r)``: with ``x = 2^k z`` and ``z`` in ``[0.6875, 1.375)``,
  ``c`` the centre of the 1/128-th of that interval holding ``z`` and ``r = z / c - 1``
  (``|r| < 0.004``, a degree-8 Taylor polynomial). ``c = 1`` on both sides of 1 (``|r| < 0.008``
  there), so ``log`` keeps full relative accuracy near 1. Error: at most 1 ulp of
  ``max(1, |log x|)``, 2.5e-16 relative (tested against numpy).
- ``exp(x) = 2^(k/128) e^r`` with ``|r| <= ln 2 / 256`` (a degree-5 polynomial) and ``2^(j/128)``
  from a table, scaled by writing the exponent bits. Error: about 2 ulp (tested).

Arguments outside the fast range (non-positive, subnormal, infinite or NaN for `log`;
``|x| > 700`` or NaN for `exp`) go to `math.log` / `math.exp`, so the special cases are glibc's.
"""

from __future__ import annotations

import math
from decimal import Decimal, getcontext

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic
from numpy.typing import NDArray

from market.greeks.normal import INLINE


@intrinsic
def _bits(typingctx: object, x: types.Float) -> tuple[types.Signature, object]:
    """The IEEE-754 bit pattern of a float64, as an int64 (a register move)."""
    sig = types.int64(types.float64)

    def codegen(context: object, builder: ir.IRBuilder, signature: object, args: list) -> object:
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


@intrinsic
def _from_bits(typingctx: object, b: types.Integer) -> tuple[types.Signature, object]:
    """The float64 with this bit pattern."""
    sig = types.float64(types.int64)

    def codegen(context: object, builder: ir.IRBuilder, signature: object, args: list) -> object:
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


def _to_bits(x: float) -> int:
    return int(np.array(x, dtype=np.float64).view(np.int64))


def _float(b: int) -> float:
    return float(np.array(b, dtype=np.int64).view(np.float64))


_LN2_HI = float.fromhex("0x1.62e42fefa3800p-1")  # 11 trailing zero bits: k * _LN2_HI is exact
_LN2_LO = float.fromhex("0x1.ef35793c76730p-45")

# log: z = x / 2^k in [0.6875, 1.375), split by the top 7 mantissa bits of (bits(x) - bits(0.6875)).
_LOG_OFF = _to_bits(0.6875)
_LOG_BITS = 7
_LOG_SHIFT = 52 - _LOG_BITS
_LOG_MASK = (1 << _LOG_BITS) - 1
_EXP_FIELD = -(1 << 52)  # the sign and exponent bits
_MIN_NORMAL = 0x0010000000000000
_INF = 0x7FF0000000000000


def _log_table() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """1/c and -ln(1/c) per subinterval; ln from 40-digit decimals, so the table's own error is
    the final rounding only."""
    getcontext().prec = 40
    inv_c = np.empty(1 << _LOG_BITS)
    log_c = np.empty(1 << _LOG_BITS)
    for i in range(1 << _LOG_BITS):
        lo = _float(_LOG_OFF + (i << _LOG_SHIFT))
        hi = _float(_LOG_OFF + ((i + 1) << _LOG_SHIFT))
        c = 1.0 if lo <= 1.0 <= hi else 0.5 * (lo + hi)  # both neighbours of 1
        inv_c[i] = 1.0 / c
        log_c[i] = float(-Decimal(inv_c[i]).ln())
    return inv_c, log_c


_LOG_INV_C, _LOG_C = _log_table()


@njit(**INLINE)
def fast_log(x: float) -> float:
    """ln x (see the module docstring for the error)."""
    b = _bits(x)
    if not _MIN_NORMAL <= b < _INF:
        return math.log(x)
    tmp = b - _LOG_OFF
    i = (tmp >> _LOG_SHIFT) & _LOG_MASK
    k = float(tmp >> 52)
    z = _from_bits(b - (tmp & _EXP_FIELD))
    r = z * _LOG_INV_C[i] - 1.0
    r2 = r * r
    # log1p(r) - r = -r^2/2 + r^3/3 - ... - r^8/8 (the next term is below 2e-20)
    tail = r2 * (
        (-0.5 + r * (1.0 / 3.0))
        + r2 * ((-0.25 + r * 0.2) + r2 * ((-1.0 / 6.0 + r * (1.0 / 7.0)) - r2 * 0.125))
    )
    return (k * _LN2_HI + _LOG_C[i]) + (r + (k * _LN2_LO + tail))


# exp: x = (k / 128) ln 2 + r, k = round(x 128 / ln 2), by the 1.5 * 2^52 rounding shift.
_EXP_BITS = 7
_EXP_N = 1 << _EXP_BITS
_EXP_SHIFT = 1.5 * 2.0**52
_EXP_SHIFT_BITS = _to_bits(_EXP_SHIFT)
_EXP_INV_STEP = _EXP_N / math.log(2.0)
_EXP_STEP_HI = _LN2_HI / _EXP_N
_EXP_STEP_LO = _LN2_LO / _EXP_N
_EXP_TABLE = np.array([2.0 ** (j / _EXP_N) for j in range(_EXP_N)])
_EXP_TABLE_BITS = _EXP_TABLE.view(np.int64).copy()


@njit(**INLINE)
def fast_exp(x: float) -> float:
    """e^x (see the module docstring for the error)."""
    if not abs(x) <= 700.0:
        return math.exp(x)
    shifted = x * _EXP_INV_STEP + _EXP_SHIFT
    k = _bits(shifted) - _EXP_SHIFT_BITS
    kd = shifted - _EXP_SHIFT
    r = (x - kd * _EXP_STEP_HI) - kd * _EXP_STEP_LO
    scale = _from_bits(_EXP_TABLE_BITS[k & (_EXP_N - 1)] + ((k >> _EXP_BITS) << 52))
    r2 = r * r
    # e^r - 1 = r + r^2/2 + ... + r^5/120 (|r| <= 0.0028: the next term is below 1e-18)
    em1 = r + r2 * ((0.5 + r * (1.0 / 6.0)) + r2 * (1.0 / 24.0 + r * (1.0 / 120.0)))
    return scale + scale * em1
