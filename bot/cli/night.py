"""The terminal's movie night: `movienight --with alice,bob,carol [request]` prints the
blended picks (no vote: polls are Discord's). Members are the names typed; the model's
labels (Member A, …) become those names as the picks print."""

from __future__ import annotations

from contextlib import aclosing

from bot import presentation as say
from bot import presentation_night as night_words
from bot.cli.terminal import (
    ADD_TASTE_EXAMPLE,
    CUT_BY_LENGTH,
    EXIT_FAILED,
    EXIT_OK,
    Terminal,
    catalogue_lines,
    render_picks,
)
from bot.errors import InputError
from bot.pipeline.events import Failed, Finished, PicksUpdated, TextDelta
from bot.pipeline.movienight import NightPlan, NightStarted


def split_members(text: str) -> list[str]:
    """`alice, bob,carol` as ["alice", "bob", "carol"]."""
    return [name.strip() for name in text.split(",") if name.strip()]


async def movie_night(
    terminal: Terminal, asker: str, members: list[str], query: str, count: int
) -> int:
    """Stream one movie night's picks for the named members (the asker included)."""
    nights = terminal.pipeline.movie_nights
    query = nights.check_night(query, count)
    plan = await nights.plan(asker, members)
    add_taste = terminal.command(ADD_TASTE_EXAMPLE)
    if not plan.is_enough:
        raise InputError(
            night_words.night_not_enough(list(plan.without_tastes), list(plan.opted_out), add_taste)
        )
    show_plan(terminal, plan, query, count, add_taste)
    names: dict[str, str] = {}
    printed = ""
    events = nights.run(plan, query, count)
    async with aclosing(events):
        async for event in events:
            match event:
                case NightStarted():
                    names = {member.label: member.member_id for member in event.members}
                case PicksUpdated():
                    printed = print_growing(
                        terminal, printed, night_words.with_names(render_picks(event.picks), names)
                    )
                case TextDelta(text=text):
                    print(
                        night_words.with_names(text, names), end="", file=terminal.out, flush=True
                    )
                case Finished():
                    show_end(terminal, event)
                case Failed():
                    terminal.show_failed(event)
                    return EXIT_FAILED
    return EXIT_OK


def show_plan(terminal: Terminal, plan: NightPlan, query: str, count: int, add_taste: str) -> None:
    """Who is blended, who is left out and why."""
    terminal.say(night_words.night_heading(query, count))
    terminal.say(night_words.night_blending(list(plan.participants)))
    for member in plan.without_tastes:
        terminal.say(night_words.night_without_tastes(member, add_taste))
    if plan.opted_out:
        terminal.say(night_words.night_opted_out(list(plan.opted_out)))
    terminal.say()


def print_growing(terminal: Terminal, printed: str, text: str) -> str:
    """Print what is new of `text` since `printed` (all of it again if it changed)."""
    new = text[len(printed) :] if text.startswith(printed) else "\n\n" + text
    print(new, end="", file=terminal.out, flush=True)
    return text


def show_end(terminal: Terminal, event: Finished) -> None:
    """A cut, repeats left out, or no picks at all."""
    terminal.say()
    terminal.say()
    if event.is_cut:
        terminal.say(CUT_BY_LENGTH)
    if event.left_out_count:
        terminal.say(say.left_out_line(event.left_out_count))
    if event.is_structured and not event.picks:
        terminal.say(say.NO_NEW_PICKS)
    for line in catalogue_lines(event.picks):
        terminal.say(line)
