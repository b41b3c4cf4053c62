"""The code keeps a shape a newcomer can hold in their head, measured with `ast`.

- No module in `bot/` over 450 lines, no class over 300, no function or method over 60
  (a definition's lines run from its `def`/`class` line to its last, decorators aside).
- No test reaches into another object's private attribute (`obj._name`, read or set):
  collaborators go in through constructors and come out through public methods.
  `self._x` and `cls._x` are an object's own business, so a fake in `tests/fakes/` may
  keep private state; it may not reach into anybody else's.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BOT = REPO / "bot"
TESTS = REPO / "tests"

MAX_MODULE_LINES = 450
MAX_CLASS_LINES = 300
MAX_FUNCTION_LINES = 60
OWN_NAMES = frozenset({"self", "cls"})


def python_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*.py") if ".venv" not in path.parts)


def relative(path: Path) -> str:
    return path.relative_to(REPO).as_posix() if path.is_relative_to(REPO) else str(path)


def definition_lines(node: ast.stmt) -> int:
    assert node.end_lineno is not None
    return node.end_lineno - node.lineno + 1


def qualified_definitions(
    tree: ast.AST, prefix: str = ""
) -> Iterator[tuple[str, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every class and function in `tree`, nested ones included, with a dotted name."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            name = f"{prefix}{node.name}"
            yield name, node
            yield from qualified_definitions(node, f"{name}.")
        else:
            yield from qualified_definitions(node, prefix)


def oversized(path: Path) -> list[str]:
    """What in one module is over its limit, each with its size."""
    source = path.read_text(encoding="utf-8")
    found: list[str] = []
    module_lines = len(source.splitlines())
    if module_lines > MAX_MODULE_LINES:
        found.append(f"{relative(path)}: module, {module_lines} lines (max {MAX_MODULE_LINES})")
    for name, node in qualified_definitions(ast.parse(source)):
        lines = definition_lines(node)
        is_class = isinstance(node, ast.ClassDef)
        limit = MAX_CLASS_LINES if is_class else MAX_FUNCTION_LINES
        if lines > limit:
            kind = "class" if is_class else "function"
            found.append(
                f"{relative(path)}:{node.lineno}: {kind} {name}, {lines} lines (max {limit})"
            )
    return found


def is_private_reach(node: ast.AST) -> bool:
    """`obj._name` (not a dunder) where `obj` is not `self` or `cls`."""
    if not isinstance(node, ast.Attribute):
        return False
    if not node.attr.startswith("_") or node.attr.startswith("__"):
        return False
    return not (isinstance(node.value, ast.Name) and node.value.id in OWN_NAMES)


def private_reaches(path: Path) -> list[str]:
    """Every private reach in one file, in order; `a._b._c` counts once, as a whole."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    reaches = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and is_private_reach(node)
    ]
    inner = {id(node.value) for node in reaches}
    outermost = sorted(
        (node for node in reaches if id(node) not in inner),
        key=lambda node: (node.lineno, node.col_offset),
    )
    return [f"{relative(path)}:{node.lineno}: {ast.unparse(node)}" for node in outermost]


def test_no_module_class_or_function_in_bot_is_too_long() -> None:
    offenders = [line for path in python_files(BOT) for line in oversized(path)]
    assert not offenders, "Too long; split by job:\n" + "\n".join(offenders)


def test_no_test_reads_or_sets_another_objects_private_attribute() -> None:
    offenders = [line for path in python_files(TESTS) for line in private_reaches(path)]
    assert not offenders, (
        "Tests reach into private attributes; pass collaborators in through public seams:\n"
        + "\n".join(offenders)
    )


def test_the_measures_find_what_they_are_meant_to(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    long_body = "\n".join(f"    x{n} = {n}" for n in range(MAX_FUNCTION_LINES))
    sample.write_text(
        "class Holder:\n"
        "    def method(self) -> None:\n"
        f"    {long_body.replace(chr(10), chr(10) + '    ')}\n"
        "\n"
        "def reach(other, self) -> None:\n"
        "    other._private = self._own\n"
        "    print(other.__class__, cls._own, other._read._deeper)\n",
        encoding="utf-8",
    )
    [too_long] = [line for line in oversized(sample) if "Holder.method" in line]
    assert too_long.endswith(f"{MAX_FUNCTION_LINES + 1} lines (max {MAX_FUNCTION_LINES})")
    reaches = [line.split(": ", 1)[1] for line in private_reaches(sample)]
    assert reaches == ["other._private", "other._read._deeper"]
