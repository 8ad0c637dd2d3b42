"""Register the tau2 envs for these tests, with the same arguments environments/__init__.py uses."""

import pytest

import agentrl

DOMAIN_IDS = {"airline": "tau2/Airline-v0", "retail": "tau2/Retail-v0", "telecom": "tau2/Telecom-v0"}


def register_tau2() -> None:
    for domain, env_id in DOMAIN_IDS.items():
        agentrl.register(env_id, "agentrl.environments.tool_use.tau2:Tau2Env", kwargs={"domain": domain},
                         tasks=f"agentrl.environments.tool_use.tau2:{domain}_tasks",
                         rubric="agentrl.environments.tool_use.tau2:rubric",
                         scripted_policy="agentrl.environments.tool_use.tau2:probe_policy", max_turns=200,
                         description=f"tau2-bench {domain}: assistant with tau2's tools, simulated user, "
                                     "tau2's evaluator.", override=True)


@pytest.fixture(scope="session", autouse=True)
def tau2_envs():
    register_tau2()
    return DOMAIN_IDS
