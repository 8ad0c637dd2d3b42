"""Bugs by AST mutation, edited into the source text so the diff is a one-spot change.

Operators (each yields `Mutant`s, one change each):
- ``flip_comparison``: a boundary or identity flip: < <=, > >=, == !=, in / not in, is / is not;
- ``drop_branch``: delete an `if` statement that has no else (when its block has other statements);
- ``off_by_one``: an integer literal in arithmetic, a comparison, an index or a slice moved by one;
- ``swap_arguments``: the first two positional arguments of a call swapped.
Positions come from the AST (byte offsets), and the edited text must parse and differ in its AST.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Iterator

OPERATORS = ("flip_comparison", "drop_branch", "off_by_one", "swap_arguments")
_FLIPS = {ast.Lt: ("<", "<="), ast.LtE: ("<=", "<"), ast.Gt: (">", ">="), ast.GtE: (">=", ">"),
          ast.Eq: ("==", "!="), ast.NotEq: ("!=", "=="), ast.In: ("in", "not in"), ast.NotIn: ("not in", "in"),
          ast.Is: ("is", "is not"), ast.IsNot: ("is not", "is")}


@dataclasses.dataclass(frozen=True)
class Mutant:
    operator: str
    line: int
    description: str
    source: str  # the whole mutated file


class _Text:
    """Source text addressed by AST (line, byte column) positions."""

    def __init__(self, source: str):
        self.data = source.encode()
        self.starts = [0]
        for line in self.data.splitlines(keepends=True):
            self.starts.append(self.starts[-1] + len(line))

    def offset(self, line: int, col: int) -> int:
        return self.starts[line - 1] + col

    def span(self, node: ast.AST) -> tuple[int, int]:
        return self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset)

    def replace(self, edits: list[tuple[int, int, bytes]]) -> str:
        data = self.data
        for start, end, new in sorted(edits, reverse=True):
            data = data[:start] + new + data[end:]
        return data.decode()


def mutants(source: str) -> Iterator[Mutant]:
    """Every single-spot mutant of `source`, in source order per operator."""
    tree = ast.parse(source)
    text = _Text(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    original = ast.dump(tree)
    for node in ast.walk(tree):
        for made in (*_flip(node, text), *_drop(node, text), *_off_by_one(node, text, parents),
                     *_swap(node, text)):
            try:
                changed = ast.dump(ast.parse(made.source)) != original
            except SyntaxError:
                continue
            if changed:
                yield made


def _flip(node: ast.AST, text: _Text) -> list[Mutant]:
    if not isinstance(node, ast.Compare) or len(node.ops) != 1 or type(node.ops[0]) not in _FLIPS:
        return []
    old, new = _FLIPS[type(node.ops[0])]
    start, end = text.span(node.left)[1], text.span(node.comparators[0])[0]
    between = text.data[start:end].decode()
    pattern = r"not\s+in" if old == "not in" else r"is\s+not" if old == "is not" else re.escape(old)
    bound = r"(?<![\w<>=!])" + pattern + r"(?![\w<>=])" if old[0].isalpha() else r"(?<![<>=!])" + pattern + r"(?!=)"
    found = list(re.finditer(bound, between))
    if len(found) != 1 or (old == "in" and re.search(r"not\s+in", between)) or (old == "is" and "not" in between):
        return []
    m = found[0]
    edit = (start + len(between[:m.start()].encode()), start + len(between[:m.end()].encode()), new.encode())
    return [Mutant("flip_comparison", node.lineno, f"`{old}` became `{new}`", text.replace([edit]))]


def _drop(node: ast.AST, text: _Text) -> list[Mutant]:
    found = []
    for field in ("body", "orelse", "finalbody"):
        block = getattr(node, field, None)
        if not isinstance(block, list) or len(block) < 2:
            continue
        for stmt in block:
            if isinstance(stmt, ast.If) and not stmt.orelse:
                start, end = text.starts[stmt.lineno - 1], text.starts[stmt.end_lineno]
                if text.data[start:text.offset(stmt.lineno, stmt.col_offset)].strip():
                    continue  # the `if` does not start its line
                found.append(Mutant("drop_branch", stmt.lineno, f"the `if` block at line {stmt.lineno} was deleted",
                                    text.replace([(start, end, b"")])))
    return found


def _off_by_one(node: ast.AST, text: _Text, parents: dict) -> list[Mutant]:
    if not (isinstance(node, ast.Constant) and type(node.value) is int and 0 <= node.value <= 64):
        return []
    parent = parents.get(node)
    if not isinstance(parent, (ast.BinOp, ast.Compare, ast.Subscript, ast.Slice)):
        return []
    start, end = text.span(node)
    if not re.fullmatch(rb"\d+", text.data[start:end]):
        return []
    new = node.value + 1 if node.value in (0, 1) or node.lineno % 2 else node.value - 1
    return [Mutant("off_by_one", node.lineno, f"`{node.value}` became `{new}`",
                   text.replace([(start, end, str(new).encode())]))]


def _swap(node: ast.AST, text: _Text) -> list[Mutant]:
    if not isinstance(node, ast.Call) or len(node.args) < 2:
        return []
    first, second = node.args[0], node.args[1]
    if any(isinstance(a, ast.Starred) for a in (first, second)):
        return []
    a, b = text.span(first), text.span(second)
    left, right = text.data[a[0]:a[1]], text.data[b[0]:b[1]]
    if left == right or b"\n" in left + right:
        return []
    return [Mutant("swap_arguments", node.lineno, f"arguments `{left.decode()}` and `{right.decode()}` swapped",
                   text.replace([(a[0], a[1], right), (b[0], b[1], left)]))]
