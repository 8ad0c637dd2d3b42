"""bench/chaos.py at a tiny size, as CI runs it: two families (game, sandbox) through `agentrl train-ray`, with a
scheduled verifier fault, a SIGKILL of the game's driver followed by a resume, and a sandbox container paused and
killed mid-command. The bench's ledger must come out clean (exit 0) and say so in its own words and numbers.

The drivers (game, sandbox, the game's uninterrupted reference) run one at a time in the bench's one Ray cluster
(`--concurrency 1`): each holds about 1 GiB with its actors, and the suite must pass with ~3 GiB free
(docs/reliability.md, "Tests under memory pressure"). Every assertion is per family, so none depends on the
families overlapping; the full bench (`python bench/chaos.py`) still runs them all at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.ray, pytest.mark.docker, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def test_chaos_ledger_is_clean(tmp_path):
    out = tmp_path / "ledger.json"
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "chaos.py"), "--episodes", "48", "--families",
                          "game,sandbox", "--faults", "verifier,driver,container", "--json", str(out),
                          "--timeout", "1500", "--concurrency", "1"], check=False, capture_output=True, text=True, cwd=ROOT,
                         timeout=1800)
    assert "chaos ledger" in run.stdout, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(out.read_text())
    assert run.returncode == 0, run.stdout[-3000:]
    fams = {f["family"]: f for f in report["families"]}
    assert set(fams) == {"game", "sandbox"}
    for f in fams.values():
        assert f["recorded"] == f["scheduled"] >= 16 and f["lost"] == f["duplicated"] == f["miscounted"] == 0, f
    assert fams["game"]["statuses"].get("verifier_error", 0) >= 1  # the scheduled seeds came up
    sandbox = fams["sandbox"]["statuses"]  # the killed container's episode fails env_error, the rest ran for real
    assert set(sandbox) == {"ok", "env_error"} and sandbox["env_error"] >= 1, sandbox
    assert any(f.startswith("container@") and "mid-command" in f for f in fams["sandbox"]["faults"]), fams["sandbox"]
    assert fams["game"]["restarts"] == 1 and report["resume"]["equal"], report["resume"]
    assert report["resume"]["grad_norm"] > 0  # a real update was compared, not two empty ones
    assert not any(report["leaks"].values()), report["leaks"]
