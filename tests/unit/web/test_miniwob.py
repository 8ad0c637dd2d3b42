"""MiniWoB++ env pieces that need no browser: tasks, config errors, the rubric, and the scripted solver on
rendered observations (the browser tests run it against the real pages)."""

import pytest

from agentrl.environments.web import miniwob as mw
from agentrl.types import Task


def observation(task: str, instruction: str, page: str) -> str:
    return f"MiniWoB++ task: {task}\nInstruction: {instruction}\n----\n{page}"


def test_tasks_are_task_seed_pairs_over_at_least_ten_shipped_pages():
    train, test = mw.tasks("train"), mw.tasks("test")
    assert len(set(mw.TASKS)) >= 10 and set(mw.TASKS) <= set(mw.task_names())
    assert {t.env_kwargs["task"] for t in train} == set(mw.TASKS)
    assert len({t.id for t in train}) == len(train) == 20 * len(mw.TASKS)
    assert not {t.env_kwargs["seed"] for t in train} & {t.env_kwargs["seed"] for t in test}
    with pytest.raises(mw.MiniWoBError, match="unknown split"):
        mw.tasks("dev")


def test_bad_config_and_unknown_pages_say_what_to_do():
    with pytest.raises(mw.MiniWoBError, match="clock must be"):
        mw.MiniWoBEnv(clock="fast")
    with pytest.raises(mw.MiniWoBError, match="ms_per_action"):
        mw.MiniWoBEnv(ms_per_action=-1)
    with pytest.raises(mw.MiniWoBError, match="click-button"):
        mw.task_name(Task(id="x", env_kwargs={"task": "click-buton"}))


def test_rubric_reads_the_pages_rewards_from_the_last_info():
    info = {"miniwob_reward": 0.8, "miniwob_raw_reward": 1.0, "valid_action": True}
    assert (mw.miniwob_reward(info), mw.miniwob_raw_reward(info), mw.valid_action(info)) == (0.8, 1.0, 1.0)
    assert mw.miniwob_reward({}) is None
    r = mw.rubric()
    assert r.weights["miniwob"] == 1.0 and r.weights["miniwob_raw"] == 0.0 and r.weights["env"] == 0.0


def test_parse_page_reads_elements_values_and_wrapped_labels():
    items = mw.parse_page('Username\n[1] textbox "" value="bob"\n[2] checkbox "" checked\nabc\n'
                          '[3] combobox "" value="Peru" options=["Chad", "Peru"]\n[4] button "Submit"')
    elements = [it for it in items if it.id is not None]
    assert [(e.id, e.role, e.value, e.checked, e.label) for e in elements] == [
        (1, "textbox", "bob", None, "Username"), (2, "checkbox", None, True, "abc"),
        (3, "combobox", "Peru", None, ""), (4, "button", None, None, "Submit")]


@pytest.mark.parametrize("task, instruction, page, action", [
    ("click-button", 'Click on the "ok" button.', '[1] button "no"\n[2] button "ok"', "click(2)"),
    ("click-link", 'Click on the link "quam.".', 'Lorem\n[1] clickable "ipsum"\n[2] clickable "quam."', "click(2)"),
    ("click-tab", "Click on Tab #2.", '[1] tab "Tab #1"\n[2] tab "Tab #2"', "click(2)"),
    ("click-checkboxes", "Select ab, cd and click Submit.",
     '[1] checkbox "" checked\nab\n[2] checkbox "" unchecked\nzz\n[3] checkbox "" unchecked\ncd\n[4] button "Submit"',
     "click(3)"),
    ("click-checkboxes", "Select nothing and click Submit.", '[1] checkbox "" unchecked\nab\n[2] button "Submit"',
     "click(2)"),
    ("choose-list", "Select Peru from the list and click Submit.",
     '[1] combobox "" value="Chad" options=["Chad", "Peru"]\n[2] button "Submit"', 'select(1, "Peru")'),
    ("login-user", 'Enter the username "kim" and the password "x1" into the text fields and press login.',
     'Username\n[1] textbox "" value="kim"\nPassword\n[2] textbox "" value=""\n[3] button "Login"', 'type(2, "x1")'),
    ("enter-text-2", 'Type "ANNA" in all lower case letters in the text input and press Submit.',
     '[1] textbox "" value="anna"\n[2] button "Submit"', "click(2)"),
    ("unknown-task", "Do something.", '[1] button "ok"', "stop()"),
])
def test_solver_reads_instruction_and_page_state(task, instruction, page, action):
    assert mw.solve(observation(task, instruction, page)) == action
