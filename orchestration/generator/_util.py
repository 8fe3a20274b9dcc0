"""Small vectorised helpers shared by the generator modules: random streams, the normal CDF and
string building on Arrow arrays (every CSV cell is built column-wise, never row by row)."""
from __future__ import annotations

import zlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def stream(seed: int, *labels: object) -> np.random.Generator:
    """An independent random stream for one purpose: the same (seed, labels) always gives the same
    draws, whatever else was drawn before, so adding a feature never shifts another one's numbers."""
    seed = int(seed)
    words = [seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF]
    words += [zlib.crc32(str(label).encode("utf-8")) for label in labels]
    return np.random.default_rng(words)


def norm_cdf(z: np.ndarray) -> np.ndarray:
    """Standard normal CDF (Abramowitz–Stegun 7.1.26, |error| < 1.5e-7: ample for integer percentiles)."""
    z = np.asarray(z, dtype=np.float64)
    x = np.abs(z) / np.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-x * x)
    return 0.5 * (1.0 + np.where(z >= 0, erf, -erf))


def percentile_of(z: np.ndarray) -> np.ndarray:
    """National-norm style percentile of a standardised value: clip(round(100 Φ(z)), 1, 99)."""
    return np.clip(np.rint(100.0 * norm_cdf(z)), 1, 99).astype(np.int16)


def text(values: np.ndarray | list) -> pa.Array:
    """Integers (or strings) as an Arrow string array."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iub":
        return pa.array(values.astype(np.int64)).cast(pa.string())
    return pa.array(values, pa.string())


def padded(values: np.ndarray, width: int) -> pa.Array:
    """Non-negative integers zero-padded to ``width`` digits, e.g. 4512 → '004512'."""
    return pc.utf8_lpad(text(values), width=width, padding="0")


def join(*parts: object) -> pa.Array:
    """Element-wise concatenation of string arrays and plain strings."""
    arrays = [p for p in parts if isinstance(p, (pa.Array, pa.ChunkedArray))]
    if not arrays:
        raise ValueError("join needs at least one array")
    return pc.binary_join_element_wise(*parts, "")


def lookup(values: list[str] | tuple[str, ...], idx: np.ndarray) -> pa.Array:
    """values[idx] as a string array (idx < 0 ⇒ blank)."""
    table = pa.array(list(values) + [""], pa.string())
    idx = np.asarray(idx, dtype=np.int64)
    idx = np.where(idx < 0, len(values), idx)
    return table.take(pa.array(idx))


def coded(values: list[str] | tuple[str, ...], idx: np.ndarray) -> pa.DictionaryArray:
    """values[idx] as a dictionary array: cheap for long repetitive columns (idx < 0 ⇒ blank)."""
    vals = list(values) + [""]
    idx = np.asarray(idx)
    idx = np.where(idx < 0, len(values), idx).astype(np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(idx), pa.array(vals, pa.string()))


def fixed(values: np.ndarray, decimals: int) -> pa.Array:
    """Non-negative numbers with a fixed number of decimals ('12.50'), rounded half away from zero."""
    scale = 10 ** decimals
    units = np.floor(np.asarray(values, dtype=np.float64) * scale + 0.5).astype(np.int64)
    if decimals == 0:
        return text(units)
    return join(text(units // scale), ".", padded(units % scale, decimals))


def blank(n: int) -> pa.Array:
    """n empty strings (not nulls: quoted layouts print them as "")."""
    return pa.nulls(n, pa.string()).fill_null("")


def group_rank(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For rows already sorted by ``keys``: (rank within its key, first row of its key, key size)."""
    n = len(keys)
    if n == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, z
    new = np.ones(n, dtype=bool)
    new[1:] = keys[1:] != keys[:-1]
    starts = np.flatnonzero(new)
    sizes = np.diff(np.append(starts, n))
    start_of_row = np.repeat(starts, sizes)
    return np.arange(n) - start_of_row, start_of_row, np.repeat(sizes, sizes)


def distinct_random(rng: np.random.Generator, low: int, high: int, n: int) -> np.ndarray:
    """n distinct integers drawn uniformly from [low, high), in draw order."""
    if high - low < n:
        raise ValueError(f"cannot draw {n} distinct values from [{low}, {high})")
    out = np.zeros(0, dtype=np.int64)
    while len(out) < n:
        extra = rng.integers(low, high, size=int((n - len(out)) * 1.05) + 16, dtype=np.int64)
        both = np.concatenate([out, extra])
        _, first = np.unique(both, return_index=True)
        out = both[np.sort(first)]
    return out[:n]


def hex_text(values: np.ndarray, width: int) -> pa.Array:
    """Non-negative integers as zero-padded lower-case hex, built as a byte matrix (no row loop)."""
    v = np.asarray(values, dtype=np.uint64)
    shifts = np.arange(width - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    nibbles = ((v[:, None] >> shifts[None, :]) & np.uint64(15)).astype(np.uint8)
    chars = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)[nibbles]
    raw = np.ascontiguousarray(chars).view(f"S{width}").ravel()
    return pa.array(raw, pa.binary(width)).cast(pa.string())
