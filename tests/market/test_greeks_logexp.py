"""The kernel's inlined log and exp against numpy (glibc), over their whole range."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from market.greeks.logexp import fast_exp, fast_log
from market.greeks.normal import JIT

# Compiled with the kernel's flags (fused multiply-add allowed), as they are inlined there.
KERNEL_FLAGS = {**JIT, "cache": False}


@njit(**KERNEL_FLAGS)
def _apply_log(a: np.ndarray, out: np.ndarray) -> None:
    for i in range(a.size):
        out[i] = fast_log(a[i])


@njit(**KERNEL_FLAGS)
def _apply_exp(a: np.ndarray, out: np.ndarray) -> None:
    for i in range(a.size):
        out[i] = fast_exp(a[i])


def test_log_is_within_one_ulp_and_exact_in_relative_terms_near_one() -> None:
    rng = np.random.default_rng(21)
    a = np.concatenate(
        [
            rng.uniform(1e-3, 4.0, 200_000),
            np.exp(rng.uniform(-708.0, 709.0, 200_000)),
            1.0 + rng.uniform(-1e-2, 1e-2, 200_000),
            1.0 + rng.uniform(-1e-12, 1e-12, 20_000),
            [1.0, 2.0, 0.5, 0.6875, 1.375, np.nextafter(1.0, 0.0), np.nextafter(1.0, 2.0)],
        ]
    )
    ours = np.empty_like(a)
    _apply_log(a, ours)
    ref = np.log(a)
    error = np.abs(ours - ref)
    assert (error <= np.spacing(np.maximum(1.0, np.abs(ref)))).all()
    nonzero = ref != 0.0
    assert (error[nonzero] / np.abs(ref[nonzero])).max() < 2.5e-16
    assert (ours[a == 1.0] == 0.0).all()


def test_log_special_values_are_glibcs() -> None:
    a = np.array([0.0, -0.0, -1.0, math.inf, -math.inf, math.nan, 5e-324, 1e-310, 2.2e-308])
    ours = np.empty_like(a)
    _apply_log(a, ours)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.testing.assert_array_equal(ours, np.log(a))


def test_exp_is_within_one_ulp_and_special_values_are_glibcs() -> None:
    rng = np.random.default_rng(22)
    x = np.concatenate(
        [
            rng.uniform(-700.0, 700.0, 300_000),
            rng.uniform(-1.0, 1.0, 200_000),
            rng.uniform(-1e-10, 1e-10, 20_000),
            [0.0, -0.0, 700.0, -700.0, math.log(2.0), 1.0],
        ]
    )
    ours = np.empty_like(x)
    _apply_exp(x, ours)
    ref = np.exp(x)
    assert (np.abs(ours - ref) <= np.spacing(ref)).all()
    special = np.array([701.0, 709.7, 710.0, -701.0, -745.0, -746.0, math.inf, -math.inf, math.nan])
    ours = np.empty_like(special)
    _apply_exp(special, ours)
    with np.errstate(over="ignore", under="ignore"):
        np.testing.assert_array_equal(ours, np.exp(special))
