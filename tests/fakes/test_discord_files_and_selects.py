"""The fake Discord's files and select menus, with the real discord.py client."""

from __future__ import annotations

import io
import re
from typing import Any

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakes.discord_server import FakeDiscord

pytestmark = pytest.mark.timeout(30)


class SaveSelect(discord.ui.DynamicItem[discord.ui.Select[Any]], template=r"save:(?P<id>\d+)"):
    """A persistent select: the suggestion's id lives in its custom id."""

    def __init__(self, suggestion_id: int) -> None:
        options = [discord.SelectOption(label=f"Pick {n}", value=str(n)) for n in (1, 2, 3)]
        super().__init__(
            discord.ui.Select(
                custom_id=f"save:{suggestion_id}", placeholder="Save to watchlist…", options=options
            )
        )
        self.suggestion_id = suggestion_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> SaveSelect:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = interaction.client
        assert isinstance(bot, FilesBot)
        bot.saved.append((interaction.user.id, self.suggestion_id, list(self.item.values)))
        await interaction.response.send_message(f"Saved {self.item.values}", ephemeral=True)


class FilesBot(commands.Bot):
    """/count reads an attached file and answers with a file; /offer shows a select."""

    def __init__(self, guild_id: int) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            command_prefix=commands.when_mentioned, intents=intents, guild_ready_timeout=0.1
        )
        self.guild = discord.Object(guild_id)
        self.saved: list[tuple[int, int, list[str]]] = []
        self.errors: list[BaseException] = []

        @app_commands.command(description="Count a file's bytes")
        async def count(interaction: discord.Interaction, file: discord.Attachment) -> None:
            await interaction.response.defer(ephemeral=True)
            try:
                data = await file.read()
            except discord.HTTPException as error:
                self.errors.append(error)
                await interaction.followup.send("gone", ephemeral=True)
                return
            upper = discord.File(io.BytesIO(data.upper()), "upper.txt", description="shouted")
            message = await interaction.followup.send(
                f"{file.filename}: {len(data)} bytes", file=upper, ephemeral=True, wait=True
            )
            await message.edit(content="edited, file kept")

        @app_commands.command(description="Offer picks to save")
        async def offer(interaction: discord.Interaction, options: int = 3) -> None:
            view = discord.ui.View(timeout=None)
            view.add_item(SaveSelect(7))
            if options != 3:  # a select Discord would refuse
                select = discord.ui.Select(
                    custom_id="too-many",
                    options=[discord.SelectOption(label=str(n)) for n in range(options)],
                )
                view = discord.ui.View(timeout=None)
                view.add_item(select)
            await interaction.response.send_message("Picks", view=view)

        self.tree.add_command(count)
        self.tree.add_command(offer)

    async def setup_hook(self) -> None:
        self.add_dynamic_items(SaveSelect)
        self.tree.copy_global_to(guild=self.guild)
        await self.tree.sync(guild=self.guild)

    async def on_app_command_error(self, *args: Any) -> None:  # pragma: no cover - diagnostics
        self.errors.append(RuntimeError(args))


async def test_a_members_file_is_downloaded_and_a_file_attached_to_the_answer() -> None:
    async with FakeDiscord() as fake, fake.running(FilesBot(fake.guild_id)):
        upload = fake.upload("ratings.csv", b"Date,Name\n2024,Alien\n")
        interaction = await fake.dispatch_slash("count", {"file": upload})
        [answer] = await fake.wait_for(lambda: fake.followups(interaction.token))

        assert fake.downloads == [upload.id]
        assert answer.is_ephemeral
        [attached] = answer.attachments
        assert (attached.filename, attached.data) == ("upper.txt", b"DATE,NAME\n2024,ALIEN\n")
        assert attached.description == "shouted"
        await fake.wait_for(lambda: answer.content == "edited, file kept")
        assert answer.attachments == [attached]


async def test_the_declared_option_is_an_attachment_with_resolved_metadata() -> None:
    async with FakeDiscord() as fake, fake.running(FilesBot(fake.guild_id)):
        [declared] = fake.commands[fake.guild_id][0]["options"]
        assert declared["type"] == 11  # discord.py declares a discord.Attachment option so
        upload = fake.upload("a b.csv", b"x")
        interaction = await fake.dispatch_slash("count", {"file": upload})
        resolved = interaction.payload["data"]["resolved"]["attachments"][str(upload.id)]
        assert resolved["size"] == 1
        assert resolved["url"].endswith("/a%20b.csv")


async def test_an_expired_file_answers_404() -> None:
    async with FakeDiscord() as fake, fake.running(bot := FilesBot(fake.guild_id)):
        upload = fake.upload("ratings.csv", b"x")
        upload.is_gone = True
        interaction = await fake.dispatch_slash("count", {"file": upload})
        await fake.wait_for(lambda: fake.followups(interaction.token))
        assert isinstance(bot.errors[0], discord.NotFound)
        assert fake.downloads == []


async def test_a_select_menu_is_kept_and_picking_reaches_its_callback() -> None:
    async with FakeDiscord() as fake, fake.running(bot := FilesBot(fake.guild_id)):
        interaction = await fake.dispatch_slash("offer")
        message = await fake.wait_for(lambda: fake.original(interaction.token))
        menu = message.select_menu("save:7")
        assert menu is not None
        assert [option["value"] for option in menu["options"]] == ["1", "2", "3"]

        picked = await fake.dispatch_select(message.id, "save:7", ["2"], user_id=99)
        await fake.wait_for(lambda: fake.original(picked.token))

        assert bot.saved == [(99, 7, ["2"])]
        assert fake.original(picked.token).is_ephemeral


async def test_a_persistent_select_works_after_a_restart() -> None:
    async with FakeDiscord() as fake:
        async with fake.running(FilesBot(fake.guild_id)):
            interaction = await fake.dispatch_slash("offer")
            message = await fake.wait_for(lambda: fake.original(interaction.token))
        restarted = FilesBot(fake.guild_id)
        async with fake.running(restarted):
            picked = await fake.dispatch_select(message.id, "save:7", ["3"])
            await fake.wait_for(lambda: fake.original(picked.token))
        assert restarted.saved == [(fake.member_id, 7, ["3"])]


async def test_picking_a_value_the_menu_does_not_offer_is_refused() -> None:
    async with FakeDiscord() as fake, fake.running(FilesBot(fake.guild_id)):
        interaction = await fake.dispatch_slash("offer")
        message = await fake.wait_for(lambda: fake.original(interaction.token))
        with pytest.raises(AssertionError, match="not options"):
            await fake.dispatch_select(message.id, "save:7", ["9"])
        with pytest.raises(AssertionError, match="no select menu"):
            await fake.dispatch_select(message.id, "save:8", ["1"])


async def test_a_select_with_more_options_than_discord_allows_is_refused() -> None:
    async with FakeDiscord() as fake, fake.running(FilesBot(fake.guild_id)):
        await fake.dispatch_slash("offer", {"options": 26})
        [callback] = await fake.wait_for_request("POST", r"/interactions/\d+/[^/]+/callback")
        assert callback.status == 400
