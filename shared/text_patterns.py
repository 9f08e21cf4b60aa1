"""Regular expressions for free text from outside, in time linear in its length.

Python's ``re`` backtracks: a pattern with an unbounded repeat can cost quadratic
(``a.*b``: each start scans to the end; 0.5 s on a 10,000-character report) or
exponential time on crafted text. ``bounded()`` refuses any pattern whose match is
not at most ``MAX_WIDTH`` characters wide, so each start position costs at most a
constant and a search is linear; the schemas cap a text's length before any pattern
runs. "A, then later on the same line B" (what ``A.*B`` meant) is ``FollowedBy``:
the first A of a line, then one search for B in the rest of that line.
"""
from __future__ import annotations

import re
import re._parser as sre_parse    # the stdlib's own parser: the width of a pattern

MAX_WIDTH = 64


def bounded(pattern: str, flags: int = re.IGNORECASE) -> re.Pattern:
    widest = sre_parse.parse(pattern, flags).getwidth()[1]
    if widest > MAX_WIDTH:
        raise ValueError(f"{pattern!r} can match more than {MAX_WIDTH} characters: it may backtrack without bound")
    return re.compile(pattern, flags)


class FollowedBy:
    """``re.search(first + ".*" + then)`` (``.`` stops at a newline), linear: the first
    match of ``first`` on a line is the best start, as any ``then`` after a later one
    is also after it."""

    def __init__(self, first: str, then: str, flags: int = re.IGNORECASE):
        self.first, self.then = bounded(first, flags), bounded(then, flags)

    def search(self, text: str):
        pos = 0
        while (start := self.first.search(text, pos)) is not None:
            line_end = text.find("\n", start.end())
            line_end = len(text) if line_end < 0 else line_end
            if (found := self.then.search(text, start.end(), line_end)) is not None:
                return found
            pos = line_end + 1
        return None
