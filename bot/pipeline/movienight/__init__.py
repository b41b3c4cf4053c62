"""Movie night: picks for a group, blended from several members' tastes, put to a vote.

night.py      MovieNights: plan, run (streamed like a suggestion), vote, teach
planning.py   who takes part, and what each participant adds to the prompt
blend.py      the blended prompt, participants under neutral labels
privacy.py    no participant's taste text reaches what is shown
events.py     NightStarted and VoteOutcome
"""

from bot.pipeline.movienight.events import NightStarted, VoteOutcome
from bot.pipeline.movienight.night import (
    DEFAULT_HOURS,
    DEFAULT_PICKS,
    MAX_HOURS,
    MAX_PICKS,
    MIN_HOURS,
    MIN_PICKS,
    MovieNights,
    NightEvent,
)
from bot.pipeline.movienight.planning import MAX_MEMBERS, MIN_PARTICIPANTS, NightPlan

__all__ = [
    "DEFAULT_HOURS",
    "DEFAULT_PICKS",
    "MAX_HOURS",
    "MAX_MEMBERS",
    "MAX_PICKS",
    "MIN_HOURS",
    "MIN_PARTICIPANTS",
    "MIN_PICKS",
    "MovieNights",
    "NightEvent",
    "NightPlan",
    "NightStarted",
    "VoteOutcome",
]
