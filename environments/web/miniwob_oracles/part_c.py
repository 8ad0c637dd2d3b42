"""Oracles for MiniWoB++ tasks added after parts a and b, most of them solvable only with element state in the
observation (`STATE_TASKS`: these tasks' pages are walked with the browser's `state` option, which adds
``state="..."`` to each element and shows empty drawn elements as their classes, see page.WALK_JS).
"""

from __future__ import annotations

from collections.abc import Callable

from agentrl.environments.web.miniwob_oracles import part_c_pointer as pt
from agentrl.environments.web.miniwob_oracles import part_c_shapes as sh
from agentrl.environments.web.miniwob_oracles import part_c_state as st
from agentrl.environments.web.miniwob_oracles import part_c_text as tx
from agentrl.environments.web.miniwob_oracles import part_c_widgets as wg

SOLVERS: dict[str, Callable[[str], str]] = {
    "ascending-numbers": pt.ascending_numbers,
    "click-button-sequence": pt.click_button_sequence,
    "click-color": st.click_color,
    "click-menu-2": wg.click_menu_2,
    "click-scroll-list": tx.click_scroll_list,
    "click-shades": st.click_shades,
    "click-shape": sh.click_shape,
    "count-shape": sh.count_shape,
    "drag-items": pt.drag_items,
    "drag-items-grid": pt.drag_items_grid,
    "drag-sort-numbers": pt.drag_sort_numbers,
    "email-inbox-forward-nl": tx.email_inbox_forward_nl,
    "enter-date": st.enter_date,
    "find-greatest": st.find_greatest,
    "form-sequence": wg.form_sequence,
    "highlight-text": tx.highlight_text,
    "highlight-text-2": tx.highlight_text_2,
    "number-checkboxes": st.number_checkboxes,
    "odd-or-even": st.odd_or_even,
    "order-food": st.order_food,
    "scroll-text-2": st.scroll_text_2,
    "sign-agreement": st.sign_agreement,
    "tic-tac-toe": st.tic_tac_toe,
    "use-slider": wg.use_slider,
    "use-slider-2": wg.use_slider_2,
    "use-colorwheel": st.use_colorwheel,
    "use-colorwheel-2": st.use_colorwheel_2,
    "use-spinner": st.use_spinner,
    "visual-addition": st.visual_addition,
}
"""MiniWoB++ oracles (see the package docstring for the contract)."""

STATE_TASKS: frozenset[str] = frozenset(SOLVERS) - {"email-inbox-forward-nl"}  # that one reads as its siblings
"""Tasks whose observation carries element state."""
