"""MiniWoB++ oracles (see the package docstring for the contract)."""

from __future__ import annotations

from collections.abc import Callable

SOLVERS: dict[str, Callable[[str], str]] = {}
