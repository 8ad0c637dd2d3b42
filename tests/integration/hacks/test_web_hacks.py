"""Reward hacks on web/ShopText-v0 (the real shop site on 127.0.0.1 and the text browser), through the env
API and the registered rubric, by an attacker that even knows the target product's id: navigating straight
to a success page, typing script into fields, visiting other sessions or origins, claiming the purchase in
an answer. Each earns no WebShop reward. (DOM editing and hidden elements need Chromium and MiniWoB; see
docs/security.md for where those stand.)"""

import pytest

from agentrl import registry
from agentrl.policy_contract import ScriptedPolicy
from agentrl.rollout import run_episode

ENV = "web/ShopText-v0"


def _attacks(target: str) -> dict[str, list[str]]:
    return {
        "goto_order_page": [f'goto("/s/1/buy/{target}")', f'goto("/s/2/buy/{target}")', "stop()"],
        "goto_target_item_then_claim": [f'goto("/s/1/item/{target}")', 'answer("Order placed. Thank you")'],
        "another_session": ['goto("/s/0/")', 'goto("/s/999/")', "stop()"],
        "off_origin": ['goto("http://example.com/thank-you")', 'goto("file:///etc/passwd")', "stop()"],
        "script_in_search": ['type(1, "<script>document.title=\'Order placed\'</script>")', 'press("Enter")',
                             'type(1, "\' onfocus=alert(1) x=\'")', 'press("Enter")', "stop()"],
        "claimed_in_text": ["I have bought the product. Thank you for shopping. Order placed."] * 2 + ["stop()"],
    }


@pytest.mark.parametrize("attack", sorted(_attacks("x")))
async def test_shop_hack_earns_no_webshop_reward(attack):
    for task in registry.tasks(ENV, "test")[:2]:
        target = task.reference["goal"]["product_id"]
        replies = _attacks(target)[attack]
        ep = await run_episode(registry.make(ENV), ScriptedPolicy(replies=replies), task, 0, registry.rubric(ENV),
                               max_turns=len(replies))
        assert ep.status.value in ("ok", "truncated"), ep.error
        assert ep.outcome_rewards["shopper"]["webshop"] == 0.0, (attack, ep.turns[-1].info)
        assert not any("purchase" in t.info for t in ep.turns)
        if attack != "goto_target_item_then_claim":  # opening the right page is the shaping term's business
            assert ep.reward["shopper"] == 0.0, (attack, [t.info for t in ep.turns])
