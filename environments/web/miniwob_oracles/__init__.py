"""Scripted oracles for MiniWoB++ task pages: one function per task that reads the latest observation (the
instruction and the rendered page) and returns the next action in the web family's action grammar.

An oracle never looks inside the page's JavaScript: it sees exactly what a model sees, so a task whose oracle
passes `agentrl check` is solvable from the observation and the action set. Oracles are split over modules by
task name (`part_a`, `part_b`) and by when they were added (`part_c`) only so they stay short; `SOLVERS` is their union.
"""

from __future__ import annotations

from collections.abc import Callable

from agentrl.environments.web.miniwob_oracles import part_a, part_b, part_c

Solver = Callable[[str], str]

SOLVERS: dict[str, Solver] = {**part_a.SOLVERS, **part_b.SOLVERS, **part_c.SOLVERS}
STATE_TASKS: frozenset[str] = part_c.STATE_TASKS
