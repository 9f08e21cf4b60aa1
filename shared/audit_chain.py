"""Hash-chained audit trails (pure: no I/O). Each entry carries ``prev``, the digest of
the entry before it, and ``hash``, the sha256 (hex) of its own canonical form: the
sorted-key JSON of the entry without ``hash``. Editing, removing, inserting or
reordering an entry then breaks the chain at that point.

Trails written before chaining (a legacy prefix) hold entries without ``hash``: the
chain starts at the first chained entry, whose ``prev`` is the digest of the whole
legacy prefix, so that prefix is sealed as it stood when chaining began. An
unchained entry after a chained one is tampering (inserted, or its hash stripped).

An unkeyed chain proves order and integrity only against someone who does not
rewrite every later hash too, nor drop the newest entries: keep the ``head`` digest
somewhere else (the verify command prints it) to catch that as well."""
from __future__ import annotations

import hashlib
import json
from typing import NamedTuple

CHAIN_FIELDS = ("prev", "hash")


class Break(NamedTuple):
    index: int          # position of the first entry that does not hold
    problem: str


def digest(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def link(entries: list, entry: dict) -> dict:
    """``entry`` chained onto ``entries`` (not appended: the caller does)."""
    chained = {k: v for k, v in entry.items() if k not in CHAIN_FIELDS}
    chained["prev"] = _anchor(entries)
    chained["hash"] = digest(chained)
    return chained


def head(entries: list) -> str | None:
    return _anchor(entries)


def _anchor(entries: list) -> str | None:
    """What the next entry links to: the last entry's digest; for a trail that is
    all legacy, the digest of all of it."""
    if not entries:
        return None
    return digest(entries[-1]) if "hash" in entries[-1] else digest({"legacy": entries})


def verify(entries: list) -> Break | None:
    """The first entry that was edited, removed, inserted or moved; None if intact."""
    chained = False
    for i, entry in enumerate(entries):
        if "hash" not in entry:
            if chained:
                return Break(i, "an unchained entry after the chain began: inserted, or its hash removed")
            continue
        chained = True
        if entry.get("prev") != _anchor(entries[:i]):
            return Break(i, f"does not follow entry {i - 1}: an entry was removed, inserted or moved "
                            f"here, or entry {i - 1} was rewritten" if i else
                         "the first entry claims a predecessor: entries before it were removed")
        if digest(entry) != entry["hash"]:
            return Break(i, "edited: its content does not match its hash")
    return None

