"""A fake Discord: REST and gateway websocket on 127.0.0.1 for the real discord.py client.

It speaks just enough of Discord's API v10 for a bot to log in, sync slash commands,
receive interactions and reactions, and answer them (interaction callbacks, webhook
edits and follow-ups, channel message edits, reactions). Every REST request is
recorded with its monotonic time, and the messages the bot made are kept as state,
so tests can assert on what a member would see and on how often it changed.

Usage::

    async with FakeDiscord() as fake, fake.running(bot, token="x"):
        interaction = await fake.dispatch_slash("suggest", {"query": "space"}, user_id=42)
        await fake.wait_for(lambda: fake.original(interaction.token))

Files and select menus (see their sections): `fake.upload(name, data)` makes a file a
member attaches to a slash command option (served over HTTP for the bot to download);
files the bot attaches to a message are kept as `FakeMessage.attachments`;
`fake.dispatch_select(...)` picks from a select menu, checked against the menu.

`fake.running(client)` points discord.py at the fake (`Route.BASE` and
`DiscordWebSocket.DEFAULT_GATEWAY`), logs in, connects, waits for `on_ready`, and on
exit closes the client and restores both. The fake's state outlives a client, so a
second client can be started against it (restart tests).

Gateway frames are plain-text JSON whatever compression the client asks for;
discord.py accepts text frames as they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import re
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import yarl
from aiohttp import WSMsgType, web

API_PREFIX = "/api/v10"
ACK_DEADLINE_SECONDS = 3.0
HEARTBEAT_INTERVAL_MS = 41_250
# Discord's budget for writes of one message, and of one channel's messages (writes, s).
WRITE_BUDGET = (5, 5.0)
TOKEN_LIFETIME_SECONDS = 15 * 60.0
MESSAGE_CONTENT_LIMIT = 2000
EPHEMERAL_FLAG = 64
LOADING_FLAG = 128
DISCORD_EPOCH_MS = 1_420_070_400_000

# Gateway intents the fake respects when dispatching (discord.py's Intents bits).
INTENT_GUILD_MESSAGE_REACTIONS = 1 << 10
INTENT_DIRECT_MESSAGE_REACTIONS = 1 << 13

# Interaction callback types.
CALLBACK_CHANNEL_MESSAGE = 4
CALLBACK_DEFERRED_CHANNEL_MESSAGE = 5
CALLBACK_DEFERRED_UPDATE_MESSAGE = 6
CALLBACK_UPDATE_MESSAGE = 7
CALLBACK_AUTOCOMPLETE_RESULT = 8

# Application command option types, for options given as plain Python values.
OPTION_TYPE_BY_PYTHON_TYPE = {bool: 5, int: 4, float: 10, str: 3}

MESSAGE_FIELDS = ("content", "embeds", "components", "allowed_mentions", "flags")

# Files and select menus (Discord's limits, as its API answers them).
OPTION_TYPE_ATTACHMENT = 11
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
MAX_ATTACHMENTS = 10
COMPONENT_ACTION_ROW = 1
COMPONENT_BUTTON = 2
COMPONENT_STRING_SELECT = 3
MAX_ACTION_ROWS = 5
MAX_BUTTONS_PER_ROW = 5
MAX_SELECT_OPTIONS = 25
CUSTOM_ID_LIMIT = 100
SELECT_OPTION_TEXT_LIMIT = 100
PLACEHOLDER_LIMIT = 150

T = TypeVar("T")

# Default of `guild_id` arguments: the fake's one guild (None means a DM).
IN_THE_GUILD: Any = object()


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class RecordedRequest:
    """One REST request as the fake received it."""

    method: str
    path: str  # without the /api/v10 prefix, percent-decoded (emoji as themselves)
    json: Any
    query: dict[str, str]
    time: float  # time.monotonic() on arrival
    status: int = 0
    message_id: int | None = None  # the message it created, edited, fetched or deleted
    files: list[FakeAttachment] = field(default_factory=list)  # multipart uploads, in order

    def matches(self, method: str, path_regex: str) -> bool:
        return self.method == method.upper() and re.fullmatch(path_regex, self.path) is not None


@dataclass
class FakeAttachment:
    """A file: one a member attached to a command, or one the bot attached to a message."""

    id: int
    filename: str
    data: bytes
    content_type: str | None = None
    description: str | None = None
    is_gone: bool = False  # set it to make the download answer 404, as an expired link does

    @property
    def text(self) -> str:
        return self.data.decode()


@dataclass
class FakeMessage:
    """A message the bot made, as it stands now, with the time of every change."""

    id: int
    channel_id: int
    guild_id: int | None
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    allowed_mentions: dict[str, Any] | None = None
    flags: int = 0
    interaction_token: str | None = None
    webhook_id: int | None = None
    is_deleted: bool = False
    poll: FakePoll | None = None  # see the polls section
    created_at: float = field(default_factory=time.monotonic)
    edited_at: list[float] = field(default_factory=list)
    reactions: set[tuple[str, int]] = field(default_factory=set)  # (emoji, user id)
    attachments: list[FakeAttachment] = field(default_factory=list)

    def select_menu(self, custom_id: str) -> dict[str, Any] | None:
        """The select menu (component type 3) with this custom id, if the message has one."""
        for row in self.components:
            for component in row.get("components", []):
                if (
                    component.get("type") == COMPONENT_STRING_SELECT
                    and component.get("custom_id") == custom_id
                ):
                    return component
        return None

    @property
    def is_ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL_FLAG)

    @property
    def embed_description(self) -> str:
        return "".join(embed.get("description") or "" for embed in self.embeds)

    @property
    def custom_ids(self) -> list[str]:
        """The custom ids of every component on the message (buttons, selects)."""
        found: list[str] = []
        for row in self.components:
            for component in row.get("components", []):
                if "custom_id" in component:
                    found.append(component["custom_id"])
        return found

    def apply(self, payload: dict[str, Any]) -> None:
        """Apply a create or edit payload: fields present are replaced, others kept."""
        if "content" in payload:
            self.content = payload["content"] or ""
        for name in ("embeds", "components"):
            if name in payload:
                setattr(self, name, payload[name] or [])
        if "allowed_mentions" in payload:
            self.allowed_mentions = payload["allowed_mentions"]
        if "flags" in payload:
            self.flags = payload["flags"] or 0


@dataclass
class FakeInteraction:
    """An interaction the fake dispatched, and how the bot answered it."""

    id: int
    token: str
    type: int
    user_id: int
    guild_id: int | None
    channel_id: int
    payload: dict[str, Any]
    dispatched_at: float
    callback_type: int | None = None
    callback_data: dict[str, Any] | None = None
    callback_at: float | None = None

    @property
    def is_acknowledged(self) -> bool:
        return self.callback_type is not None

    @property
    def autocomplete_choices(self) -> list[dict[str, Any]] | None:
        if self.callback_type != CALLBACK_AUTOCOMPLETE_RESULT or self.callback_data is None:
            return None
        return self.callback_data.get("choices", [])


@dataclass
class _RateLimitRule:
    method: str
    path_regex: str
    remaining: int
    retry_after: float


@dataclass
class _GatewaySession:
    socket: web.WebSocketResponse
    session_id: str
    intents: int = 0
    is_ready: bool = False
    sequence: int = 0
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class FakeDiscord:
    """REST + gateway fake of Discord on 127.0.0.1 with a free port."""

    def __init__(
        self,
        *,
        ack_deadline: float = ACK_DEADLINE_SECONDS,
        write_budget: tuple[int, float] = WRITE_BUDGET,
        token_lifetime: float = TOKEN_LIFETIME_SECONDS,
    ) -> None:
        self._ids = itertools.count(1)
        self.ack_deadline = ack_deadline
        # Writes Discord accepts per message, and per channel on the bot-token routes,
        # within a sliding window (writes, seconds); more are answered with a 429.
        self.write_budget = write_budget
        # Seconds an interaction's token may be used for webhook writes (Discord: 15 min).
        self.token_lifetime = token_lifetime
        self._recent_writes: dict[tuple[str, int], list[float]] = {}
        self.application_id = self.new_id()
        self.bot_user_id = self.application_id
        self.owner_id = self.new_id()
        self.guild_id = self.new_id()
        self.channel_id = self.new_id()
        self.member_id = self.new_id()  # a member to act as in tests; any id works
        self.requests: list[RecordedRequest] = []
        self.messages: dict[int, FakeMessage] = {}
        self.interactions: dict[str, FakeInteraction] = {}  # by token
        self.commands: dict[int | None, list[dict[str, Any]]] = {}  # by guild id; None = global
        self.identify_payloads: list[dict[str, Any]] = []
        self._originals: dict[str, int] = {}  # interaction token -> message id
        self.uploads: dict[int, FakeAttachment] = {}  # every file, by id (members' and bot's)
        self.downloads: list[int] = []  # ids of the files fetched over HTTP, in order
        self._followups: dict[str, list[int]] = {}
        self._rate_limits: list[_RateLimitRule] = []
        # (method, path pattern) -> the error Discord answers such requests with.
        self._refusals: dict[tuple[str, str], _ApiError] = {}
        # Polls: answer a message with a poll with 403 Missing Permissions (no SEND_POLLS),
        # and how many real seconds one hour of a poll's duration lasts here.
        self.refuse_polls = False
        self.poll_hour_seconds = 3600.0
        self._sessions: list[_GatewaySession] = []
        self._changed = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self.url = ""

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._download)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for session in list(self._sessions):
            await session.socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return self.url + API_PREFIX

    @property
    def gateway_url(self) -> yarl.URL:
        return yarl.URL(self.url.replace("http://", "ws://") + "/gateway")

    @contextlib.contextmanager
    def patched_discord(self):
        """Point discord.py's REST base and gateway at this fake; restore on exit."""
        import discord.gateway
        import discord.http

        old_base = discord.http.Route.BASE
        old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = self.gateway_url
        try:
            yield
        finally:
            discord.http.Route.BASE = old_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    @contextlib.asynccontextmanager
    async def running(
        self, client: Any, *, token: str = "fake-token", ready_timeout: float = 10.0
    ) -> AsyncIterator[Any]:
        """Log `client` in against the fake, connect it, wait until ready; close on exit."""
        with self.patched_discord():
            connection: asyncio.Task[None] | None = None
            try:
                await client.login(token)
                connection = asyncio.create_task(client.connect(reconnect=False))
                ready = asyncio.create_task(client.wait_until_ready())
                done, _ = await asyncio.wait(
                    {ready, connection},
                    timeout=ready_timeout,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if ready not in done:
                    ready.cancel()
                    if connection in done:
                        connection.result()  # raise the connection's error
                    raise TimeoutError("the client did not become ready against the fake")
                yield client
            finally:
                await client.close()
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(connection, timeout=5)

    # ------------------------------------------------------------------ waiting

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the condition, not for I/O
        *,
        recheck: float = 0.02,
    ) -> T:
        """Wait until `predicate()` is truthy and return its value, or raise TimeoutError.

        The predicate is re-checked on every recorded request and gateway change, and
        every `recheck` seconds for conditions on the bot's own state (its database)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            changed = self._changed
            result = predicate()
            if result:
                return result
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"fake Discord: condition not met within {timeout}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(remaining, recheck))

    async def wait_for_request(
        self,
        method: str,
        path_regex: str,
        *,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[RecordedRequest]:
        """Wait until at least `count` requests matching `method` and `path_regex` arrived."""

        def matching() -> list[RecordedRequest] | None:
            found = self.requests_matching(method, path_regex)
            return found if len(found) >= count else None

        return await self.wait_for(matching, timeout)

    # ------------------------------------------------------------------ queries

    def new_id(self) -> int:
        """A fresh snowflake (time-based, so discord.py's created_at is sensible)."""
        now_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (now_ms << 22) | (next(self._ids) & 0x3FFFFF)

    def requests_matching(self, method: str, path_regex: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.matches(method, path_regex)]

    def original(self, token: str) -> FakeMessage | None:
        """The interaction's original response message, if one was made."""
        message_id = self._originals.get(token)
        return None if message_id is None else self.messages[message_id]

    def followups(self, token: str) -> list[FakeMessage]:
        return [self.messages[message_id] for message_id in self._followups.get(token, [])]

    def replies(self, token: str) -> list[FakeMessage]:
        """The original response and every follow-up, in order."""
        original = self.original(token)
        return ([original] if original else []) + self.followups(token)

    def message_writes(self, message_id: int) -> list[RecordedRequest]:
        """The successful requests that created or edited this message, in order."""
        return [
            request
            for request in self.requests
            if request.message_id == message_id
            and request.method in ("POST", "PATCH")
            and 200 <= request.status < 300
        ]

    def sent_payloads(self) -> list[RecordedRequest]:
        """Every request that sent or edited message content (for allowed_mentions checks)."""
        return [
            request
            for request in self.requests
            if isinstance(request.json, dict)
            and (
                request.matches("POST", r"/webhooks/\d+/[^/]+")
                or request.matches("PATCH", r"/webhooks/\d+/[^/]+/messages/.+")
                or request.matches("POST", r"/channels/\d+/messages")
                or request.matches("PATCH", r"/channels/\d+/messages/\d+")
                or (
                    request.matches("POST", r"/interactions/\d+/[^/]+/callback")
                    and request.json.get("type")
                    in (CALLBACK_CHANNEL_MESSAGE, CALLBACK_UPDATE_MESSAGE)
                )
            )
        ]

    @property
    def ready_sessions(self) -> int:
        return sum(1 for session in self._sessions if session.is_ready)

    # ------------------------------------------------------------------ test controls

    def rate_limit(
        self, method: str, path_regex: str, times: int = 1, retry_after: float = 0.3
    ) -> None:
        """Answer the next `times` requests matching `method` + `path_regex` with a 429."""
        self._rate_limits.append(_RateLimitRule(method.upper(), path_regex, times, retry_after))

    def register_command(self, name: str, *, guild_id: int | None = None) -> dict[str, Any]:
        """Make a command known without a sync (as if synced in an earlier run)."""
        command = {"id": str(self.new_id()), "name": name, "type": 1, "options": []}
        self.commands.setdefault(guild_id, []).append(command)
        return command

    async def dispatch_slash(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        user_id: int | None = None,
        *,
        guild_id: int | None = IN_THE_GUILD,
        channel_id: int | None = None,
    ) -> FakeInteraction:
        """Send an application command interaction (type 2) over the gateway."""
        command = self._find_command(name, guild_id)
        data: dict[str, Any] = {
            "id": command["id"] if command else str(self.new_id()),
            "name": name,
            "type": 1,
            "options": self._command_options(command, options or {}),
        }
        resolved_guild = self.guild_id if guild_id is IN_THE_GUILD else guild_id
        if command and command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        attachments = self._resolved_attachments(options or {}, channel_id or self.channel_id)
        if attachments:
            data["resolved"] = {"attachments": attachments}
        return await self._dispatch_interaction(2, data, user_id, resolved_guild, channel_id)

    async def dispatch_autocomplete(
        self,
        name: str,
        options: dict[str, Any],
        focused: str,
        user_id: int | None = None,
        *,
        guild_id: int | None = IN_THE_GUILD,
        channel_id: int | None = None,
    ) -> FakeInteraction:
        """Send an autocomplete interaction (type 4) with `focused` as the focused option."""
        command = self._find_command(name, guild_id)
        data_options = self._command_options(command, options)
        for option in data_options:
            if option["name"] == focused:
                option["focused"] = True
                option["type"] = 3 if option["type"] != 4 else 4
                option["value"] = str(option["value"])
        data: dict[str, Any] = {
            "id": command["id"] if command else str(self.new_id()),
            "name": name,
            "type": 1,
            "options": data_options,
        }
        if command and command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        resolved_guild = self.guild_id if guild_id is IN_THE_GUILD else guild_id
        return await self._dispatch_interaction(4, data, user_id, resolved_guild, channel_id)

    async def dispatch_component(
        self,
        custom_id: str,
        message_id: int,
        user_id: int | None = None,
        *,
        component_type: int = 2,
        values: list[str] | None = None,
    ) -> FakeInteraction:
        """Press a button (or pick from a select) on a message the bot made."""
        message = self.messages[message_id]
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        return await self._dispatch_interaction(
            3,
            data,
            user_id,
            message.guild_id,
            message.channel_id,
            message=self._message_json(message),
        )

    async def dispatch_reaction_add(
        self,
        user_id: int,
        message_id: int,
        channel_id: int | None = None,
        emoji: str = "👍",
        *,
        guild_id: int | None = IN_THE_GUILD,
    ) -> None:
        """A member added a reaction (the raw MESSAGE_REACTION_ADD event)."""
        await self._dispatch_reaction(
            "MESSAGE_REACTION_ADD", user_id, message_id, channel_id, emoji, guild_id
        )

    async def dispatch_reaction_remove(
        self,
        user_id: int,
        message_id: int,
        channel_id: int | None = None,
        emoji: str = "👍",
        *,
        guild_id: int | None = IN_THE_GUILD,
    ) -> None:
        """A member removed a reaction (the raw MESSAGE_REACTION_REMOVE event)."""
        await self._dispatch_reaction(
            "MESSAGE_REACTION_REMOVE", user_id, message_id, channel_id, emoji, guild_id
        )

    async def dispatch_event(self, event: str, data: dict[str, Any], *, intent: int = 0) -> int:
        """Send a DISPATCH to every ready session (with `intent`, if one is given);
        return how many sessions got it."""
        sent = 0
        for session in list(self._sessions):
            if not session.is_ready or (intent and not session.intents & intent):
                continue
            await self._send_dispatch(session, event, data)
            sent += 1
        self._notify()
        return sent

    # ------------------------------------------------------------------ files (issue 18)
    # A member's file reaches a bot as a slash command option of type 11: the option's
    # value is the attachment's id, and `data.resolved.attachments` holds its metadata
    # with a CDN URL the bot downloads (here, served by the fake). A bot attaches files
    # with a multipart request: `payload_json` plus `files[n]`, each referenced by
    # `{"id": n}` in the payload's `attachments`; an edit keeps an existing attachment
    # by listing its id, and drops the ones it leaves out.

    def upload(
        self, filename: str, data: bytes, *, content_type: str | None = "text/csv"
    ) -> FakeAttachment:
        """A file a member attaches; pass it as a slash command option's value."""
        attachment = FakeAttachment(self.new_id(), filename, data, content_type)
        self.uploads[attachment.id] = attachment
        return attachment

    def attachment_json(self, attachment: FakeAttachment, channel_id: int) -> dict[str, Any]:
        """An attachment as Discord describes it (discord.py insists on these fields)."""
        url = (
            f"{self.url}/attachments/{channel_id}/{attachment.id}/"
            f"{urllib.parse.quote(attachment.filename)}"
        )
        data: dict[str, Any] = {
            "id": str(attachment.id),
            "filename": attachment.filename,
            "size": len(attachment.data),
            "url": url,
            "proxy_url": url,
        }
        if attachment.content_type is not None:
            data["content_type"] = attachment.content_type
        if attachment.description is not None:
            data["description"] = attachment.description
        return data

    def _resolved_attachments(
        self, options: dict[str, Any], channel_id: int
    ) -> dict[str, dict[str, Any]]:
        return {
            str(value.id): {**self.attachment_json(value, channel_id), "ephemeral": True}
            for value in options.values()
            if isinstance(value, FakeAttachment)
        }

    @staticmethod
    def _form_files(form: Any) -> list[FakeAttachment]:
        """The `files[n]` parts of a multipart form, by n (ids are given when attached)."""
        found: list[tuple[int, FakeAttachment]] = []
        for name, value in form.items():
            index = re.fullmatch(r"files\[(\d+)\]", name)
            if index is None or not isinstance(value, web.FileField):
                continue
            attachment = FakeAttachment(0, value.filename, value.file.read(), value.content_type)
            found.append((int(index.group(1)), attachment))
        return [attachment for _, attachment in sorted(found, key=lambda item: item[0])]

    def _attach(
        self, message: FakeMessage, payload: dict[str, Any], files: list[FakeAttachment]
    ) -> None:
        """Apply a payload's `attachments` (kept ones by id, new ones by file index)."""
        listed = payload.get("attachments")
        if listed is None and not files:
            return
        kept = {attachment.id: attachment for attachment in message.attachments}
        attached: list[FakeAttachment] = []
        for item in listed if listed is not None else [{"id": n} for n in range(len(files))]:
            reference = int(item["id"])
            if reference in kept:
                attached.append(kept[reference])
            elif 0 <= reference < len(files):
                new = files[reference]
                new.id = self.new_id()
                new.description = item.get("description")
                self.uploads[new.id] = new
                attached.append(new)
            else:
                raise _ApiError(400, 50035, f"Invalid Form Body: attachments: unknown {reference}")
        if len(attached) > MAX_ATTACHMENTS:
            raise _ApiError(400, 50035, "Invalid Form Body: attachments: too many")
        if any(len(attachment.data) > ATTACHMENT_SIZE_LIMIT for attachment in attached):
            raise _ApiError(413, 40005, "Request entity too large")
        message.attachments = attached

    async def _download(self, request: web.Request) -> web.Response:
        """The CDN: a file's bytes, 404 for an unknown or expired one."""
        attachment = self.uploads.get(int(request.match_info["attachment_id"]))
        if attachment is None or attachment.is_gone:
            return web.Response(status=404, text="Not Found")
        self.downloads.append(attachment.id)
        self._notify()
        return web.Response(
            body=attachment.data,
            headers={"Content-Type": attachment.content_type or "application/octet-stream"},
        )

    # ------------------------------------------------------------------ select menus (issue 18)
    # A string select (component type 3) sits alone in an action row; picking from it
    # sends a component interaction with `values`, which Discord checks against the
    # menu's options and its min_values/max_values, as `dispatch_select` does here.

    async def dispatch_select(
        self,
        message_id: int,
        custom_id: str,
        values: list[str],
        user_id: int | None = None,
    ) -> FakeInteraction:
        """A member picks `values` from the message's select menu `custom_id`."""
        message = self.messages[message_id]
        menu = message.select_menu(custom_id)
        if menu is None:
            raise AssertionError(f"message {message_id} has no select menu {custom_id!r}")
        if menu.get("disabled"):
            raise AssertionError(f"the select menu {custom_id!r} is disabled")
        offered = [option["value"] for option in menu.get("options", [])]
        unknown = [value for value in values if value not in offered]
        if unknown:
            raise AssertionError(f"{unknown} are not options of {custom_id!r}: {offered}")
        if not menu.get("min_values", 1) <= len(values) <= menu.get("max_values", 1):
            raise AssertionError(f"{len(values)} values for {custom_id!r} break its min/max")
        return await self.dispatch_component(
            custom_id,
            message_id,
            user_id,
            component_type=COMPONENT_STRING_SELECT,
            values=values,
        )

    # ------------------------------------------------------------------ payloads

    def user_json(self, user_id: int) -> dict[str, Any]:
        is_bot = user_id == self.bot_user_id
        return {
            "id": str(user_id),
            "username": "suggest.watch" if is_bot else f"member{user_id % 10_000}",
            "global_name": None,
            "discriminator": "0",
            "avatar": None,
            "bot": is_bot,
            "public_flags": 0,
            "flags": 0,
        }

    def member_json(self, user_id: int) -> dict[str, Any]:
        return {
            "user": self.user_json(user_id),
            "roles": [],
            "joined_at": _now_iso(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "permissions": str((1 << 41) - 1),
        }

    def _channel_json(self, channel_id: int, guild_id: int | None) -> dict[str, Any]:
        if guild_id is None:
            return {"id": str(channel_id), "type": 1, "recipients": [], "last_message_id": None}
        return {
            "id": str(channel_id),
            "type": 0,
            "guild_id": str(guild_id),
            "name": "general",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
        }

    def _guild_json(self) -> dict[str, Any]:
        return {
            "id": str(self.guild_id),
            "name": "Fake Guild",
            "icon": None,
            "owner_id": str(self.owner_id),
            "unavailable": False,
            "large": False,
            "member_count": 2,
            "joined_at": _now_iso(),
            "members": [self.member_json(self.bot_user_id)],
            "channels": [self._channel_json(self.channel_id, self.guild_id)],
            "threads": [],
            "roles": [
                {
                    "id": str(self.guild_id),
                    "name": "@everyone",
                    "permissions": str((1 << 41) - 1),
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                }
            ],
            "emojis": [],
            "stickers": [],
            "features": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "verification_level": 0,
            "explicit_content_filter": 0,
            "default_message_notifications": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "system_channel_flags": 0,
        }

    def _message_json(self, message: FakeMessage) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(message.id),
            "channel_id": str(message.channel_id),
            "type": 20 if message.interaction_token else 0,
            "content": message.content,
            "embeds": message.embeds,
            "components": message.components,
            "flags": message.flags,
            "author": self.user_json(self.bot_user_id),
            "attachments": [
                self.attachment_json(attachment, message.channel_id)
                for attachment in message.attachments
            ],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": _now_iso(),
            "edited_timestamp": _now_iso() if message.edited_at else None,
            "application_id": str(self.application_id),
        }
        if message.webhook_id is not None:
            data["webhook_id"] = str(message.webhook_id)
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
        if message.poll is not None:
            data["poll"] = message.poll.to_json()
        return data

    def _find_command(self, name: str, guild_id: int | None) -> dict[str, Any] | None:
        target_guild = self.guild_id if guild_id is IN_THE_GUILD else guild_id
        for scope in (target_guild, None):
            for command in self.commands.get(scope, []):
                if command["name"] == name:
                    return command
        return None

    @staticmethod
    def _command_options(
        command: dict[str, Any] | None, options: dict[str, Any]
    ) -> list[dict[str, Any]]:
        declared = {option["name"]: option for option in (command or {}).get("options", [])}
        built = []
        for option_name, value in options.items():
            if isinstance(value, FakeAttachment):
                built.append(
                    {"name": option_name, "type": OPTION_TYPE_ATTACHMENT, "value": str(value.id)}
                )
                continue
            option_type = declared.get(option_name, {}).get("type")
            if option_type is None:
                option_type = OPTION_TYPE_BY_PYTHON_TYPE[type(value)]
            built.append({"name": option_name, "type": option_type, "value": value})
        return built

    async def _dispatch_interaction(
        self,
        interaction_type: int,
        data: dict[str, Any],
        user_id: int | None,
        guild_id: int | None,
        channel_id: int | None,
        *,
        message: dict[str, Any] | None = None,
    ) -> FakeInteraction:
        user_id = self.member_id if user_id is None else user_id
        if channel_id is None:
            channel_id = self.channel_id if guild_id is not None else self.new_id()
        interaction_id = self.new_id()
        token = f"token-{interaction_id}"
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": interaction_type,
            "token": token,
            "version": 1,
            "attachment_size_limit": 8 * 1024 * 1024,
            "data": data,
            "channel_id": str(channel_id),
            "channel": self._channel_json(channel_id, guild_id),
            "locale": "en-US",
            "app_permissions": str((1 << 41) - 1),
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild_id or 0)},
            "context": 0 if guild_id is not None else 1,
        }
        if guild_id is not None:
            payload["guild_id"] = str(guild_id)
            payload["guild_locale"] = "en-US"
            payload["member"] = self.member_json(user_id)
        else:
            payload["user"] = self.user_json(user_id)
        if message is not None:
            payload["message"] = message
        interaction = FakeInteraction(
            id=interaction_id,
            token=token,
            type=interaction_type,
            user_id=user_id,
            guild_id=guild_id,
            channel_id=channel_id,
            payload=payload,
            dispatched_at=time.monotonic(),
        )
        self.interactions[token] = interaction
        if await self.dispatch_event("INTERACTION_CREATE", payload) == 0:
            raise RuntimeError("fake Discord: no ready gateway session to dispatch to")
        return interaction

    async def _dispatch_reaction(
        self,
        event: str,
        user_id: int,
        message_id: int,
        channel_id: int | None,
        emoji: str,
        guild_id: Any,
    ) -> None:
        known = self.messages.get(message_id)
        if channel_id is None:
            channel_id = known.channel_id if known else self.channel_id
        if guild_id is IN_THE_GUILD:
            guild_id = known.guild_id if known else self.guild_id
        data: dict[str, Any] = {
            "user_id": str(user_id),
            "channel_id": str(channel_id),
            "message_id": str(message_id),
            "emoji": {"id": None, "name": emoji},
            "burst": False,
            "type": 0,
        }
        intent = INTENT_DIRECT_MESSAGE_REACTIONS
        if guild_id is not None:
            data["guild_id"] = str(guild_id)
            intent = INTENT_GUILD_MESSAGE_REACTIONS
            if event == "MESSAGE_REACTION_ADD":
                data["member"] = self.member_json(user_id)
        if known is not None and event == "MESSAGE_REACTION_ADD":
            data["message_author_id"] = str(self.bot_user_id)
        await self.dispatch_event(event, data, intent=intent)

    # ------------------------------------------------------------------ gateway

    async def _send_dispatch(self, session: _GatewaySession, event: str, data: Any) -> None:
        async with session.send_lock:
            session.sequence += 1
            frame = {"op": 0, "t": event, "s": session.sequence, "d": data}
            await session.socket.send_str(json.dumps(frame))

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        session = _GatewaySession(socket=socket, session_id=f"session-{self.new_id()}")
        self._sessions.append(session)
        try:
            await socket.send_str(
                json.dumps({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}})
            )
            async for frame in socket:
                if frame.type is not WSMsgType.TEXT:
                    continue
                await self._on_gateway_frame(session, json.loads(frame.data))
        finally:
            self._sessions.remove(session)
            self._notify()
        return socket

    async def _on_gateway_frame(self, session: _GatewaySession, frame: dict[str, Any]) -> None:
        op = frame.get("op")
        if op == 1:  # heartbeat
            async with session.send_lock:
                await session.socket.send_str(json.dumps({"op": 11}))
        elif op == 2:  # identify
            self.identify_payloads.append(frame["d"])
            session.intents = frame["d"].get("intents", 0)
            await self._send_dispatch(session, "READY", self._ready_json(session))
            await self._send_dispatch(session, "GUILD_CREATE", self._guild_json())
            session.is_ready = True
            self._notify()
        elif op == 6:  # resume
            await self._send_dispatch(session, "RESUMED", {})
            session.is_ready = True
            self._notify()

    def _ready_json(self, session: _GatewaySession) -> dict[str, Any]:
        return {
            "v": 10,
            "user": self.user_json(self.bot_user_id),
            "guilds": [{"id": str(self.guild_id), "unavailable": True}],
            "session_id": session.session_id,
            "resume_gateway_url": str(self.gateway_url),
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
        }

    # ------------------------------------------------------------------ REST

    async def _rest(self, request: web.Request) -> web.Response:
        path = request.path[len(API_PREFIX) :]
        body, files = await self._read_body(request)
        recorded = RecordedRequest(
            method=request.method,
            path=path,
            json=body,
            query=dict(request.query),
            time=time.monotonic(),
            files=files,
        )
        self.requests.append(recorded)
        try:
            response = self._rate_limited(recorded) or self._route(recorded)
        except _OverBudget as over:
            response = _too_many_requests(over.retry_after, over.bucket, self.write_budget[0])
        except _ApiError as error:
            response = _json_response(
                {"message": error.message, "code": error.code}, status=error.status
            )
        recorded.status = response.status
        self._notify()
        return response

    async def _read_body(self, request: web.Request) -> tuple[Any, list[FakeAttachment]]:
        """The request's JSON (or multipart `payload_json`) and the files sent with it."""
        if not request.can_read_body:
            return None, []
        if request.content_type == "application/json":
            return await request.json(), []
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            raw = form.get("payload_json")
            return (json.loads(raw) if isinstance(raw, str) else None), self._form_files(form)
        return None, []

    def _rate_limited(self, recorded: RecordedRequest) -> web.Response | None:
        for rule in self._rate_limits:
            if rule.remaining > 0 and recorded.matches(rule.method, rule.path_regex):
                rule.remaining -= 1
                return _too_many_requests(rule.retry_after, "fake-bucket", 5)
        return None

    def _spend_write(self, recorded: RecordedRequest, scope: str, key: int) -> None:
        """Count one write of a message or channel; over the budget, refuse it (429)."""
        writes, window = self.write_budget
        since = recorded.time - window
        recent = [t for t in self._recent_writes.get((scope, key), []) if t > since]
        if len(recent) >= writes:
            self._recent_writes[(scope, key)] = recent
            raise _OverBudget(recent[-writes] + window - recorded.time, f"{scope}-{key}")
        recent.append(recorded.time)
        self._recent_writes[(scope, key)] = recent

    @staticmethod
    def _check_content(payload: dict[str, Any] | None) -> None:
        """Discord refuses a message longer than its limit with a 400, as here."""
        content = (payload or {}).get("content") or ""
        if len(content) > MESSAGE_CONTENT_LIMIT:
            raise _ApiError(
                400,
                50035,
                f"Invalid Form Body: content: Must be {MESSAGE_CONTENT_LIMIT} or fewer in length.",
            )
        _check_components((payload or {}).get("components"))

    def _check_token(self, recorded: RecordedRequest, interaction: FakeInteraction) -> None:
        if recorded.time - interaction.dispatched_at > self.token_lifetime:
            raise _ApiError(401, 50027, "Invalid Webhook Token")

    def refuse(self, method: str, path_pattern: str, status: int, code: int, message: str) -> None:
        """From now on, answer `method` requests whose API path fully matches the regular
        expression `path_pattern` with this error, as Discord refuses them."""
        self._refusals[method, path_pattern] = _ApiError(status, code, message)

    def _route(self, recorded: RecordedRequest) -> web.Response:
        for (method, pattern), refusal in self._refusals.items():
            if recorded.method == method and re.fullmatch(pattern, recorded.path):
                raise refusal
        for method, pattern, handler in self._routes():
            if recorded.method != method:
                continue
            match = re.fullmatch(pattern, recorded.path)
            if match:
                return handler(recorded, *match.groups())
        raise _ApiError(
            404, 0, f"404: Not Found (fake Discord has no {recorded.method} {recorded.path})"
        )

    def _routes(self) -> list[tuple[str, str, Callable[..., web.Response]]]:
        webhook = r"/webhooks/(\d+)/([^/]+)"
        return [
            ("GET", r"/users/@me", self._get_me),
            ("GET", r"/oauth2/applications/@me", self._get_application),
            ("GET", r"/gateway(?:/bot)?", self._get_gateway),
            ("GET", r"/applications/(\d+)/commands", self._get_commands),
            ("GET", r"/applications/(\d+)/guilds/(\d+)/commands", self._get_commands),
            ("PUT", r"/applications/(\d+)/commands", self._put_commands),
            ("PUT", r"/applications/(\d+)/guilds/(\d+)/commands", self._put_commands),
            ("POST", r"/interactions/(\d+)/([^/]+)/callback", self._post_callback),
            ("GET", webhook + r"/messages/(@original|\d+)", self._get_webhook_message),
            ("PATCH", webhook + r"/messages/(@original|\d+)", self._patch_webhook_message),
            ("DELETE", webhook + r"/messages/(@original|\d+)", self._delete_webhook_message),
            ("POST", webhook, self._post_followup),
            ("POST", r"/channels/(\d+)/messages", self._post_channel_message),
            ("GET", r"/channels/(\d+)/messages/(\d+)", self._get_channel_message),
            ("PATCH", r"/channels/(\d+)/messages/(\d+)", self._patch_channel_message),
            ("PUT", r"/channels/(\d+)/messages/(\d+)/reactions/([^/]+)/@me", self._put_reaction),
            (
                "DELETE",
                r"/channels/(\d+)/messages/(\d+)/reactions/([^/]+)/@me",
                self._delete_reaction,
            ),
            *self._poll_routes(),
        ]

    def _get_me(self, _: RecordedRequest) -> web.Response:
        return _json_response(self.user_json(self.bot_user_id))

    def _get_application(self, _: RecordedRequest) -> web.Response:
        return _json_response(
            {
                "id": str(self.application_id),
                "name": "suggest.watch",
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": self.user_json(self.owner_id),
                "verify_key": "0" * 64,
                "flags": 0,
                "team": None,
                "interactions_endpoint_url": None,
                "rpc_origins": [],
            }
        )

    def _get_gateway(self, _: RecordedRequest) -> web.Response:
        return _json_response(
            {
                "url": str(self.gateway_url),
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    def _check_application(self, application_id: str) -> None:
        if int(application_id) != self.application_id:
            raise _ApiError(404, 10002, "Unknown Application")

    def _get_commands(
        self, _: RecordedRequest, application_id: str, guild_id: str | None = None
    ) -> web.Response:
        self._check_application(application_id)
        return _json_response(self.commands.get(int(guild_id) if guild_id else None, []))

    def _put_commands(
        self, recorded: RecordedRequest, application_id: str, guild_id: str | None = None
    ) -> web.Response:
        self._check_application(application_id)
        scope = int(guild_id) if guild_id else None
        stored = []
        for command in recorded.json or []:
            stored_command = {
                **command,
                "id": str(self.new_id()),
                "application_id": str(self.application_id),
                "version": str(self.new_id()),
                "description": command.get("description", ""),
                "options": command.get("options", []),
            }
            if guild_id:
                stored_command["guild_id"] = guild_id
            stored.append(stored_command)
        self.commands[scope] = stored
        return _json_response(stored)

    def _interaction_by_token(self, token: str) -> FakeInteraction:
        interaction = self.interactions.get(token)
        if interaction is None:
            raise _ApiError(404, 10015, "Unknown Webhook")
        return interaction

    def _post_callback(
        self, recorded: RecordedRequest, interaction_id: str, token: str
    ) -> web.Response:
        interaction = self.interactions.get(token)
        if interaction is None or interaction.id != int(interaction_id):
            raise _ApiError(404, 10062, "Unknown interaction")
        if interaction.is_acknowledged:
            raise _ApiError(400, 40060, "Interaction has already been acknowledged.")
        if recorded.time - interaction.dispatched_at > self.ack_deadline:
            raise _ApiError(404, 10062, "Unknown interaction")
        body = recorded.json or {}
        callback_type = body.get("type")
        data = body.get("data") or {}
        self._check_content(data)
        interaction.callback_type = callback_type
        interaction.callback_data = data
        interaction.callback_at = recorded.time

        message: FakeMessage | None = None
        if callback_type in (CALLBACK_CHANNEL_MESSAGE, CALLBACK_DEFERRED_CHANNEL_MESSAGE):
            message = self._new_message(interaction.channel_id, interaction.guild_id, token)
            if callback_type == CALLBACK_DEFERRED_CHANNEL_MESSAGE:
                message.flags = LOADING_FLAG | (data.get("flags", 0) & EPHEMERAL_FLAG)
            else:
                message.apply(data)
                self._attach(message, data, recorded.files)
            self._originals[token] = message.id
        elif callback_type in (CALLBACK_UPDATE_MESSAGE, CALLBACK_DEFERRED_UPDATE_MESSAGE):
            source = interaction.payload.get("message")
            message = self.messages.get(int(source["id"])) if source else None
            if message is not None:
                # A component's interaction answers on the message the component is on.
                self._originals[token] = message.id
            if message is not None and callback_type == CALLBACK_UPDATE_MESSAGE:
                message.apply(data)
                self._attach(message, data, recorded.files)
                message.edited_at.append(recorded.time)
        if message is not None:
            recorded.message_id = message.id

        answer: dict[str, Any] = {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.type,
                "response_message_loading": callback_type == CALLBACK_DEFERRED_CHANNEL_MESSAGE,
                "response_message_ephemeral": bool(message and message.is_ephemeral),
            }
        }
        if message is not None:
            answer["interaction"]["response_message_id"] = str(message.id)
            answer["resource"] = {"type": callback_type, "message": self._message_json(message)}
        return _json_response(answer)

    def _new_message(self, channel_id: int, guild_id: int | None, token: str | None) -> FakeMessage:
        message = FakeMessage(
            id=self.new_id(),
            channel_id=channel_id,
            guild_id=guild_id,
            interaction_token=token,
            webhook_id=self.application_id if token else None,
        )
        self.messages[message.id] = message
        return message

    def _webhook_message(
        self, recorded: RecordedRequest, application_id: str, token: str, which: str
    ) -> FakeMessage:
        self._check_application(application_id)
        self._check_token(recorded, self._interaction_by_token(token))
        message_id = self._originals.get(token) if which == "@original" else int(which)
        message = self.messages.get(message_id) if message_id is not None else None
        is_answer = message is not None and (
            message.interaction_token == token or self._originals.get(token) == message.id
        )
        if message is None or message.is_deleted or not is_answer:
            raise _ApiError(404, 10008, "Unknown Message")
        return message

    def _get_webhook_message(
        self, recorded: RecordedRequest, application_id: str, token: str, which: str
    ) -> web.Response:
        message = self._webhook_message(recorded, application_id, token, which)
        recorded.message_id = message.id
        return _json_response(self._message_json(message))

    def _patch_webhook_message(
        self, recorded: RecordedRequest, application_id: str, token: str, which: str
    ) -> web.Response:
        message = self._webhook_message(recorded, application_id, token, which)
        self._check_content(recorded.json)
        self._spend_write(recorded, "message", message.id)
        payload = recorded.json or {}
        message.apply(payload)
        self._attach(message, payload, recorded.files)
        message.flags &= ~LOADING_FLAG
        message.edited_at.append(recorded.time)
        recorded.message_id = message.id
        return _json_response(self._message_json(message))

    def _delete_webhook_message(
        self, recorded: RecordedRequest, application_id: str, token: str, which: str
    ) -> web.Response:
        message = self._webhook_message(recorded, application_id, token, which)
        message.is_deleted = True
        recorded.message_id = message.id
        return web.Response(status=204)

    def _post_followup(
        self, recorded: RecordedRequest, application_id: str, token: str
    ) -> web.Response:
        self._check_application(application_id)
        interaction = self._interaction_by_token(token)
        if not interaction.is_acknowledged:
            raise _ApiError(404, 10015, "Unknown Webhook")
        self._check_token(recorded, interaction)
        self._check_content(recorded.json)
        message = self._new_message(interaction.channel_id, interaction.guild_id, token)
        message.apply(recorded.json or {})
        self._attach(message, recorded.json or {}, recorded.files)
        self._followups.setdefault(token, []).append(message.id)
        recorded.message_id = message.id
        return _json_response(self._message_json(message))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _channel_message(self, channel_id: str, message_id: str) -> FakeMessage:
        message = self.messages.get(int(message_id))
        if message is None or message.is_deleted or message.channel_id != int(channel_id):
            raise _ApiError(404, 10008, "Unknown Message")
        return message

    def _post_channel_message(self, recorded: RecordedRequest, channel_id: str) -> web.Response:
        self._check_content(recorded.json)
        self._check_poll(recorded.json)
        self._spend_write(recorded, "channel", int(channel_id))
        message = self._new_message(int(channel_id), self.guild_id, None)
        message.apply(recorded.json or {})
        self._attach(message, recorded.json or {}, recorded.files)
        if (recorded.json or {}).get("poll"):
            message.poll = FakePoll.from_create(recorded.json["poll"], self.poll_hour_seconds)
        recorded.message_id = message.id
        return _json_response(self._message_json(message))

    def _get_channel_message(
        self, recorded: RecordedRequest, channel_id: str, message_id: str
    ) -> web.Response:
        message = self._channel_message(channel_id, message_id)
        recorded.message_id = message.id
        return _json_response(self._message_json(message))

    def _patch_channel_message(
        self, recorded: RecordedRequest, channel_id: str, message_id: str
    ) -> web.Response:
        message = self._channel_message(channel_id, message_id)
        if message.is_ephemeral:
            raise _ApiError(404, 10008, "Unknown Message")
        self._check_content(recorded.json)
        self._spend_write(recorded, "channel", int(channel_id))
        self._spend_write(recorded, "message", message.id)
        message.apply(recorded.json or {})
        self._attach(message, recorded.json or {}, recorded.files)
        message.edited_at.append(recorded.time)
        recorded.message_id = message.id
        return _json_response(self._message_json(message))

    def _put_reaction(
        self, recorded: RecordedRequest, channel_id: str, message_id: str, emoji: str
    ) -> web.Response:
        message = self._channel_message(channel_id, message_id)
        if message.is_ephemeral:
            raise _ApiError(404, 10008, "Unknown Message")
        recorded.message_id = message.id
        key = (emoji, self.bot_user_id)
        if key not in message.reactions:
            message.reactions.add(key)
            # Discord echoes the bot's own reaction over the gateway, as for anyone's.
            self._spawn(self.dispatch_reaction_add(self.bot_user_id, message.id, emoji=emoji))
        return web.Response(status=204)

    def _delete_reaction(
        self, recorded: RecordedRequest, channel_id: str, message_id: str, emoji: str
    ) -> web.Response:
        message = self._channel_message(channel_id, message_id)
        recorded.message_id = message.id
        key = (emoji, self.bot_user_id)
        if key in message.reactions:
            message.reactions.discard(key)
            self._spawn(self.dispatch_reaction_remove(self.bot_user_id, message.id, emoji=emoji))
        return web.Response(status=204)

    # ------------------------------------------------------------------ polls
    # Kept together so other features' changes to this file merge cleanly.

    INTENT_GUILD_POLLS = 1 << 24
    INTENT_DIRECT_MESSAGE_POLLS = 1 << 25

    def polls(self) -> list[FakeMessage]:
        """The messages the bot made that carry a poll, oldest first."""
        return [message for message in self.messages.values() if message.poll is not None]

    async def dispatch_poll_vote(
        self, user_id: int, message_id: int, answer_id: int, *, added: bool = True
    ) -> None:
        """A member votes for (or takes back a vote for) one answer of a poll: the state
        changes and MESSAGE_POLL_VOTE_ADD/REMOVE goes to sessions with the polls intent."""
        message = self.messages[message_id]
        poll = message.poll
        assert poll is not None, "fake Discord: that message has no poll"
        if poll.is_finalized:
            raise RuntimeError("fake Discord: the poll has ended; Discord takes no more votes")
        voters = poll.votes.setdefault(answer_id, [])
        if added and user_id not in voters:
            voters.append(user_id)
        elif not added and user_id in voters:
            voters.remove(user_id)
        data: dict[str, Any] = {
            "user_id": str(user_id),
            "channel_id": str(message.channel_id),
            "message_id": str(message_id),
            "answer_id": answer_id,
        }
        intent = self.INTENT_DIRECT_MESSAGE_POLLS
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
            intent = self.INTENT_GUILD_POLLS
        event = "MESSAGE_POLL_VOTE_ADD" if added else "MESSAGE_POLL_VOTE_REMOVE"
        await self.dispatch_event(event, data, intent=intent)

    def end_poll_now(self, message_id: int) -> None:
        """Let the poll's time run out now (as if its hours had passed)."""
        poll = self.messages[message_id].poll
        assert poll is not None, "fake Discord: that message has no poll"
        poll.expire()
        self._notify()

    def _check_poll(self, payload: dict[str, Any] | None) -> None:
        """Discord's checks of a new poll: the permission, one to ten answers of at most
        55 characters, a question of at most 300, and 1 to 768 hours."""
        poll = (payload or {}).get("poll")
        if not poll:
            return
        if self.refuse_polls:
            raise _ApiError(403, 50013, "Missing Permissions")
        answers = poll.get("answers") or []
        texts = [answer["poll_media"]["text"] for answer in answers]
        if not 1 <= len(texts) <= 10 or any(not 1 <= len(text) <= 55 for text in texts):
            raise _ApiError(400, 50035, "Invalid Form Body: poll.answers")
        if len(poll["question"]["text"]) > 300 or not 1 <= poll.get("duration", 24) <= 768:
            raise _ApiError(400, 50035, "Invalid Form Body: poll")

    def _poll_routes(self) -> list[tuple[str, str, Callable[..., web.Response]]]:
        polls = r"/channels/(\d+)/polls/(\d+)"
        return [
            ("GET", polls + r"/answers/(\d+)", self._get_poll_voters),
            ("POST", polls + r"/expire", self._post_poll_expire),
        ]

    def _poll_message(self, channel_id: str, message_id: str) -> tuple[FakeMessage, FakePoll]:
        message = self._channel_message(channel_id, message_id)
        if message.poll is None:
            raise _ApiError(404, 10008, "Unknown Message")
        return message, message.poll

    def _get_poll_voters(
        self, recorded: RecordedRequest, channel_id: str, message_id: str, answer_id: str
    ) -> web.Response:
        """`GET .../polls/{message}/answers/{answer}`: the voters, by id after `after`."""
        message, poll = self._poll_message(channel_id, message_id)
        if int(answer_id) not in poll.answer_texts:
            raise _ApiError(404, 10008, "Unknown answer")
        recorded.message_id = message.id
        after = int(recorded.query.get("after", 0))
        limit = int(recorded.query.get("limit", 25))
        voters = sorted(user for user in poll.votes.get(int(answer_id), []) if user > after)
        return _json_response({"users": [self.user_json(user) for user in voters[:limit]]})

    def _post_poll_expire(
        self, recorded: RecordedRequest, channel_id: str, message_id: str
    ) -> web.Response:
        """`POST .../polls/{message}/expire`: end the poll now (its author only)."""
        message, poll = self._poll_message(channel_id, message_id)
        if poll.is_finalized:
            raise _ApiError(400, 520001, "Poll expired")
        poll.expire()
        recorded.message_id = message.id
        return _json_response(self._message_json(message))


@dataclass
class FakePoll:
    """A poll as Discord keeps it: its answers (ids from 1), who voted for what, and
    when it ends. Discord finalises a poll once its time is up (or it is expired)."""

    question: str
    answer_texts: dict[int, str]
    allow_multiselect: bool
    expires_at: datetime
    layout_type: int = 1
    votes: dict[int, list[int]] = field(default_factory=dict)  # answer id -> user ids

    @classmethod
    def from_create(cls, payload: dict[str, Any], hour_seconds: float) -> FakePoll:
        """The poll of a create payload (`duration` in hours, each `hour_seconds` long)."""
        seconds = float(payload.get("duration", 24)) * hour_seconds
        return cls(
            question=payload["question"]["text"],
            answer_texts={
                number: answer["poll_media"]["text"]
                for number, answer in enumerate(payload["answers"], start=1)
            },
            allow_multiselect=bool(payload.get("allow_multiselect", False)),
            expires_at=datetime.now(UTC) + timedelta(seconds=seconds),
            layout_type=payload.get("layout_type", 1),
        )

    @property
    def is_finalized(self) -> bool:
        """The poll's time is up: its results are final."""
        return datetime.now(UTC) >= self.expires_at

    def expire(self) -> None:
        """End the poll now."""
        self.expires_at = min(self.expires_at, datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        """The poll as a message carries it, with its results (counts) so far."""
        return {
            "question": {"text": self.question},
            "answers": [
                {"answer_id": number, "poll_media": {"text": text}}
                for number, text in self.answer_texts.items()
            ],
            "expiry": self.expires_at.isoformat(),
            "allow_multiselect": self.allow_multiselect,
            "layout_type": self.layout_type,
            "results": {
                "is_finalized": self.is_finalized,
                "answer_counts": [
                    {"id": number, "count": len(self.votes.get(number, [])), "me_voted": False}
                    for number in self.answer_texts
                ],
            },
        }


class _OverBudget(Exception):
    def __init__(self, retry_after: float, bucket: str) -> None:
        super().__init__(f"over the write budget of {bucket}")
        self.retry_after = retry_after
        self.bucket = bucket


def _too_many_requests(retry_after: float, bucket: str, limit: int) -> web.Response:
    """A 429 as Discord sends it: JSON with `retry_after`, Via (not Cloudflare), headers."""
    body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": False}
    headers = {
        "Via": "1.1 google",
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
        "X-RateLimit-Reset-After": f"{retry_after:.3f}",
        "X-RateLimit-Bucket": bucket,
        "X-RateLimit-Scope": "user",
        "Retry-After": str(max(1, math.ceil(retry_after))),
    }
    return _json_response(body, status=429, headers=headers)


class _ApiError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _json_response(
    body: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    # discord.py parses a body as JSON only when Content-Type is exactly application/json.
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


def _check_components(rows: list[dict[str, Any]] | None) -> None:
    """Discord's checks on a message's components (400 50035, as its API answers)."""
    if not rows:
        return
    if len(rows) > MAX_ACTION_ROWS:
        raise _form_error("components", f"Must be {MAX_ACTION_ROWS} or fewer in length.")
    for row in rows:
        if row.get("type") != COMPONENT_ACTION_ROW:
            continue  # layout components (type 9+) are not checked here
        children = row.get("components", [])
        selects = [child for child in children if child.get("type") == COMPONENT_STRING_SELECT]
        if selects and len(children) > 1:
            raise _form_error("components", "A select menu must be alone in its row.")
        if len(children) > MAX_BUTTONS_PER_ROW:
            raise _form_error("components", f"Must be {MAX_BUTTONS_PER_ROW} or fewer in length.")
        for child in children:
            if len(child.get("custom_id") or "") > CUSTOM_ID_LIMIT:
                raise _form_error("custom_id", f"Must be {CUSTOM_ID_LIMIT} or fewer in length.")
        for select in selects:
            _check_select(select)


def _check_select(select: dict[str, Any]) -> None:
    options = select.get("options") or []
    if not 1 <= len(options) <= MAX_SELECT_OPTIONS:
        raise _form_error("options", f"Must be between 1 and {MAX_SELECT_OPTIONS} in length.")
    if len(select.get("placeholder") or "") > PLACEHOLDER_LIMIT:
        raise _form_error("placeholder", f"Must be {PLACEHOLDER_LIMIT} or fewer in length.")
    values = [option.get("value") for option in options]
    if len(set(values)) != len(values):
        raise _form_error("options", "Select menu option values must be unique.")
    for option in options:
        for name in ("label", "value", "description"):
            text = option.get(name) or ""
            if name != "description" and not text:
                raise _form_error(name, "This field is required.")
            if len(text) > SELECT_OPTION_TEXT_LIMIT:
                raise _form_error(name, f"Must be {SELECT_OPTION_TEXT_LIMIT} or fewer in length.")
    min_values, max_values = select.get("min_values", 1), select.get("max_values", 1)
    if not 0 <= min_values <= min(max_values, len(options)) or max_values > MAX_SELECT_OPTIONS:
        raise _form_error("max_values", "min_values/max_values out of range.")


def _form_error(field_name: str, reason: str) -> _ApiError:
    return _ApiError(400, 50035, f"Invalid Form Body: {field_name}: {reason}")
