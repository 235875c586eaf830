"""Counter-based random numbers and the filters that shape them into sensor noise.

A value depends only on (key, index), never on how time was cut into calls, so the simulator
gives the same points whether it advances an hour at a time or a second at a time.
"""

from __future__ import annotations

import hashlib
from typing import cast

import numpy as np
from numpy.typing import NDArray
from scipy.signal import lfilter

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
U64 = NDArray[np.uint64]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # splitmix64's increment
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_LOW16 = np.uint64(0xFFFF)
_SQRT3 = float(np.sqrt(3.0))


def stable_key(*parts: object) -> int:
    """A 64-bit key from the parts' text, the same in every process (unlike the salted hash()).

    >>> stable_key(7, "huamei-ceramics", "kiln-1") == stable_key(7, "huamei-ceramics", "kiln-1")
    True
    >>> stable_key(7, "a") != stable_key(8, "a")
    True
    """
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def keys_of(values: list[int]) -> U64:
    """Keys as an unsigned column, ready for `mix`."""
    return np.array(values, dtype=np.uint64)


def mix(keys: U64, index: I64) -> U64:
    """The splitmix64 output for every (key, index): rows are keys, columns are indices."""
    z = keys[:, None] + index.astype(np.uint64)[None, :] * _GOLDEN
    z ^= z >> np.uint64(30)
    z *= _MIX1
    z ^= z >> np.uint64(27)
    z *= _MIX2
    z ^= z >> np.uint64(31)
    return z


def uniform(keys: U64, index: I64) -> F64:
    """Uniform numbers in [0, 1), one per (key, index).

    >>> u = uniform(keys_of([1, 2]), np.arange(1000))
    >>> u.shape, bool(0.45 < u.mean() < 0.55)
    ((2, 1000), True)
    """
    return (mix(keys, index) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def normal(keys: U64, index: I64) -> F64:
    """Standard-normal-like numbers, one per (key, index).

    The sum of four 16-bit uniforms (Irwin-Hall) is close enough to Gaussian for sensor noise
    and costs one hash per value; the AR(1) filter downstream makes it closer still.

    >>> z = normal(keys_of([3]), np.arange(100_000))
    >>> bool(abs(z.mean()) < 0.02), bool(abs(z.std() - 1) < 0.02)
    (True, True)
    """
    z = mix(keys, index)
    total = z & _LOW16
    total += (z >> np.uint64(16)) & _LOW16
    total += (z >> np.uint64(32)) & _LOW16
    total += z >> np.uint64(48)
    return (total.astype(np.float64) * (1.0 / 65536.0) + (2.0 / 65536.0) - 2.0) * _SQRT3


def ar1(innovations: F64, phi: float, prev: F64) -> tuple[F64, F64]:
    """Unit-variance AR(1) along each row, continuing from prev: x = phi x' + sqrt(1-phi²) e.

    Returns the series and its last column, to pass as prev next time; cutting a row in two
    and carrying prev gives exactly the values of one call.

    >>> x, last = ar1(np.ones((1, 3)), 0.5, np.zeros(1))
    >>> x.round(3), last.round(3)
    (array([[0.866, 1.299, 1.516]]), array([1.516]))
    """
    gain = float(np.sqrt(1.0 - phi * phi))
    return _first_order(innovations, gain, phi, prev)


def lag(target: F64, alpha: float, prev: F64) -> tuple[F64, F64]:
    """First-order lag along each row: y = alpha y' + (1 - alpha) x, continuing from prev.

    >>> y, last = lag(np.full((1, 2), 10.0), 0.5, np.zeros(1))
    >>> y, last
    (array([[5. , 7.5]]), array([7.5]))
    """
    return _first_order(target, 1.0 - alpha, alpha, prev)


def _first_order(x: F64, gain: float, pole: float, prev: F64) -> tuple[F64, F64]:
    y, _ = lfilter([gain], [1.0, -pole], x, axis=1, zi=(pole * prev)[:, None])
    out = cast(F64, y)
    return out, out[:, -1].copy()
