"""Route progress and arrival on the open highway: one comparison of positions decides arrival."""

from agentrl.environments.traffic.scenarios import Progress

# Driven distance x - start is exactly 600.0 in floats, yet x lies one float short of start + 600.
START, SHORT, GOAL = 191.0885061964363, 791.0885061964362, 191.0885061964363 + 600.0


def test_arrival_is_the_goal_point_and_progress_agrees():
    assert SHORT - START == 600.0 and SHORT < GOAL  # the case a fraction >= 1 rule got wrong
    short = Progress(SHORT, GOAL)
    assert not short.reached and short.fraction(START) < 1.0
    at = Progress(GOAL, GOAL)
    assert at.reached and at.fraction(START) == 1.0
    assert Progress(GOAL + 5.0, GOAL).fraction(START) == 1.0
    assert Progress(START + 300.0, GOAL).fraction(START) == 0.5
    assert Progress(START - 1.0, GOAL).fraction(START) == 0.0
