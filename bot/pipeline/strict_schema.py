"""A JSON schema rewritten so OpenAI's strict structured outputs accept it.

Strict mode (`response_format: {"type": "json_schema", ..., "strict": true}`) wants
every object closed (`additionalProperties: false`) with every property listed in
`required`, and refuses keywords it cannot enforce while sampling (string lengths,
number bounds, array sizes, formats, defaults). So: each optional property becomes
required and nullable (`anyOf: [..., {"type": "null"}]`), and those keywords are left
out. Nothing is lost: pydantic still validates the answer against the full model, and
the picks reader already treats a missing or out-of-range field as unknown.
"""

from __future__ import annotations

import copy
from typing import Any

# Keywords strict mode refuses (OpenAI's "supported schemas" list), left out here.
UNSUPPORTED_KEYWORDS = frozenset(
    {
        "default",
        "format",
        "maxItems",
        "maxLength",
        "maxProperties",
        "maximum",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "minItems",
        "minLength",
        "minProperties",
        "minimum",
        "multipleOf",
        "pattern",
        "patternProperties",
        "uniqueItems",
    }
)


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of `schema` that strict mode accepts (see the module docstring)."""
    return _strict(copy.deepcopy(schema))


# Maps from names to schemas: their keys are names (a property may be called
# "format"), not keywords.
_NAMED_SCHEMAS = frozenset({"properties", "$defs", "definitions"})


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key in _NAMED_SCHEMAS and isinstance(value, dict):
            result[key] = {name: _strict(schema) for name, schema in value.items()}
        elif key not in UNSUPPORTED_KEYWORDS:
            result[key] = _strict(value)
    properties = result.get("properties")
    if isinstance(properties, dict):
        required = set(result.get("required", []))
        for name, prop in properties.items():
            if name not in required:
                properties[name] = _nullable(prop)
        result["required"] = list(properties)
        result["additionalProperties"] = False
    elif result.get("type") == "object":
        result["additionalProperties"] = False
    return result


def _nullable(prop: dict[str, Any]) -> dict[str, Any]:
    """`prop`, allowing null as well (how strict mode spells "optional")."""
    options = prop.get("anyOf")
    if isinstance(options, list):
        if not any(option.get("type") == "null" for option in options):
            prop = {**prop, "anyOf": [*options, {"type": "null"}]}
        return prop
    described: dict[str, Any] = {key: prop[key] for key in ("title", "description") if key in prop}
    rest = {key: value for key, value in prop.items() if key not in described}
    return {**described, "anyOf": [rest, {"type": "null"}]}
