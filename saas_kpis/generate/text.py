"""The seed files' text: how numbers, days and instants are written, ids, and the CSV file itself.

The 11 tables other than the event logs are rendered here once, as columns of text; the CSV writer
writes that text and the Parquet writer reads it back with the contract's column types.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from saas_kpis.generate.calendar import NULL


def fmt_ts(values: np.ndarray) -> list[str]:
    """Epoch seconds -> ``YYYY-MM-DD HH:MM:SS``; :data:`NULL` -> empty field."""
    arr = np.asarray(values, dtype=np.int64)
    text = np.datetime_as_string(arr.astype("datetime64[s]"), unit="s").tolist()
    return [
        "" if v == NULL else s[:10] + " " + s[11:] for v, s in zip(arr.tolist(), text, strict=False)
    ]


def fmt_day(values: np.ndarray) -> list[str]:
    """Day numbers -> ``YYYY-MM-DD``; :data:`NULL` -> empty field."""
    arr = np.asarray(values, dtype=np.int64)
    text = np.datetime_as_string(arr.astype("datetime64[D]"), unit="D").tolist()
    return ["" if v == NULL else s for v, s in zip(arr.tolist(), text, strict=False)]


def fmt_int(values: np.ndarray) -> list[str]:
    """Integers; :data:`NULL` -> empty field."""
    return ["" if v == NULL else str(v) for v in np.asarray(values, dtype=np.int64).tolist()]


def fmt_bool(values: np.ndarray) -> list[str]:
    """Booleans -> ``true`` / ``false``."""
    return ["true" if v else "false" for v in np.asarray(values, dtype=bool).tolist()]


def fmt_money(values: list[float] | np.ndarray) -> list[str]:
    """Decimals with two places (no negative zero)."""
    out = []
    for v in np.asarray(values, dtype=float).tolist():
        s = f"{v:.2f}"
        out.append("0.00" if s == "-0.00" else s)
    return out


def id_width(n: int, minimum: int) -> int:
    """Digits of zero-padded ids numbered up to ``n``: at least ``minimum``, more when needed."""
    return max(minimum, len(str(n)))


def make_ids(prefix: str, n: int, width: int) -> list[str]:
    """Sequential ids ``prefix_0001`` (zero padded to :func:`id_width`)."""
    width = id_width(n, width)
    return [f"{prefix}_{i:0{width}d}" for i in range(1, n + 1)]


def write_csv(path: Path, columns: dict[str, list[str]]) -> tuple[int, int]:
    """Write a header and rows with LF line endings; returns (rows, bytes)."""
    lengths = {len(v) for v in columns.values()}
    assert len(lengths) == 1, f"ragged columns in {path.name}"
    lines = [",".join(columns)]
    lines.extend(",".join(row) for row in zip(*columns.values(), strict=False))
    text = "\n".join(lines) + "\n"
    assert '"' not in text
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    path.write_bytes(data)
    return lengths.pop(), len(data)
