"""Oracles for the first half of the MiniWoB++ task list (by name, `ascending-numbers` to `draw-line`).

Each oracle reads one observation (instruction and rendered page) and returns the next action; it keeps no
memory between turns, so every decision comes from what the page shows now (which section is open, which boxes
are ticked, which month the calendar shows, where a shape sits). The oracles live in `part_a_forms` (form
controls) and `part_a_pointer` (dragging and drawing); tasks an honest oracle cannot solve from the observation
are in `EXCLUDED` with the reason.
"""

from __future__ import annotations

from collections.abc import Callable

from agentrl.environments.web.miniwob_oracles import part_a_forms as forms
from agentrl.environments.web.miniwob_oracles import part_a_pointer as pointer

SOLVERS: dict[str, Callable[[str], str]] = {
    "book-flight": forms.book_flight,
    "book-flight-nodelay": forms.book_flight,
    "buy-ticket": forms.buy_ticket,
    "choose-date": forms.choose_date,
    "choose-date-easy": forms.choose_date,
    "choose-date-medium": forms.choose_date,
    "choose-date-nodelay": forms.choose_date,
    "click-checkboxes-large": forms.click_checkboxes_exact,
    "click-checkboxes-soft": forms.click_checkboxes_soft,
    "click-checkboxes-transfer": forms.click_checkboxes_exact,
    "click-collapsible": forms.click_collapsible,
    "click-collapsible-2": forms.click_collapsible_2,
    "click-collapsible-2-nodelay": forms.click_collapsible_2,
    "click-collapsible-nodelay": forms.click_collapsible,
    "click-dialog-2": forms.click_dialog_2,
    "click-menu": forms.click_menu,
    "click-pie": pointer.click_pie,
    "click-tab-2": forms.click_tab_2,
    "click-tab-2-easy": forms.click_tab_2,
    "click-tab-2-hard": forms.click_tab_2,
    "click-tab-2-medium": forms.click_tab_2,
    "click-test": forms.click_test,
    "click-test-2": forms.click_test_2,
    "click-test-transfer": forms.click_test_2,
    "click-widget": forms.click_widget,
    "copy-paste": forms.copy_paste,
    "copy-paste-2": forms.copy_paste_2,
    "drag-box": pointer.drag_box,
    "drag-circle": pointer.drag_direction,
    "drag-shapes": pointer.drag_shapes,
    "drag-shapes-2": pointer.drag_shapes_2,
    "drag-single-shape": pointer.drag_direction,
    "draw-line": pointer.draw_line,
}
"""MiniWoB++ oracles (see the package docstring for the contract)."""

EXCLUDED: dict[str, str] = {
    "circle-center": "raw reward is 1 only at the exact sub-pixel centre; the page gives whole-pixel boxes",
    "bisect-angle": "raw reward is 1 only for an exact bisector; whole-pixel boxes give a fraction of it",
    "button-delay": "a stateless oracle cannot tell how long ago ONE was clicked (the page shows only which button "
                    "has the focus)",
    "chase-circle": "real-time pointer tracking of a moving circle, scored continuously",
    "count-sides": "the shape is drawn on a canvas, which the text page cannot show",
    "click-pie-nodelay": "on some seeds (train seed 1) the wanted item is the wheel's preselected one (its label drawn "
                         "white), and no click on its slice or label ends the episode",
    "daily-calendar": "events are divs whose extent the page shows only through their title line",
    "drag-cube": "which face is in front shows only through 3D CSS transforms",
    "draw-circle": "needs a curved stroke; drag_xy draws a straight line",
}
"""Tasks of this half with no honest oracle from the observation, and why (the docs list them)."""
