"""Per-column dataset statistics, kept as mergeable state so that an append only reads its own rows."""
from __future__ import annotations

import datetime as dt
import hashlib
import math

import numpy as np

from tucluster.formats.tables import is_numeric

DISTINCT_LIMIT = 1000


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)


def stats(column: dict, values, mask=None) -> dict:
    """Merge state of one column's values: numeric moments, bounded distinct hashes, ranges."""
    if is_numeric(column):
        numbers = np.asarray(values, dtype=np.float64)
        present = numbers[~mask] if mask is not None else numbers[~np.isnan(numbers)]
        state = {"count": int(present.size), "nulls": int(numbers.size - present.size)}
        if present.size:
            cast = int if column["type"] == "int" else float
            mean = float(present.mean())
            state.update(min=cast(present.min()), max=cast(present.max()), mean=mean,
                         m2=float(((present - mean) ** 2).sum()))
        return state
    present = [v for v in values if v is not None]
    state = {"count": len(present), "nulls": len(values) - len(present)}
    if column.get("is_set"):
        lengths = [len(v) for v in present]
        if lengths:
            state.update(minLength=min(lengths), maxLength=max(lengths))
    elif column["type"] == "datetime":
        if present:
            state.update(min=min(present), max=max(present))
    else:
        hashes, capped = set(), False
        for value in present:
            digest = _hash(value)
            if digest not in hashes:
                if len(hashes) >= DISTINCT_LIMIT:
                    capped = True
                    break
                hashes.add(digest)
        state.update(hashes=sorted(hashes), capped=capped)
    return state


def merge_stats(column: dict, a: dict, b: dict) -> dict:
    merged = {"count": a["count"] + b["count"], "nulls": a["nulls"] + b["nulls"]}
    if not a["count"] or not b["count"]:
        extra = a if a["count"] else b
        return dict(extra, **merged)
    for low, high in (("min", "max"), ("minLength", "maxLength")):
        if low in a:
            merged.update({low: min(a[low], b[low]), high: max(a[high], b[high])})
    if "mean" in a:
        delta = b["mean"] - a["mean"]
        merged["mean"] = a["mean"] + delta * b["count"] / merged["count"]
        merged["m2"] = a["m2"] + b["m2"] + delta ** 2 * a["count"] * b["count"] / merged["count"]
    if "hashes" in a:
        union = sorted(set(a["hashes"]) | set(b["hashes"]))
        merged["capped"] = a["capped"] or b["capped"] or len(union) > DISTINCT_LIMIT
        merged["hashes"] = union[:DISTINCT_LIMIT]
    return merged


def public_stats(state: dict) -> dict:
    """What the API shows: count, nulls and, by kind, min/max/mean/std, distinct, or list lengths."""
    shown = {key: value for key, value in state.items() if key not in ("m2", "hashes", "capped")}
    if "m2" in state:
        shown["std"] = math.sqrt(state["m2"] / state["count"])
    if "hashes" in state:
        shown.update(distinct=len(state["hashes"]), distinctCapped=state["capped"])
    for key in ("min", "max"):
        if isinstance(shown.get(key), dt.datetime):
            shown[key] = shown[key].isoformat()
    return shown
