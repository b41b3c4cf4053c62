"""/watchlist and /import, both answered privately, and the save select's registration.

An import is read and stored before the answer (one transaction: all of it or none);
matching its titles to the film catalogue then runs in the background, and the answer's
progress line is edited every few seconds until the summary replaces it, with what
could not be matched or read in an attached file.
"""

from __future__ import annotations

import asyncio
import io
import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot import presentation_library as say
from bot.background import BackgroundTasks
from bot.discord_bot import NO_PINGS
from bot.discord_bot.client import SuggestWatchBot
from bot.discord_bot.error_handler import ORIGINAL_IS_WRITTEN, log_fault
from bot.discord_bot.exts.library._save import SaveToWatchlist
from bot.discord_bot.exts.library._watchlist import EMPTY, WatchlistView, page_text
from bot.errors import InputError, SuggestWatchError
from bot.pipeline.library.imports import ParsedExport
from bot.pipeline.library.service import MatchProgress

log = logging.getLogger(__name__)

# The progress line is edited at most once per this many stream edit intervals.
PROGRESS_INTERVALS = 3
HOW_TO_IMPORT = (
    "Attach your export with `/import file:`. From Letterboxd: Settings → Data → "
    "Export your data (the ZIP as downloaded, or one of its CSVs). From IMDb: Your "
    "Ratings (or Your Watchlist) → ⋯ → Export. `/import erase:True` erases what you imported."
)


class LibraryCog(commands.Cog, name="Library"):
    """Each member's watchlist and imported history."""

    def __init__(self, bot: SuggestWatchBot) -> None:
        self.bot = bot
        self._tasks = BackgroundTasks("library")

    async def cog_load(self) -> None:
        """Let "Save to watchlist…" selects on answers written before a restart work."""
        self.bot.add_dynamic_items(SaveToWatchlist)

    async def shut_down(self) -> None:
        """Stop matching imports (what is left is matched at the next import)."""
        await self._tasks.stop()

    @app_commands.command(name="watchlist", description="Your watchlist (only you see it)")
    async def watchlist(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        library = self.bot.pipeline.library
        member_id = str(interaction.user.id)
        page = await library.watchlist_page(member_id)
        if not page.entries:
            await interaction.edit_original_response(content=EMPTY, allowed_mentions=NO_PINGS)
            return
        await interaction.edit_original_response(
            content=page_text(page),
            view=WatchlistView(library, member_id, page),
            allowed_mentions=NO_PINGS,
        )

    @app_commands.command(
        name="import", description="Import your Letterboxd or IMDb history (only you see it)"
    )
    @app_commands.describe(
        file="Letterboxd's export ZIP (or one of its CSVs), or IMDb's ratings or watchlist CSV",
        erase="Erase what you imported before (your own ratings and saves stay)",
    )
    async def import_history(
        self,
        interaction: discord.Interaction,
        file: discord.Attachment | None = None,
        erase: bool = False,
    ) -> None:
        library = self.bot.pipeline.library
        member_id = str(interaction.user.id)
        if erase:
            await interaction.response.defer(ephemeral=True, thinking=True)
            erased = await library.erase_imports(member_id)
            await interaction.edit_original_response(
                content=say.erased_imports(erased), allowed_mentions=NO_PINGS
            )
            return
        if file is None:
            await interaction.response.send_message(
                HOW_TO_IMPORT, ephemeral=True, allowed_mentions=NO_PINGS
            )
            return
        library.check_upload_size(file.size)  # refused before anything is downloaded
        await interaction.response.defer(ephemeral=True, thinking=True)
        parsed = await self._read(file)
        stored = await library.store_import(member_id, parsed)
        summary = "\n".join(say.import_summary(stored))
        if not library.is_matching:
            await self._finish(interaction, member_id, parsed, summary)
            self._tasks.start(self._embed(member_id), name=f"embedding {member_id}'s titles")
            return
        total = len(parsed.titles)
        await interaction.edit_original_response(
            content=f"{summary}\n{say.matching_line(MatchProgress(0, total, 0))}",
            allowed_mentions=NO_PINGS,
        )
        interaction.extras[ORIGINAL_IS_WRITTEN] = True
        matching = self._match(interaction, member_id, parsed, summary)
        self._tasks.start(matching, name=f"matching the import of member {member_id}")

    async def _read(self, file: discord.Attachment) -> ParsedExport:
        """Download the attached export and read it (off the event loop: it is CPU work)."""
        try:
            data = await file.read()
        except discord.HTTPException as exc:
            raise InputError("I could not download that file: attach it again.") from exc
        return await asyncio.to_thread(self.bot.pipeline.library.read_import, data, file.filename)

    async def _match(
        self, interaction: discord.Interaction, member_id: str, parsed: ParsedExport, summary: str
    ) -> None:
        """Match the titles in the background, editing the progress line as it goes."""
        loop = asyncio.get_running_loop()
        every = PROGRESS_INTERVALS * self.bot.settings.stream_edit_interval
        last_edit = loop.time()

        async def show(progress: MatchProgress) -> None:
            nonlocal last_edit
            if loop.time() - last_edit < every:
                return
            last_edit = loop.time()
            await self._edit(interaction, f"{summary}\n{say.matching_line(progress)}")

        try:
            done = await self.bot.pipeline.library.match_titles(member_id, show)
        except SuggestWatchError as exc:
            log_fault(exc, f"Matching the import of member {member_id}")
            done = None
        ending = say.matching_line(done) if done else ""
        await self._finish(interaction, member_id, parsed, f"{summary}\n{ending}".strip())
        await self._embed(member_id)

    async def _embed(self, member_id: str) -> None:
        """Embed the imported titles, so a prompt names those most similar to a request."""
        try:
            await self.bot.pipeline.library.embed_titles(member_id)
        except SuggestWatchError as exc:
            log_fault(exc, f"Embedding the titles of member {member_id}")

    async def _finish(
        self, interaction: discord.Interaction, member_id: str, parsed: ParsedExport, text: str
    ) -> None:
        """The summary, with what was not matched or read in an attached file."""
        not_found = await self.bot.pipeline.library.not_found(member_id)
        listing = say.not_imported_text(parsed, not_found)
        files = (
            [discord.File(io.BytesIO(listing.encode()), say.NOT_MATCHED_FILE)] if listing else []
        )
        await self._edit(interaction, text, files)

    @staticmethod
    async def _edit(
        interaction: discord.Interaction, text: str, files: list[discord.File] | None = None
    ) -> None:
        try:
            if files:
                await interaction.edit_original_response(
                    content=text, attachments=files, allowed_mentions=NO_PINGS
                )
            else:
                await interaction.edit_original_response(content=text, allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            # The token lasts 15 minutes; matching goes on, and /watchlist shows its fruit.
            log.info("Could not edit an import's answer: %s", exc)
