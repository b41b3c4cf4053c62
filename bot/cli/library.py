"""The terminal's library verbs: `watchlist` (list, add, remove, watched) and `import`.

suggest-watch watchlist [--page N]
suggest-watch watchlist add SUGGESTION --pick N
suggest-watch watchlist remove ID
suggest-watch watchlist watched ID [liked|not-for-me|seen]   (asks when not given)
suggest-watch import FILE            a Letterboxd ZIP or CSV, or an IMDb CSV
suggest-watch import --erase [--yes] erase what you imported, keep the rest
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from bot import presentation as shared
from bot import presentation_library as say
from bot.errors import InputError, OllamaError
from bot.pipeline.domain import Rating
from bot.pipeline.library.service import Library, MatchProgress

# `watchlist watched` takes these; the member is asked when none is given.
WATCHED_WORDS: dict[str, Rating] = {
    "liked": Rating.LIKED,
    "not-for-me": Rating.NOT_FOR_ME,
    "seen": Rating.SEEN,
}
EXIT_OK = 0
# Matching a big import prints a progress line at most this often (seconds).
PROGRESS_EVERY = 3.0

AddVerb = Callable[..., argparse.ArgumentParser]


def add_library_verbs(add: AddVerb, common: argparse.ArgumentParser) -> None:
    """Add `watchlist` (with its actions) and `import` through the parser's `add`."""
    watchlist = add("watchlist", "your watchlist: list it, add a pick, remove, mark watched")
    watchlist.add_argument("--page", type=int, default=1, help="which page of the list")
    actions = watchlist.add_subparsers(dest="action", metavar="ACTION")
    save = actions.add_parser("add", help="save a pick of a suggestion", parents=[common])
    save.add_argument("suggestion_id", type=int, help="the suggestion's number")
    save.add_argument("-p", "--pick", type=int, required=True, help="the pick's number")
    remove = actions.add_parser("remove", help="take a title off", parents=[common])
    remove.add_argument("entry_id", type=int, help="the title's number from `watchlist`")
    watched = actions.add_parser("watched", help="mark a title watched", parents=[common])
    watched.add_argument("entry_id", type=int, help="the title's number from `watchlist`")
    watched.add_argument("rating", nargs="?", choices=list(WATCHED_WORDS), help="asked if left out")

    imported = add("import", "import your Letterboxd or IMDb history", ["ratings.csv"])
    imported.add_argument("file", nargs="?", type=Path, help="the export (ZIP or CSV)")
    imported.add_argument("--erase", action="store_true", help="erase what you imported")
    imported.add_argument("-y", "--yes", action="store_true", help="do not ask before --erase")


class LibraryTerminal:
    """Runs the library verbs for one member, printing plain lines."""

    def __init__(self, library: Library, out: TextIO, stdin: TextIO, command_prefix: str) -> None:
        self.library = library
        self.out = out
        self.stdin = stdin
        self.command_prefix = command_prefix  # `suggest-watch --member x`

    def say(self, text: str = "") -> None:
        """Print one line."""
        print(text, file=self.out, flush=True)

    def ask(self, question: str) -> str:
        """Ask for one line of input."""
        print(f"{question} ", end="", file=self.out, flush=True)
        return self.stdin.readline().strip().lower()

    async def run(self, member: str, args: argparse.Namespace) -> int:
        """Run `watchlist …` or `import …` as parsed."""
        if args.command == "import":
            return await self.import_file(member, args.file, erase=args.erase, yes=args.yes)
        match getattr(args, "action", None):
            case "add":
                return await self.add(member, args.suggestion_id, args.pick)
            case "remove":
                entry = await self.library.remove(member, args.entry_id)
                self.say(say.removed_from_watchlist(entry))
                return EXIT_OK
            case "watched":
                return await self.watched(member, args.entry_id, args.rating)
        return await self.show(member, args.page)

    async def show(self, member: str, page: int) -> int:
        """One page of the member's watchlist."""
        listed = await self.library.watchlist_page(member, page)
        if not listed.entries:
            hint = f"Save a pick with: {self.command_prefix} watchlist add SUGGESTION --pick N"
            self.say(say.empty_watchlist(hint))
            return EXIT_OK
        self.say(f"{say.watchlist_heading(listed.total, listed.page, listed.pages)}:")
        found = await self.library.details(listed.entries)
        for entry in listed.entries:
            self.say(f"  {say.watchlist_line(entry)}")
            details = found.get(entry.id)
            if details is not None and details.facts is not None:
                self.say(f"      {shared.film_facts(details.facts)}")
            links = shared.film_links(details.links) if details and details.links else []
            if entry.link and not links:
                links = [("Imported from", entry.link)]
            for name, url in links:
                self.say(f"      {name}: {url}")
        return EXIT_OK

    async def add(self, member: str, suggestion_id: int, position: int) -> int:
        """Save a pick to the member's watchlist."""
        saved = await self.library.save_pick(member, suggestion_id, position)
        if saved.was_there:
            self.say(say.already_on_watchlist(saved.title, saved.year))
        else:
            self.say(say.saved_to_watchlist(saved.title, saved.year))
        return EXIT_OK

    async def watched(self, member: str, entry_id: int, word: str | None) -> int:
        """Mark a watchlist title watched, asking for the rating when not given."""
        if word is None:
            word = self.ask(f"How was it? ({' / '.join(WATCHED_WORDS)})")
            if word not in WATCHED_WORDS:
                raise InputError(f"Answer one of {', '.join(WATCHED_WORDS)}; nothing changed.")
        rating = WATCHED_WORDS[word]
        entry = await self.library.mark_watched(member, entry_id, rating)
        self.say(say.marked_watched(entry, rating))
        return EXIT_OK

    async def import_file(self, member: str, file: Path | None, *, erase: bool, yes: bool) -> int:
        """Import an export file (then match it to the catalogue), or erase the imports."""
        if erase:
            if yes or self.ask("Erase everything you imported? [y/N]") in {"y", "yes"}:
                self.say(say.erased_imports(await self.library.erase_imports(member)))
            return EXIT_OK
        if file is None:
            raise InputError("Name the export to import: import FILE (or --erase).")
        data = await asyncio.to_thread(_read_upload, file, self.library)
        parsed = await asyncio.to_thread(self.library.read_import, data, file.name)
        stored = await self.library.store_import(member, parsed)
        for line in say.import_summary(stored):
            self.say(line)
        if self.library.is_matching:
            done = await self.library.match_titles(member, self._progress_printer())
            self.say(say.matching_line(done))
        try:
            await self.library.embed_titles(member)
        except OllamaError as exc:
            # Only which titles a prompt names depends on it; the next import retries.
            self.say(say.not_embedded(exc))
        listing = say.not_imported_text(parsed, await self.library.not_found(member))
        if listing:
            self.say(listing.rstrip("\n"))
        return EXIT_OK

    def _progress_printer(self) -> Callable[[MatchProgress], Awaitable[None]]:
        """A progress callback that prints a line at most every PROGRESS_EVERY seconds."""
        loop = asyncio.get_running_loop()
        last = loop.time()

        async def show(progress: MatchProgress) -> None:
            nonlocal last
            if loop.time() - last >= PROGRESS_EVERY:
                last = loop.time()
                self.say(say.matching_line(progress))

        return show


def _read_upload(file: Path, library: Library) -> bytes:
    """The file's bytes, refused by size before it is read; a clear line if unreadable."""
    try:
        library.check_upload_size(file.stat().st_size)
        return file.read_bytes()
    except OSError as exc:
        raise InputError(f"Cannot read {file}: {exc.strerror or exc}.") from None
