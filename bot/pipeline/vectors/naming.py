"""Names in Qdrant: a member's alias, the generations of collections behind aliases,
and the payload keys.

Every place is reached through an alias (``member_m_<id>``, or ``shared_tastes``)
that points at a physical collection with a generation suffix (``tastes_m_<id>__g3``).
A first-release collection has no suffix (generation 0).
"""

from __future__ import annotations

import hashlib
import re

PHYSICAL_PREFIX = "tastes_"
MEMBER_ALIAS_PREFIX = "member_"
SHARED_ALIAS = "shared_tastes"
SHARED_PHYSICAL = "tastes_shared"
# Payload keys: a point carries ids only, never the taste's text.
MEMBER_KEY = "member_id"  # shared layout only
TASTE_KEY = "taste_id"
_GENERATION = re.compile(r"^(?P<base>.+)__g(?P<number>\d+)$")
_PLAIN_MEMBER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def member_alias(member_id: str) -> str:
    """The member's place (per-member layout): readable for Discord ids, hashed otherwise."""
    if _PLAIN_MEMBER_ID.fullmatch(member_id):
        return f"{MEMBER_ALIAS_PREFIX}m_{member_id}"
    digest = hashlib.sha256(member_id.encode()).hexdigest()[:32]
    return f"{MEMBER_ALIAS_PREFIX}h_{digest}"


def physical_name(alias: str, generation: int) -> str:
    """The collection of one generation behind an alias."""
    if alias == SHARED_ALIAS:
        return f"{SHARED_PHYSICAL}__g{generation}"
    return f"{PHYSICAL_PREFIX}{alias.removeprefix(MEMBER_ALIAS_PREFIX)}__g{generation}"


def alias_of_physical(name: str) -> str | None:
    """The alias a physical collection of ours belongs behind (None: not ours)."""
    if not name.startswith(PHYSICAL_PREFIX):
        return None
    match = _GENERATION.match(name)
    base = match["base"] if match else name  # a first-release collection has no suffix
    if base == SHARED_PHYSICAL:
        return SHARED_ALIAS
    return MEMBER_ALIAS_PREFIX + base.removeprefix(PHYSICAL_PREFIX)


def generation_of(name: str | None) -> int:
    """The generation number of a physical collection (0: first release, or none)."""
    match = _GENERATION.match(name or "")
    return int(match["number"]) if match else 0


def is_member_alias(name: str) -> bool:
    """Whether `name` is a member's alias of the per-member layout."""
    return name.startswith(MEMBER_ALIAS_PREFIX)


def is_our_alias(name: str) -> bool:
    """Whether `name` is an alias of either layout (not somebody else's)."""
    return name == SHARED_ALIAS or is_member_alias(name)
