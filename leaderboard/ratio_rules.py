"""Praise-to-criticism ratio rules, pure (see ``leaderboard.ratios`` for the table and rounding).

Read by the ratio tables (``leaderboard.ratios``) and the coaching prompt rules.
"""

from __future__ import annotations

import pandas as pd

ON_TARGET = "on target"
BELOW_TARGET = "below target"
NO_CRITICISM = "no criticism yet"
NO_NOTES = "no notes yet"
STATUSES = (ON_TARGET, BELOW_TARGET, NO_CRITICISM, NO_NOTES)


def ratio_value(praise: int, criticism: int) -> float | None:
    """praise ÷ criticism to one decimal, halves up; None when there is no criticism."""
    praise, criticism = int(praise), int(criticism)
    if criticism <= 0:
        return None
    # Integer arithmetic: round(p/c, 1) would round 0.25 down (binary floats, banker's rounding).
    tenths = (20 * praise + criticism) // (2 * criticism)
    return tenths / 10


def ratio_label(praise: int, criticism: int) -> str:
    """``5.2 : 1``, or "" when there is no criticism (never ∞)."""
    value = ratio_value(praise, criticism)
    return "" if value is None else f"{value:.1f} : 1"


def ratio_status(praise: int, criticism: int, target: float) -> str:
    """on target / below target / no criticism yet / no notes yet (see the module table)."""
    praise, criticism = int(praise), int(criticism)
    if praise <= 0 and criticism <= 0:
        return NO_NOTES
    if criticism <= 0:
        return NO_CRITICISM
    value = ratio_value(praise, criticism)
    return ON_TARGET if value is not None and value >= float(target) - 1e-9 else BELOW_TARGET


def target_label(target: float) -> str:
    """``5 : 1`` (or ``4.5 : 1``)."""
    t = float(target)
    return f"{int(t)} : 1" if t.is_integer() else f"{t:.1f} : 1"


def add_ratio_columns(frame: pd.DataFrame, *, target: float) -> pd.DataFrame:
    """Add ratio, ratio_label, target and status to a frame with praise and criticism counts."""
    out = frame.copy()
    out["praise"] = out["praise"].fillna(0).astype("int64")
    out["criticism"] = out["criticism"].fillna(0).astype("int64")
    pairs = list(zip(out["praise"].tolist(), out["criticism"].tolist()))
    out["ratio"] = pd.array([ratio_value(p, c) for p, c in pairs], dtype="Float64")
    out["ratio_label"] = [ratio_label(p, c) for p, c in pairs]
    out["target"] = round(float(target), 1)
    out["status"] = [ratio_status(p, c, target) for p, c in pairs]
    return out


def counts_by(notes: pd.DataFrame, key: str) -> pd.DataFrame:
    """``key``, praise, criticism from note rows (kind column)."""
    if notes.empty:
        return pd.DataFrame(columns=[key, "praise", "criticism"])
    table = pd.crosstab(notes[key], notes["kind"])
    for kind in ("praise", "criticism"):
        if kind not in table:
            table[kind] = 0
    return table[["praise", "criticism"]].reset_index()
