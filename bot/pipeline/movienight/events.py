"""The events of a movie night beyond a suggestion's (`bot/pipeline/events.py`).

`MovieNights.run` yields one `NightStarted`, then the events of the blended answer as
`Pipeline.suggest` yields them (`Retrieved`, `PicksUpdated` or `TextDelta`, then
`Finished` or `Failed`), with every pick already free of the participants' taste text.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.pipeline.records import NightMember, NightPick


@dataclass(frozen=True, slots=True)
class NightStarted:
    """The night is recorded; these participants' tastes are blended, under these labels."""

    night_id: int
    members: tuple[NightMember, ...]
    prompt_seconds: float  # gathering the blend and building the prompt


@dataclass(frozen=True, slots=True)
class VoteOutcome:
    """How a night's poll ended: the winner, the votes per pick, and whether a tie among
    the most voted was broken by the picks' confidence."""

    night_id: int
    winner: NightPick
    votes: dict[int, int]  # position -> votes
    is_tie_broken: bool
    members: tuple[NightMember, ...]
    picks: tuple[NightPick, ...]
