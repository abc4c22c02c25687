""" "Did you mean": the known name closest to a mistyped one, for errors that point to the fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

#: How alike two names must be (difflib's ratio, 0 to 1) for one to be suggested.
CUTOFF = 0.6
#: Names this close to the best match are suggested with it (a tie, not a runner-up).
TIE = 0.05


def close_matches(word: str, known: Iterable[str]) -> list[str]:
    """The known names closest to ``word`` (usually one; ties too), compared without case."""
    by_folded: dict[str, str] = {}
    for name in known:
        by_folded.setdefault(name.casefold(), name)
    folded_word = word.casefold()
    scored = [
        (difflib.SequenceMatcher(None, folded_word, folded).ratio(), name)
        for folded, name in by_folded.items()
    ]
    scored = [(ratio, name) for ratio, name in scored if ratio >= CUTOFF]
    if not scored:
        return []
    best = max(ratio for ratio, _ in scored)
    return [name for ratio, name in sorted(scored, key=lambda s: -s[0]) if ratio >= best - TIE]


def did_you_mean(word: str, known: Iterable[str]) -> str | None:
    """``did you mean "issues.create"?``, or None when no known name is close."""
    matches = close_matches(word, known)
    if not matches:
        return None
    quoted = [f'"{name}"' for name in matches]
    names = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    return f"did you mean {names}?"


__all__ = ["CUTOFF", "TIE", "close_matches", "did_you_mean"]
