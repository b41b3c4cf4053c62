"""The terminal's layout of what `bot.presentation` says: plain, indented lines."""

from __future__ import annotations

from contextlib import aclosing
from typing import TextIO

from bot import presentation as say
from bot.cli.parser import RATING_WORDS
from bot.pipeline.catalogue import CheckState
from bot.pipeline.domain import PickDraft, label
from bot.pipeline.events import Failed, Finished, PicksUpdated, Retrieved, TextDelta
from bot.pipeline.pipeline import Pipeline
from bot.presentation import PLAIN, Marks

ADD_TASTE_EXAMPLE = 'prefer "what you like"'
EXIT_OK = 0
EXIT_FAILED = 1
# The owner runs the terminal, so the cut also names the setting that allows more.
CUT_BY_LENGTH = f"{say.CUT_BY_LENGTH} Or raise GEN_NUM_PREDICT."
# Quoted lines (a matched taste) stand indented under their heading.
TERMINAL = Marks(quote=lambda text: f"  {text}")
NOTE_INDENT = "   "


class Terminal:
    """Renders pipeline results to a terminal (or any pair of text streams)."""

    def __init__(
        self,
        pipeline: Pipeline,
        out: TextIO,
        err: TextIO,
        stdin: TextIO,
        member_option: str = "",
    ) -> None:
        self.pipeline = pipeline
        self.out = out
        self.err = err
        self.stdin = stdin
        # Repeated in every hint that names a command, so it acts for the same member.
        self.member_option = member_option

    def command(self, text: str) -> str:
        """A command to suggest, for the member this run acts for."""
        return f"suggest-watch{self.member_option} {text}"

    def say(self, text: str = "") -> None:
        """Print one line."""
        print(text, file=self.out, flush=True)

    def confirm(self, question: str) -> bool:
        """Ask a yes/no question; anything but yes is no."""
        print(f"{question} [y/N] ", end="", file=self.out, flush=True)
        answer = self.stdin.readline()
        return answer.strip().lower() in {"y", "yes"}

    async def prefer(self, member: str, text: str) -> int:
        """Store a taste."""
        self.pipeline.check_taste(text)
        taste = await self.pipeline.prefer(member, text)
        self.say(say.stored_taste(taste))
        return EXIT_OK

    async def tastes(self, member: str) -> int:
        """List the member's tastes."""
        tastes = await self.pipeline.tastes(member)
        if not tastes:
            self.say(say.no_tastes(self.command(ADD_TASTE_EXAMPLE)))
            return EXIT_OK
        self.say(f"{say.tastes_heading(len(tastes))}:")
        for taste in tastes:
            self.say(f"  {say.taste_line(taste)}")
        return EXIT_OK

    async def forget(
        self, member: str, taste_id: int | None, forget_all: bool, yes: bool, history: bool = False
    ) -> int:
        """Forget one taste, or all (asking first unless `yes`)."""
        if not forget_all:
            assert taste_id is not None
            self.say(say.forgot_taste(await self.pipeline.forget(member, taste_id)))
            return EXIT_OK
        count = await self.pipeline.count_tastes(member)
        if count == 0:
            self.say(say.NO_TASTES_TO_FORGET)
        elif not yes and not self.confirm(say.forget_all_question(count)):
            self.say(say.KEPT_TASTES)
        else:
            self.say(say.forgot_all(await self.pipeline.forget_all(member)))
        await self.offer_to_forget_history(member, ask=not (yes or history), erase=history)
        return EXIT_OK

    async def offer_to_forget_history(self, member: str, *, ask: bool, erase: bool) -> None:
        """Erase the member's suggestions, picks and ratings too, if they say so."""
        titles = await self.pipeline.library.count_titles(member)
        suggestions = await self.pipeline.count_suggestions(member)
        question = say.erase_history_question(suggestions, titles)
        if question is None or not (erase or ask):
            return
        if not erase and not self.confirm(question):
            self.say(say.KEPT_HISTORY)
            return
        self.say(say.erased_history(await self.pipeline.erase_suggestions(member), titles))

    async def rate(self, member: str, suggestion_id: int, word: str, pick: int | None) -> int:
        """Rate every pick of a suggestion, or one."""
        rating = RATING_WORDS[word]
        rated = await self.pipeline.rate(member, suggestion_id, rating, position=pick)
        for record in rated:
            self.say(f"  {say.rated_pick(record.shown_position, label(record), record.rating)}")
        return EXIT_OK

    async def history(self, member: str, limit: int) -> int:
        """The member's recent picks, grouped under their request."""
        picks = await self.pipeline.past_picks(member, limit)
        if not picks:
            self.say(say.no_picks_yet(self.command("suggest what you want")))
            return EXIT_OK
        self.say(f"{say.history_heading(len(picks))}:")
        for heading, lines in say.history_groups(picks):
            self.say(heading)
            for line in lines:
                self.say(f"  {line}")
        return EXIT_OK

    async def suggest(self, member: str, query: str, count: int) -> int:
        """Stream one suggestion; a fault ends it with one `Error:` line."""
        query = self.pipeline.check_request(query, count)  # refused before anything shows
        self.say(f'Searching for "{query}"…')
        # aclosing: if printing fails (the reader went away), the suggestion is closed and
        # recorded as cancelled now, while the records are still open.
        events = self.pipeline.suggest(member, query, count)
        picks = PicksPrinter(self.out)
        async with aclosing(events):
            async for event in events:
                match event:
                    case Retrieved():
                        self.show_retrieved(event)
                    case PicksUpdated():
                        picks.show(event.picks)
                    case TextDelta(text=text):
                        print(text, end="", file=self.out, flush=True)
                    case Finished():
                        self.show_finished(event)
                    case Failed():
                        self.show_failed(event)
                        return EXIT_FAILED
        return EXIT_OK

    def show_retrieved(self, event: Retrieved) -> None:
        """The header: matched tastes with their scores and timings, then what is asked."""
        embed_ms, search_ms = event.embed_seconds * 1000, event.search_seconds * 1000
        timing = f"embed {embed_ms:.0f} ms, search {search_ms:.0f} ms"
        add_taste = self.command(ADD_TASTE_EXAMPLE)
        for line in say.header_lines(event, add_taste, TERMINAL, detail=timing):
            self.say(line)
        self.say(f"Asking {self.pipeline.settings.chat_model} for {event.count} pick(s)…")
        self.say()

    def show_finished(self, event: Finished) -> None:
        """The end: a cut, repeats left out, how to rate, and the run's figures."""
        self.say()
        self.say()
        if event.is_cut:
            self.say(CUT_BY_LENGTH)
        how_to_rate = "Rate them: " + self.command(
            f"rate {event.suggestion_id} liked|not-for-me|seen [--pick N]"
        )
        for line in catalogue_lines(event.picks):
            self.say(line)
        for line in say.end_lines(event, how_to_rate):
            self.say(line)
        self.say(describe_finish(event))

    def show_failed(self, event: Failed) -> None:
        """A fault: one `Error:` line, and a word that what arrived is kept."""
        if event.text:
            self.say()
        self.say()
        print(f"Error: {event.error}", file=self.err, flush=True)
        if event.text:
            print(say.KEPT_BEFORE_FAULT, file=self.err, flush=True)

    async def reindex(self) -> int:
        """Rebuild every member's vectors, a line per member."""

        def progress(member_id: str, tastes: int) -> None:
            self.say(f"  {member_id}: {say.plural(tastes, 'taste')}")

        settings = self.pipeline.settings
        self.say(
            f"Rebuilding the vectors with {settings.embed_model} ({settings.vector_store_label})…"
        )
        report = await self.pipeline.reindex(progress)
        dimension = f", {report.dimension}-d" if report.dimension else ""
        self.say(
            f"Reindexed {report.tastes} taste(s) of {report.members} member(s){dimension}, "
            f"{report.store}; removed the vectors of {report.removed_members} "
            "member(s) without tastes."
        )
        return EXIT_OK


class PicksPrinter:
    """Prints picks as they grow: only what is new is written, so it works in a pipe too."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.printed = ""

    def show(self, picks: tuple[PickDraft, ...]) -> None:
        """Print what is new since the last call (all again if a field arrived early)."""
        text = render_picks(picks)
        # A field that arrived out of the schema's order means writing the picks again.
        is_growing = text.startswith(self.printed)
        new = text[len(self.printed) :] if is_growing else "\n\n" + text
        print(new, end="", file=self.out, flush=True)
        self.printed = text


def render_picks(picks: tuple[PickDraft, ...], marks: Marks = PLAIN) -> str:
    """The picks as plain text, written so that each version extends the one before."""
    return "\n\n".join(render_pick(number, pick, marks) for number, pick in enumerate(picks, 1))


def render_pick(number: int, pick: PickDraft, marks: Marks = PLAIN) -> str:
    """One pick: `1. Arrival · 2016 · movie`, its notes indented under it."""
    title = " · ".join([say.pick_title(number, pick, marks), *say.pick_details(pick)])
    return "\n".join([title, *(NOTE_INDENT + note for note in say.pick_notes(pick, marks))])


def describe_finish(event: Finished) -> str:
    """The run's figures: time, tokens, and the suggestion's number."""
    parts = [f"Done in {event.timings.generation_seconds or 0:.1f} s"]
    if event.stats and event.stats.tokens_per_second:
        parts.append(
            f"{event.stats.completion_tokens} tokens at "
            f"{event.stats.tokens_per_second:.1f} tokens/s"
        )
    parts.append(f"suggestion #{event.suggestion_id}")
    return " · ".join(parts)


def catalogue_lines(picks: tuple[PickDraft, ...]) -> list[str]:
    """What the film catalogue found for each pick, with plain URLs; nothing without one.

    Printed once the answer is complete, so the picks above keep growing by appending."""
    if not say.uses_catalogue(picks):
        return []
    lines = [f"{say.CATALOGUE_CREDIT} ({say.CATALOGUE_URL}):"]
    for number, pick in enumerate(picks, 1):
        check = pick.check
        heading = f"{number}. {label(pick)}"
        # A pick without a check here was never looked up: as good as not checked.
        mark = say.check_mark(check) if check else say.CHECK_MARKS[CheckState.NOT_CHECKED]
        if check is None or mark:
            lines.append(f"{heading}: {mark}")
            continue
        if check.facts is not None:
            heading += f": {say.film_facts(check.facts)}"
        lines.append(heading)
        if check.links is not None:
            lines += [f"{NOTE_INDENT}{name}: {url}" for name, url in say.film_links(check.links)]
    return [*lines, *say.catalogue_end_lines(picks), ""]
