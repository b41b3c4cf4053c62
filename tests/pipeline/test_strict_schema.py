"""The pick schema made acceptable to OpenAI's strict structured outputs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from bot.pipeline.picks import PickList, answer_schema
from bot.pipeline.strict_schema import UNSUPPORTED_KEYWORDS, strict_schema


def objects_of(node: Any) -> list[dict[str, Any]]:
    """Every schema object with properties, anywhere in `node`."""
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("properties"), dict):
            found.append(node)
        for value in node.values():
            found += objects_of(value)
    elif isinstance(node, list):
        for item in node:
            found += objects_of(item)
    return found


def keywords_of(node: Any, under_names: bool = False) -> set[str]:
    """Every keyword used in `node`, not counting property names."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if not under_names:
                found.add(key)
            found |= keywords_of(value, under_names=key in ("properties", "$defs"))
    elif isinstance(node, list):
        for item in node:
            found |= keywords_of(item)
    return found


def test_every_object_is_closed_with_every_property_required() -> None:
    schema = strict_schema(answer_schema())
    objects = objects_of(schema)

    assert len(objects) == 2  # the list and the pick
    for node in objects:
        assert node["additionalProperties"] is False
        assert node["required"] == list(node["properties"])


def test_keywords_strict_mode_refuses_are_left_out() -> None:
    original = keywords_of(answer_schema())
    strict = keywords_of(strict_schema(answer_schema()))

    assert original & UNSUPPORTED_KEYWORDS  # the pick schema does use some
    assert not strict & UNSUPPORTED_KEYWORDS
    assert {"enum", "$ref", "description"} <= strict


def test_the_original_schema_is_left_alone() -> None:
    schema = answer_schema()
    strict_schema(schema)

    assert schema == PickList.model_json_schema()


def test_an_optional_property_becomes_required_and_nullable() -> None:
    class Optional_(BaseModel):
        name: str
        note: str | None = Field(None, max_length=5, description="a note")
        format: int = 3  # a property named like a keyword stays

    schema = strict_schema(Optional_.model_json_schema())

    assert schema["required"] == ["name", "note", "format"]
    assert schema["properties"]["note"]["description"] == "a note"
    assert {"type": "null"} in schema["properties"]["note"]["anyOf"]
    assert {"type": "null"} in schema["properties"]["format"]["anyOf"]
    assert "maxLength" not in str(schema)
