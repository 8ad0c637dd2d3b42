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
        'type(3)': "takes 2 argument",
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
    for text in ["click(3)", 'type(5, "a \\"b\\"")', 'select(1, "XL")', "scroll(down)", "back()", "stop()"]:
        action = parse_action(text)
        assert parse_action(str(action)) == action


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=120))
def test_parser_never_raises_on_any_text(text):
    assert isinstance(parse_action(text), (Action, BadAction))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["click", "type", "select", "press", "scroll", "back", "goto", "answer", "stop"]),
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
