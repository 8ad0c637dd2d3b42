"""Metrics of a Ray run, logged once per update next to the learner's and the rollout's own.

- ``policy_lag/mean|max``: learner version at training time minus the version that started each episode.
- ``rollout/stale``: episodes over the lag bound (dropped or down-weighted).
- ``queue/*``: batches dispatched ahead, episodes in flight, episodes running and waiting for a slot in env actors.
- ``rollout_worker/<i>/*``: tokens/s, requests/s, busy share, last weight-sync seconds, restarts, CPU %.
- ``env_actor/<i>/*``: episodes/s, failed, running, waiting, restarts, CPU %.
- ``time/*``: wall-clock per update (``step_s``), time waiting for the batch, updating, syncing weights.
"""

from __future__ import annotations

import time
from typing import Any

from agentrl.types import Episode


def batch_metrics(episodes: list[Episode], trained_at: int, success_term: str, stale: int) -> dict[str, float]:
    from agentrl.train import _episode_metrics

    out = _episode_metrics(episodes, success_term)
    lags = [trained_at - e.policy_version for e in episodes if not e.status.is_failure]
    out["policy_lag/mean"] = sum(lags) / max(len(lags), 1)
    out["policy_lag/max"] = float(max(lags, default=0))
    out["rollout/stale"] = float(stale)
    return out


class ActorRates:
    """Turns the actors' cumulative counters into per-update rates; notices restarts (counters start over)."""

    def __init__(self) -> None:
        self.previous: dict[str, tuple[float, dict[str, Any]]] = {}
        self.restarts: dict[str, int] = {}

    def collect(self, stats: dict[str, dict[str, Any]]) -> dict[str, float]:
        now = time.monotonic()
        out: dict[str, float] = {"queue/env_running": 0.0, "queue/env_waiting": 0.0}
        for name, s in stats.items():
            then, before = self.previous.get(name, (s["started"], {}))
            if before and _restarted(before, s):
                self.restarts[name] = self.restarts.get(name, 0) + 1
                then, before = s["started"], {}
            dt = max(now - then, 1e-9)
            self.previous[name] = (now, s)
            out[f"{name}/restarts"] = float(self.restarts.get(name, 0))
            out[f"{name}/cpu_percent"] = float(s.get("cpu_percent", float("nan")))
            if name.startswith("rollout_worker/"):
                out[f"{name}/tokens_per_s"] = (s["completion_tokens"] - before.get("completion_tokens", 0)) / dt
                out[f"{name}/requests_per_s"] = (s["requests"] - before.get("requests", 0)) / dt
                out[f"{name}/busy"] = (s["busy_s"] - before.get("busy_s", 0.0)) / dt
                out[f"{name}/last_sync_s"] = float(s["last_sync_s"])
                out[f"{name}/version"] = float(s["version"])
            else:
                out[f"{name}/episodes_per_s"] = (s["episodes"] - before.get("episodes", 0)) / dt
                out[f"{name}/failed"] = float(s["failed"])
                out[f"{name}/running"] = float(s["running"])
                out["queue/env_running"] += s["running"]
                out["queue/env_waiting"] += s["waiting"]
        return out


def _restarted(before: dict[str, Any], now: dict[str, Any]) -> bool:
    if "incarnation" in now:
        return before.get("incarnation") != now["incarnation"]
    return now["started"] != before.get("started")
