"""The action grammar: what models write is parsed leniently, and nothing they write makes the parser raise."""

from hypothesis import given, settings
from hypothesis import strategies as st

from agentrl.environments.web.browser import ACTION_HELP, Action, BadAction, Element, Observation, parse_action


def test_every_action_kind_parses():
    assert parse_action("click(3)") == Action("click", 3)
    assert parse_action("click([12])") == Action("click", 12)
    assert parse_action('type(5, "red shoes")') == Action("type", 5, "red shoes")
    assert parse_action("type(5, 'it\\'s')") == Action("type", 5, "it's")
    assert parse_action('select(7, "Large")') == Action("select", 7, "Large")
    assert parse_action('press("Enter")') == Action("press", None, "Enter")
    assert parse_action("press(Enter)") == Action("press", None, "Enter")
    assert parse_action("scroll(down)") == Action("scroll", None, "down")
    assert parse_action('scroll("UP")') == Action("scroll", None, "up")
    assert parse_action("back()") == Action("back")
    assert parse_action('goto("/item/3")') == Action("goto", None, "/item/3")
    assert parse_action('answer("42 \\"units\\"")') == Action("answer", None, '42 "units"')
    assert parse_action("stop()") == Action("stop")


def test_pointer_and_keyboard_actions_parse():
    assert parse_action("dblclick(4)") == Action("dblclick", 4)
    assert parse_action("hover([4])") == Action("hover", 4)
    assert parse_action("drag(3, 7)") == Action("drag", 3, to=7)
    assert parse_action("click_xy(40, 80.5)") == Action("click_xy", xy=(40.0, 80.5))
    assert parse_action("dblclick_xy(1,2)") == Action("dblclick_xy", xy=(1.0, 2.0))
    assert parse_action("hover_xy(5, 6)") == Action("hover_xy", xy=(5.0, 6.0))
    assert parse_action("drag_xy(10, 20, 90, -5)") == Action("drag_xy", xy=(10.0, 20.0, 90.0, -5.0))
    assert parse_action('type("abc")') == Action("type", None, "abc")
    assert parse_action("scroll(4, down)") == Action("scroll", 4, "down")
    assert parse_action('press("Control+A")') == Action("press", None, "Control+A")
    assert parse_action("Action: click_xy(3, 4)") == Action("click_xy", xy=(3.0, 4.0))  # not click + junk
    assert Action("drag", 3, to=7).ids == (3, 7)


def test_keys_and_chords_map_to_playwright_names():
    from agentrl.environments.web.actions import key_name

    assert key_name("enter") == "Enter"
    assert key_name("ctrl+a") == "Control+a"
    assert key_name("Control+Shift+arrow left") == "Control+Shift+ArrowLeft"
    assert key_name("cmd+c") == "Meta+c"
    assert key_name("+") == "+"
    assert key_name("Control++") == "Control++"


def test_short_error_keeps_the_reason_from_the_call_log():
    from agentrl.environments.web.actions import short_error

    e = TimeoutError("Locator.click: Timeout 5000ms exceeded.\nCall log:\n  - waiting for locator\n"
                     "  - <div id=\"cover\"></div> intercepts pointer events\n  - retrying click action")
    text = short_error(e)
    assert text.startswith("Locator.click: Timeout 5000ms exceeded.")
    assert "intercepts pointer events" in text
    assert short_error(ValueError("x" * 1000)).endswith("...") and len(short_error(ValueError("x" * 1000))) == 400


def test_prose_around_the_action_and_the_last_call_counts():
    reply = "The search box is [2]. I will first click(2) and then\nAction: type(2, \"blue mug\")"
    assert parse_action(reply) == Action("type", 2, "blue mug")
    assert parse_action("```\nCLICK( 4 )\n```") == Action("click", 4)


def test_a_call_named_inside_an_answer_is_not_read_as_an_action():
    assert parse_action('answer("I would click(3) next")') == Action("answer", None, "I would click(3) next")


def test_malformed_replies_say_what_was_wrong_and_how_to_write_it():
    cases = {
        "I think the answer is blue": "no action found",
        "click(two)": "must be an element id number",
        "click()": "takes 1 argument",
        'type(3)': "needs a quoted string",
        'type(3, "a", "b")': "takes 2 or 1 argument",
        "click_xy(3)": "takes 2 argument",
        'click_xy(3, "a")': "pixel coordinates",
        "drag(3, x)": "element id numbers",
        "click(2.5)": "must be an element id number",
        "type(3, red)": "needs a quoted string",
        "scroll(left)": "up or down",
        "click(3": "closing parenthesis",
        'goto(/x)': "could not read",
    }
    for reply, why in cases.items():
        result = parse_action(reply)
        assert isinstance(result, BadAction), reply
        assert why in result.reason, (reply, result.reason)
        assert ACTION_HELP in result.reason
    assert isinstance(parse_action(None), BadAction)


def test_actions_print_back_in_the_grammar():
    for text in ["click(3)", 'type(5, "a \\"b\\"")', 'select(1, "XL")', "scroll(down)", "back()", "stop()",
                 "drag(3, 7)", "click_xy(4, 5.5)", "drag_xy(1, 2, 3, 4)", 'type("x")', "scroll(2, up)",
                 'press("Control+a")', "dblclick(9)", "hover_xy(0, 0)"]:
        action = parse_action(text)
        assert parse_action(str(action)) == action


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=120))
def test_parser_never_raises_on_any_text(text):
    assert isinstance(parse_action(text), (Action, BadAction))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["click", "type", "select", "press", "scroll", "back", "goto", "answer", "stop", "drag",
                        "click_xy", "drag_xy", "hover", "dblclick_xy"]),
       st.text(alphabet='0123456789"\',()[] \\abcxyz', max_size=30))
def test_parser_never_raises_on_near_miss_calls(name, args):
    result = parse_action(f"{name}({args}")
    assert isinstance(result, (Action, BadAction))
    result = parse_action(f"{name}({args})")
    assert isinstance(result, (Action, BadAction))


def test_observation_renders_header_error_and_cut_text():
    els = (Element(1, "button", "Buy now"), Element(2, "combobox", "size", "M", ("S", "M")))
    obs = Observation('Shop\n[1] button "Buy now"', "http://127.0.0.1:1/", "Shop", els, error="bad id")
    text = obs.render()
    assert text.startswith("URL: http://127.0.0.1:1/\nTitle: Shop\nAction error: bad id\n----\n")
    assert obs.find("button", "Buy now").id == 1
    assert obs.find(contains="SIZ").id == 2
    assert els[1].line() == '[2] combobox "size" value="M" options=["S", "M"]'
    assert "page cut" in obs.render(max_chars=4)
