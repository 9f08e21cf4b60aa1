"""Statistical disclosure control for published tables (issue 15, DOMAIN.md "Do no
harm"): a two-way table of counts with its row, column and grand totals is released
only when no small count can be learned from what is published.

1. Primary suppression: every count (cell or total) from 1 to ``threshold - 1``.
2. Complementary suppression: a line (a row with its total, a column with its total,
   the row totals with the grand total, the column totals with it) with exactly one
   suppressed member gives that member away by subtraction, so a second member is
   suppressed: the smallest non-zero part, else the line's total.
3. The proof, before release: for each suppressed figure a linear program over
   everything published (every line's sum, figures >= 0; ``scipy.optimize.linprog``)
   finds the least and the greatest value it could have. A figure whose range is
   narrower than ``width`` gets one more figure suppressed (of its own lines first,
   then of lines reached through other hidden figures), and the proof runs again; when nothing is left to suppress the table is refused with
   the figure and its range named (:class:`DisclosureRefused`). No table is released
   without the proof. The grand total is always published (the report says how many
   cases it covers), so a small table can be refused.

Zeros are published: they say nobody reported, which identifies nobody. Pure: no I/O.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.optimize import linprog

GRAND = ("grand",)


class DisclosureRefused(Exception):
    """The table cannot be released safely; ``reason`` says which figure and why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Released:
    """The figures to publish (``None``: suppressed) and the proof's ranges."""
    cells: dict        # row -> col -> count | None
    row_totals: dict   # row -> count | None
    col_totals: dict   # col -> count | None
    grand_total: int | None
    ranges: dict       # suppressed key -> (least, greatest) the published figures allow


def protect(table: dict[str, dict[str, int]], rows: list[str], cols: list[str], threshold: int,
            width: float, keep_grand_total: bool = True) -> Released:
    """``table``: row -> col -> count (missing: 0). The grand total is published
    (the report says how many cases it covers) unless ``keep_grand_total`` is off: a
    table whose total is below the threshold is refused. Raises DisclosureRefused."""
    values = {(r, c): int(table.get(r, {}).get(c, 0)) for r in rows for c in cols}
    for r in rows:
        values[("row", r)] = sum(values[(r, c)] for c in cols)
    for c in cols:
        values[("col", c)] = sum(values[(r, c)] for r in rows)
    values[GRAND] = sum(values[("row", r)] for r in rows)
    lines = _lines(rows, cols)
    kept = {GRAND} if keep_grand_total else set()
    if kept and 0 < values[GRAND] < threshold:
        raise DisclosureRefused(f"the grand total {values[GRAND]} is below the threshold {threshold}: too few "
                                f"cases to publish anything safely yet")
    hidden = {k for k, v in values.items() if 0 < v < threshold}
    small, proven = set(hidden), {}
    for _ in range(len(values) + 1):
        _complete(hidden, lines, values, kept)
        # Each pass hides one more figure, and hiding more only widens every range (a
        # published figure becomes one more unknown): a range proven wide stays proven.
        # So a pass proves only what is new, the small figures first, and stops at the
        # first range too narrow (a skewed table needs a dozen passes).
        ranges = feasible_ranges(values, hidden, lines, stop_below=width, first=lambda k: (k not in small, str(k)),
                                 only=hidden - proven.keys())
        proven.update((k, r) for k, r in ranges.items() if r[1] - r[0] >= width)
        narrow = [(k, lo, hi) for k, (lo, hi) in ranges.items() if hi - lo < width]
        if not narrow:
            return _released(values, hidden, proven, rows, cols)
        key, lo, hi = narrow[0]
        extra = _widen(key, hidden, lines, values, kept)
        if extra is None:
            raise DisclosureRefused(f"{_name(key)} would be known to lie within [{lo:g}, {hi:g}], narrower "
                                    f"than the protection width {width:g}, and nothing is left to suppress")
        hidden.add(extra)
    raise DisclosureRefused("suppression did not converge")   # pragma: no cover: each pass hides one more


def feasible_ranges(values: dict, hidden: set, lines: list[tuple[list, tuple]], stop_below: float | None = None,
                    first=str, only=None) -> dict:
    """For each hidden figure (or those of ``only``), (least, greatest) value
    consistent with every published figure and every line's sum (greatest may be
    ``inf``), in the order of ``first``; with ``stop_below``, it stops at the first
    range narrower than that."""
    order = sorted(hidden, key=first)
    if not order:
        return {}
    index = {k: i for i, k in enumerate(order)}
    a_eq, b_eq = [], []
    for parts, total in lines:
        row, rhs = [0.0] * len(order), 0.0
        for member, sign in [(p, 1.0) for p in parts] + [(total, -1.0)]:
            if member in index:
                row[index[member]] += sign
            else:
                rhs -= sign * values[member]
        if any(row):
            a_eq.append(row)
            b_eq.append(rhs)
    ranges = {}
    for k in order:
        if only is not None and k not in only:
            continue
        objective = [0.0] * len(order)
        objective[index[k]] = 1.0
        least = linprog(objective, A_eq=a_eq or None, b_eq=b_eq or None, bounds=(0, None), method="highs")
        objective[index[k]] = -1.0
        most = linprog(objective, A_eq=a_eq or None, b_eq=b_eq or None, bounds=(0, None), method="highs")
        if least.status != 0 or most.status not in (0, 3):   # 3: unbounded above
            raise DisclosureRefused(f"the proof could not bound {_name(k)}: {least.message or most.message}")
        ranges[k] = (round(least.fun, 6), math.inf if most.status == 3 else round(-most.fun, 6))
        if stop_below is not None and ranges[k][1] - ranges[k][0] < stop_below:
            break
    return ranges


def _lines(rows, cols) -> list[tuple[list, tuple]]:
    """Every (parts, total) relation a reader can use: sum(parts) == total."""
    lines = [([(r, c) for c in cols], ("row", r)) for r in rows]
    lines += [([(r, c) for r in rows], ("col", c)) for c in cols]
    lines += [([("row", r) for r in rows], GRAND), ([("col", c) for c in cols], GRAND)]
    return lines


def _complete(hidden: set, lines, values, kept: set) -> None:
    """Complementary suppression until no line has exactly one hidden member."""
    changed = True
    while changed:
        changed = False
        for parts, total in lines:
            if sum(m in hidden for m in parts + [total]) == 1:
                free = [m for m in parts + [total] if m not in hidden and m not in kept]
                if not free:
                    continue        # left to the proof, which names the figure
                # The smallest non-zero part, else the total, else a zero part.
                rank = lambda m: (2 if values[m] == 0 and m != total else m == total, values[m], str(m))  # noqa: E731
                hidden.add(min(free, key=rank))
                changed = True


def _widen(key, hidden, lines, values, kept: set):
    """One more figure to suppress so that ``key``'s range can grow: the smallest shown
    member of a line through ``key``; else of a line through a hidden figure reached
    from ``key`` through hidden figures (the nearest first); else the smallest shown
    figure anywhere. None only when everything but what is kept is hidden."""
    reached, frontier = {key}, [key]
    while frontier:
        touching = [parts + [total] for parts, total in lines if any(f in parts or f == total for f in frontier)]
        shown = sorted((values[m], str(m), m) for members in touching for m in members
                       if m not in hidden and m not in kept)
        if shown:
            return shown[0][2]
        frontier = [m for members in touching for m in members if m in hidden and m not in reached]
        reached.update(frontier)
    anywhere = sorted((v, str(k), k) for k, v in values.items() if k not in hidden and k not in kept)
    return anywhere[0][2] if anywhere else None


def _released(values, hidden, ranges, rows, cols) -> Released:
    shown = lambda k: None if k in hidden else values[k]  # noqa: E731
    return Released(cells={r: {c: shown((r, c)) for c in cols} for r in rows},
                    row_totals={r: shown(("row", r)) for r in rows}, col_totals={c: shown(("col", c)) for c in cols},
                    grand_total=shown(GRAND), ranges={_name(k): v for k, v in ranges.items()})


def _name(key) -> str:
    if key == GRAND:
        return "the grand total"
    if key[0] in ("row", "col"):
        return f"the {key[0]} total of {key[1]}"
    return f"the cell ({key[0]}, {key[1]})"
