"""`copy-to-server`: copy the Edge store's vectors into a Qdrant server, for owners who
outgrow one machine (stop the bot first: the shard has one opener)."""

from __future__ import annotations

import argparse
from typing import TextIO

from bot.cli.terminal import EXIT_OK
from bot.errors import ConfigError
from bot.pipeline.vectors import QdrantServer, VectorLayout
from bot.pipeline.vectors.moving import copy_shard_to_server
from bot.settings import Settings


async def copy_to_server(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    """Copy every vector from the Edge store into the server; say what to set next."""
    url = args.url or (str(settings.qdrant_url) if settings.qdrant_url else None)
    if url is None:
        raise ConfigError("Say which server with --url (or set QDRANT_URL).")
    api_key = args.api_key or (
        settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
    )
    layout = VectorLayout(args.layout or settings.vector_layout)
    print(f"Copying the vectors in {settings.edge_path} to {url} ({layout} layout)…", file=out)
    server = QdrantServer(url, api_key, settings.qdrant_timeout)
    report = await copy_shard_to_server(settings.edge_path, server, layout)
    print(
        f"Copied {report.vectors} vector(s) of {report.members} member(s); the server holds "
        f"the same counts. Now set QDRANT_URL={url} and VECTOR_LAYOUT={layout}, and start "
        "the bot.",
        file=out,
        flush=True,
    )
    return EXIT_OK
