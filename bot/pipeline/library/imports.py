"""Reading a member's film history from a Letterboxd or IMDb export, safely and fast.

`read_export(data, file_name, limits)` takes the bytes a member uploaded (Letterboxd's
ZIP as downloaded, one of its CSVs, or an IMDb ratings or watchlist CSV) and returns
one `ImportedTitle` per film, with the rows it could not read named and counted. It
does no I/O and touches no records, so it can be tested, and benched, on its own.

Every limit is a one-line refusal (`bot.errors.ImportRefused` and its kinds): the
file's size, the rows, a ZIP's entry count and unpacked size (the sizes a ZIP declares
are checked first, and reading stops at the limit whatever they said), a file that is
not a CSV or ZIP, a ZIP without a known file, a CSV without its columns. A broken row
is not a refusal: it is skipped, and named in `ParsedExport.broken_rows`.

Text is read as UTF-8 (a byte-order mark is dropped; UTF-16 with its mark is read as
such); a file that is not UTF-8 is read as Windows-1252, as a spreadsheet saves it.
"""

from __future__ import annotations

import _csv
import codecs
import csv
import io
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from bot.errors import (
    ImportTooLarge,
    MissingColumns,
    NoKnownFile,
    NotAnExport,
    TooManyRows,
)
from bot.pipeline.domain import Rating
from bot.pipeline.library.export_files import (
    RATING_PRECEDENCE,
    REQUIRED_COLUMNS,
    ExportFile,
    ExportRow,
    RowRefused,
    file_by_columns,
    file_by_name,
    is_history_path,
    read_row,
)
from bot.pipeline.picks import pick_key

DEFAULT_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_ROWS = 20_000
DEFAULT_MAX_ZIP_ENTRIES = 2_000  # a Letterboxd ZIP holds a file per list the member made
UNZIPPED_RATIO = 8
DEFAULT_MAX_UNZIPPED_BYTES = DEFAULT_MAX_BYTES * UNZIPPED_RATIO
_READ_CHUNK = 64 * 1024
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_SNIFFED_BYTES = 4096
_FALLBACK_ENCODING = "cp1252"
# A ZIP without Letterboxd's files may still hold an IMDb CSV; look at a few CSVs only.
_MAX_SNIFFED_CSVS = 5
_UNREADABLE_ZIP = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


@dataclass(frozen=True, slots=True)
class ImportLimits:
    """How much one import may hold (IMPORT_MAX_BYTES, IMPORT_MAX_ROWS, and a ZIP's)."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = DEFAULT_MAX_ROWS
    max_zip_entries: int = DEFAULT_MAX_ZIP_ENTRIES
    max_unzipped_bytes: int = DEFAULT_MAX_UNZIPPED_BYTES

    @classmethod
    def from_settings(cls, max_bytes: int, max_rows: int) -> ImportLimits:
        """The limits for IMPORT_MAX_BYTES and IMPORT_MAX_ROWS (a ZIP may unpack to
        `UNZIPPED_RATIO` times the upload: CSV compresses about that well)."""
        return cls(max_bytes, max_rows, DEFAULT_MAX_ZIP_ENTRIES, max_bytes * UNZIPPED_RATIO)


class ExportSource(StrEnum):
    """The site an export came from."""

    LETTERBOXD = "Letterboxd"
    IMDB = "IMDb"


@dataclass(frozen=True, slots=True)
class ImportedTitle:
    """One film or show of an export, with everything its files said of it."""

    title: str
    year: int | None
    key: str  # picks.pick_key: how the title is recognised without a catalogue
    kind: str | None  # "movie" or "show" when the export says
    imdb_id: str | None
    link: str | None
    rating: Rating | None  # None: only on the watchlist
    is_on_watchlist: bool


@dataclass(frozen=True, slots=True)
class BrokenRow:
    """A row that was skipped, and why."""

    file_name: str
    line: int
    reason: str

    def describe(self) -> str:
        """`ratings.csv line 12 has no title`."""
        return f"{self.file_name} line {self.line} {self.reason}"


@dataclass(frozen=True, slots=True)
class ParsedExport:
    """Everything an export holds that the library takes."""

    source: ExportSource
    titles: tuple[ImportedTitle, ...]
    file_names: tuple[str, ...]  # the files read, in order
    rows: int  # data rows read, broken and skipped ones included
    skipped_types: int  # IMDb rows of a title type we do not take (episodes, games, ...)
    broken_rows: tuple[BrokenRow, ...]

    def count(self, rating: Rating) -> int:
        """How many titles have this rating."""
        return sum(1 for title in self.titles if title.rating is rating)

    @property
    def on_watchlist(self) -> int:
        """How many titles go to the watchlist."""
        return sum(1 for title in self.titles if title.is_on_watchlist)


def read_export(data: bytes, file_name: str, limits: ImportLimits | None = None) -> ParsedExport:
    """The titles of an uploaded export; ImportRefused (one line) when it cannot be read."""
    limits = limits or ImportLimits()
    if len(data) > limits.max_bytes:
        raise ImportTooLarge(
            f"That file is {_megabytes(len(data))}; an import can be at most "
            f"{_megabytes(limits.max_bytes)}."
        )
    is_zip = data.startswith(_ZIP_MAGIC)
    files = _unzipped_csvs(data, limits) if is_zip else [(file_name, data)]
    collector = _Collector(limits.max_rows)
    for name, content in files:
        collector.read_file(name, _text(content, name), is_in_zip=is_zip)
    if collector.source is None:
        raise NoKnownFile(_no_known_file(file_name))
    return collector.result()


def _unzipped_csvs(data: bytes, limits: ImportLimits) -> list[tuple[str, bytes]]:
    """The export's CSVs in a ZIP, within the limits whatever the ZIP declares."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except _UNREADABLE_ZIP as error:
        raise NotAnExport(f"That ZIP cannot be opened ({error}); download it again.") from None
    if len(entries) > limits.max_zip_entries:
        raise ImportTooLarge(
            f"That ZIP holds {len(entries):,} files; an import takes at most "
            f"{limits.max_zip_entries:,}."
        )
    wanted = _wanted_entries(entries)
    if not wanted:
        raise NoKnownFile(_no_known_file("That ZIP"))
    declared = sum(entry.file_size for entry in wanted)
    if declared > limits.max_unzipped_bytes:
        raise _unzipped_too_large(limits)
    budget = limits.max_unzipped_bytes
    files = []
    for entry in wanted:
        content = _read_entry(archive, entry, budget, limits)
        budget -= len(content)
        files.append((entry.filename, content))
    return files


def _wanted_entries(entries: list[zipfile.ZipInfo]) -> list[zipfile.ZipInfo]:
    """Letterboxd's known files (the shallowest of each), or else a few CSVs to sniff."""
    known: dict[ExportFile, zipfile.ZipInfo] = {}
    for entry in sorted(entries, key=lambda entry: entry.filename.count("/")):
        kind = file_by_name(entry.filename)
        if kind is not None and not entry.is_dir():
            known.setdefault(kind, entry)
    if known:
        return [known[kind] for kind in ExportFile if kind in known]
    csvs = [
        entry
        for entry in entries
        if entry.filename.casefold().endswith(".csv") and is_history_path(entry.filename)
    ]
    return csvs[:_MAX_SNIFFED_CSVS]


def _read_entry(
    archive: zipfile.ZipFile, entry: zipfile.ZipInfo, budget: int, limits: ImportLimits
) -> bytes:
    """One entry's bytes, stopping as soon as they pass what is left of the budget."""
    if entry.flag_bits & 0x1:
        raise NotAnExport(f"{entry.filename} in that ZIP is encrypted; upload the export as is.")
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(entry) as stream:
            while chunk := stream.read(_READ_CHUNK):
                size += len(chunk)
                if size > budget:
                    raise _unzipped_too_large(limits)
                chunks.append(chunk)
    except _UNREADABLE_ZIP as error:
        raise NotAnExport(
            f"{entry.filename} in that ZIP cannot be read ({error}); download it again."
        ) from None
    return b"".join(chunks)


def _text(content: bytes, file_name: str) -> str:
    """The file's text (see the module docstring on encodings), or NotAnExport."""
    if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            raise _not_a_csv(file_name) from None
    if b"\x00" in content[:_SNIFFED_BYTES]:
        raise _not_a_csv(file_name)
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode(_FALLBACK_ENCODING, errors="replace")


class _Collector:
    """Reads export files one after another and merges what they say per title."""

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self.source: ExportSource | None = None
        self.rows = 0
        self.skipped_types = 0
        self.file_names: list[str] = []
        self.broken: list[BrokenRow] = []
        self._titles: dict[str, _Merged] = {}

    def read_file(self, file_name: str, text: str, *, is_in_zip: bool) -> None:
        """Read one CSV; a CSV of no known kind inside a ZIP is passed over."""
        reader = csv.reader(io.StringIO(text, newline=""))
        header = [column.strip().lstrip("\ufeff") for column in next(reader, [])]
        if not any(header) and not is_in_zip:
            raise NotAnExport(f"{file_name} is empty: export it again.")
        kind = file_by_columns(file_by_name(file_name), header)
        if kind is None:
            if is_in_zip:
                return
            raise _not_an_export(file_name, header)
        missing = [column for column in REQUIRED_COLUMNS[kind] if column not in header]
        if missing:
            raise MissingColumns(_shown_name(file_name, kind), missing)
        self.source = ExportSource.IMDB if kind.is_imdb else ExportSource.LETTERBOXD
        shown_name = _shown_name(file_name, kind)
        self.file_names.append(shown_name)
        columns = {column: index for index, column in enumerate(header)}
        for line, fields in _records(reader):
            self._read_record(kind, shown_name, columns, line, fields)

    def _read_record(
        self,
        kind: ExportFile,
        file_name: str,
        columns: dict[str, int],
        line: int,
        fields: list[str] | RowRefused,
    ) -> None:
        self.rows += 1
        if self.rows > self.max_rows:
            raise TooManyRows(self.max_rows)
        try:
            if isinstance(fields, RowRefused):
                raise fields
            row = read_row(kind, columns, fields)
        except RowRefused as refused:
            self.broken.append(BrokenRow(file_name, line, str(refused)))
            return
        if row is None:
            self.skipped_types += 1
            return
        identity = row.imdb_id or pick_key(row.title, row.year)
        merged = self._titles.get(identity)
        if merged is None:
            self._titles[identity] = merged = _Merged(row)
        merged.add(kind, row)

    def result(self) -> ParsedExport:
        """What was read, once every file is."""
        assert self.source is not None
        return ParsedExport(
            source=self.source,
            titles=tuple(merged.title() for merged in self._titles.values()),
            file_names=tuple(self.file_names),
            rows=self.rows,
            skipped_types=self.skipped_types,
            broken_rows=tuple(self.broken),
        )


@dataclass(slots=True)
class _Merged:
    """One title as the files so far describe it."""

    first: ExportRow
    rating: Rating | None = None
    rating_rank: tuple[int, str] = (0, "")  # (file precedence, row date)
    is_on_watchlist: bool = False
    kind: str | None = None

    def add(self, file: ExportFile, row: ExportRow) -> None:
        """Take what one more row says: its rating counts if its file ranks higher."""
        self.is_on_watchlist = self.is_on_watchlist or row.is_on_watchlist
        self.kind = self.kind or row.kind
        if row.rating is None:
            return
        rank = (RATING_PRECEDENCE.get(file, 0), row.date)
        if self.rating is None or rank >= self.rating_rank:
            self.rating, self.rating_rank = row.rating, rank

    def title(self) -> ImportedTitle:
        first = self.first
        return ImportedTitle(
            title=first.title,
            year=first.year,
            key=pick_key(first.title, first.year),
            kind=self.kind,
            imdb_id=first.imdb_id,
            link=first.link,
            rating=self.rating,
            is_on_watchlist=self.is_on_watchlist,
        )


def _records(reader: _csv.Reader) -> Iterator[tuple[int, list[str] | RowRefused]]:
    """Each non-blank record with its line; an unreadable one as a RowRefused."""
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield reader.line_num, RowRefused(f"cannot be read ({error})")
            continue
        if any(value.strip() for value in fields):
            yield reader.line_num, fields


def _shown_name(file_name: str, kind: ExportFile) -> str:
    return kind.value if not kind.is_imdb else (file_name.rsplit("/", 1)[-1] or kind.value)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _unzipped_too_large(limits: ImportLimits) -> ImportTooLarge:
    return ImportTooLarge(
        f"That ZIP unpacks to more than {_megabytes(limits.max_unzipped_bytes)}, "
        "more than an export holds; upload the ZIP Letterboxd gave you."
    )


def _not_a_csv(file_name: str) -> NotAnExport:
    return NotAnExport(
        f"{file_name} is not a CSV or ZIP file: upload the export as Letterboxd or IMDb gave it."
    )


def _not_an_export(file_name: str, header: list[str]) -> NotAnExport:
    if "Letterboxd URI" in header:
        return NotAnExport(
            f"{file_name} could be Letterboxd's watched.csv or watchlist.csv, which look "
            "alike: upload the ZIP, or keep the file's name as Letterboxd gave it."
        )
    first_columns = ", ".join(column[:30] for column in header[:4]) or "nothing"
    return NotAnExport(
        f"{file_name} is not a Letterboxd or IMDb export (its first line holds {first_columns})."
    )


def _no_known_file(where: str) -> str:
    return (
        f"{where} holds none of the files an export has (ratings.csv, diary.csv, "
        "watched.csv, watchlist.csv, likes/films.csv, or IMDb's CSV)."
    )
