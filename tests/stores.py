"""The three ways the tests keep vectors without a server, as the settings that choose them."""

from __future__ import annotations

STORES: dict[str, dict[str, str]] = {
    "edge": {"embedded_store": "edge"},
    "local-per-member": {"embedded_store": "local", "vector_layout": "per-member"},
    "local-shared": {"embedded_store": "local", "vector_layout": "shared"},
}
