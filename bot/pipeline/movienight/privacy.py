"""Keeping each member's tastes theirs: what a movie night shows the channel never
repeats a run of RUN_WORDS or more words from any participant's taste text.

The model is given the tastes and may quote them back ("Member A loves slow-burn sci-fi
with big ideas"). `TasteScrubber` finds every run of RUN_WORDS consecutive words that
also stands in a taste (case, accents and punctuation ignored) and puts an ellipsis in
its place, in every text of a pick, before any front end sees it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import replace

from bot.pipeline.domain import PickDraft

RUN_WORDS = 5
ELLIPSIS = "…"
_WORD = re.compile(r"\w+")


def _plain(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def word_runs(text: str, length: int = RUN_WORDS) -> set[tuple[str, ...]]:
    """Every run of `length` consecutive words of `text`, normalised."""
    words = [_plain(match.group()) for match in _WORD.finditer(text)]
    return {tuple(words[index : index + length]) for index in range(len(words) - length + 1)}


class TasteScrubber:
    """Removes runs of the given taste texts from what is shown."""

    def __init__(self, taste_texts: Iterable[str], length: int = RUN_WORDS) -> None:
        self._length = length
        self._runs: set[tuple[str, ...]] = set()
        for text in taste_texts:
            self._runs |= word_runs(text, length)

    def scrub(self, text: str) -> str:
        """`text` with every run found in a taste replaced by an ellipsis."""
        if not self._runs or not text:
            return text
        matches = list(_WORD.finditer(text))
        words = [_plain(match.group()) for match in matches]
        covered = [False] * len(matches)
        for index in range(len(words) - self._length + 1):
            if tuple(words[index : index + self._length]) in self._runs:
                covered[index : index + self._length] = [True] * self._length
        pieces: list[str] = []
        end = 0
        index = 0
        while index < len(matches):
            if not covered[index]:
                index += 1
                continue
            start = matches[index].start()
            while index < len(matches) and covered[index]:
                index += 1
            pieces += [text[end:start], ELLIPSIS]
            end = matches[index - 1].end()
        pieces.append(text[end:])
        return "".join(pieces)

    def scrub_pick(self, pick: PickDraft) -> PickDraft:
        """The pick with its title, description and reasoning scrubbed."""
        return replace(
            pick,
            title=self.scrub(pick.title),
            description=self.scrub(pick.description),
            reasoning=self.scrub(pick.reasoning),
        )

    def scrub_picks(self, picks: tuple[PickDraft, ...]) -> tuple[PickDraft, ...]:
        """Every pick scrubbed."""
        return tuple(self.scrub_pick(pick) for pick in picks)
