"""Oracles for MiniWoB++ tasks of clicking in order and dragging: what was done already shows on the page (a
focused button, the squares left over, the order of a list's items), so each step follows from the page now.
"""

from __future__ import annotations

from agentrl.environments.web.miniwob_oracles.part_c_common import click, elements, parts, state


def click_button_sequence(content: str) -> str:
    _, items = parts(content)
    one = next((it for it in elements(items, "button") if it.name == "ONE"), None)
    two = next((it for it in elements(items, "button") if it.name == "TWO"), None)
    if one is None or two is None:
        return "stop()"
    return click(two if "focused" in state(one) else one)  # a clicked button keeps the focus


def ascending_numbers(content: str) -> str:
    _, items = parts(content)
    # the numbers turn into blank squares once 1 is clicked; the squares keep the numbers' order on the page,
    # and each one clicked (in order) disappears, so the first square left is the next number
    one = next((it for it in elements(items, "text") if it.name == "1"), None)
    if one is not None:
        return click(one)
    return click(next(iter(elements(items, "rect")), None))
