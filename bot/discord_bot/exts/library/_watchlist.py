"""The private /watchlist: one page at a time, a title chosen from a select, then
removed or marked watched (which asks for the rating). Only its member sees it."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import discord

from bot import presentation as shared
from bot import presentation_library as say
from bot.discord_bot import NO_PINGS
from bot.discord_bot.error_handler import handle_command_error
from bot.discord_bot.layout import DISCORD
from bot.discord_bot.streaming import MESSAGE_LIMIT
from bot.pipeline.catalogue.lookup import Lookup
from bot.pipeline.domain import Rating
from bot.pipeline.library.service import Library, WatchlistPage
from bot.pipeline.records.library import LibraryEntry

VIEW_TIMEOUT_SECONDS = 600.0  # an ephemeral message's buttons outlive its use
OPTION_LABEL_LIMIT = 100
EMPTY = say.empty_watchlist("Save picks with **Save to watchlist…** under any answer.")
RATING_BUTTONS = (
    (Rating.LIKED, "Liked it", discord.ButtonStyle.success),
    (Rating.NOT_FOR_ME, "Not for me", discord.ButtonStyle.danger),
    (Rating.SEEN, "Seen it", discord.ButtonStyle.secondary),
)

Press = Callable[[discord.Interaction], Coroutine[Any, Any, None]]


def page_text(page: WatchlistPage, note: str = "") -> str:
    """A page of the watchlist, with a line about what just happened above it."""
    if not page.entries:
        return f"{note}\n{EMPTY}".strip()
    lines = [note] if note else []
    lines.append(say.watchlist_heading(page.total, page.page, page.pages, DISCORD))
    for entry in page.entries:
        line = say.watchlist_line(entry, DISCORD)
        lines.append(f"{line} · <{entry.link}>" if entry.link else line)
    text = "\n".join(lines)
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


def details_text(entry: LibraryEntry, found: Lookup | None) -> str:
    """A chosen title: its description, and the catalogue's facts and links if it has them."""
    lines = [DISCORD.strong(DISCORD.member_text(say.title_label(entry.title, entry.year)))]
    if entry.description:
        lines.append(DISCORD.member_text(entry.description))
    if found is not None and found.facts is not None:
        lines.append(DISCORD.member_text(shared.film_facts(found.facts)))
    if found is not None and found.links is not None:
        links = shared.film_links(found.links)
        lines.append(" · ".join(f"[{name}](<{url}>)" for name, url in links))
    return "\n".join(lines) + "\n"


class WatchlistView(discord.ui.View):
    """The controls under one page of a member's watchlist."""

    def __init__(self, library: Library, member_id: str, page: WatchlistPage) -> None:
        super().__init__(timeout=VIEW_TIMEOUT_SECONDS)
        self.library = library
        self.member_id = member_id
        self.page = page
        self.chosen: LibraryEntry | None = None
        self.is_asking_rating = False
        self._lay_out()

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        """Route a failed press to the one error handler."""
        await handle_command_error(interaction, error)

    def _lay_out(self) -> None:
        """Rebuild the controls for the page and what is chosen."""
        self.clear_items()
        if not self.page.entries:
            return
        choose = discord.ui.Select[Any](
            placeholder="Choose a title…",
            options=[
                discord.SelectOption(
                    label=_label(entry), value=str(entry.id), default=entry == self.chosen
                )
                for entry in self.page.entries
            ],
            row=0,
        )
        choose.callback = self._on_choose  # type: ignore[method-assign]
        self.add_item(choose)
        if self.is_asking_rating:
            for rating, label, style in RATING_BUTTONS:
                self._button(label, style, self._marker(rating), row=1)
            self._button("Back", discord.ButtonStyle.secondary, self._on_back, row=1)
        else:
            idle = self.chosen is None
            self._button("Remove", discord.ButtonStyle.danger, self._on_remove, 1, idle)
            self._button("Mark watched…", discord.ButtonStyle.primary, self._on_watched, 1, idle)
        first, last = self.page.page <= 1, self.page.page >= self.page.pages
        if not (first and last):
            self._button("◀ Previous", discord.ButtonStyle.secondary, self._on_previous, 2, first)
            self._button("Next ▶", discord.ButtonStyle.secondary, self._on_next, 2, last)

    def _button(
        self,
        label: str,
        style: discord.ButtonStyle,
        on_press: Press,
        row: int,
        disabled: bool = False,
    ) -> None:
        button = discord.ui.Button[Any](label=label, style=style, row=row, disabled=disabled)
        button.callback = on_press  # type: ignore[method-assign,assignment]
        self.add_item(button)

    async def _show(self, interaction: discord.Interaction, note: str = "") -> None:
        self._lay_out()
        await interaction.response.edit_message(
            content=page_text(self.page, note), view=self, allowed_mentions=NO_PINGS
        )

    async def _on_choose(self, interaction: discord.Interaction) -> None:
        # The catalogue may take a moment for a title it has not cached: answer first.
        await interaction.response.defer()
        values = interaction.data.get("values") if interaction.data else None
        chosen = int(values[0]) if isinstance(values, list) and values else None
        self.chosen = next((entry for entry in self.page.entries if entry.id == chosen), None)
        self.is_asking_rating = False
        note = ""
        if self.chosen is not None:
            found = await self.library.details([self.chosen])
            note = details_text(self.chosen, found.get(self.chosen.id))
        self._lay_out()
        await interaction.edit_original_response(
            content=page_text(self.page, note), view=self, allowed_mentions=NO_PINGS
        )

    async def _on_remove(self, interaction: discord.Interaction) -> None:
        assert self.chosen is not None
        removed = await self.library.remove(self.member_id, self.chosen.id)
        await self._reload(interaction, say.removed_from_watchlist(removed, DISCORD))

    async def _on_watched(self, interaction: discord.Interaction) -> None:
        self.is_asking_rating = True
        assert self.chosen is not None
        title = say.title_label(self.chosen.title, self.chosen.year)
        await self._show(interaction, f"How was **{DISCORD.member_text(title)}**?")

    def _marker(self, rating: Rating) -> Press:
        async def mark(interaction: discord.Interaction) -> None:
            assert self.chosen is not None
            entry = await self.library.mark_watched(self.member_id, self.chosen.id, rating)
            await self._reload(interaction, say.marked_watched(entry, rating, DISCORD))

        return mark

    async def _on_back(self, interaction: discord.Interaction) -> None:
        self.is_asking_rating = False
        await self._show(interaction)

    async def _on_previous(self, interaction: discord.Interaction) -> None:
        self.page = await self.library.watchlist_page(self.member_id, self.page.page - 1)
        self.chosen = None
        await self._show(interaction)

    async def _on_next(self, interaction: discord.Interaction) -> None:
        self.page = await self.library.watchlist_page(self.member_id, self.page.page + 1)
        self.chosen = None
        await self._show(interaction)

    async def _reload(self, interaction: discord.Interaction, note: str) -> None:
        self.page = await self.library.watchlist_page(self.member_id, self.page.page)
        self.chosen, self.is_asking_rating = None, False
        await self._show(interaction, note)


def _label(entry: LibraryEntry) -> str:
    label = f"#{entry.id} {say.title_label(entry.title, entry.year)}"
    return label if len(label) <= OPTION_LABEL_LIMIT else label[: OPTION_LABEL_LIMIT - 1] + "…"
