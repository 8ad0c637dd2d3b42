"""Metrics of a Ray run, logged once per update next to the learner's and the rollout's own.

- ``policy_lag/mean|max``: learner version at training time minus the version that started each episode
  (per policy as ``policy_lag/<policy>/mean|max`` in a multi-policy run).
- ``rollout/stale``: episodes over the lag bound (dropped or down-weighted), summed over policies.
- ``rollout/reward/<policy>``: the mean reward of each policy's agents (multi-policy runs).
- ``rollout/sampling_rounds|dropped_groups|kept_groups``: dynamic sampling's refill rounds (when it is on).
- ``queue/*``: batches dispatched ahead, episodes in flight, episodes running and waiting for a slot in env
  actors, model calls in flight in rollout workers (``queue/worker_in_flight``).
- ``rollout_worker/<i>/*`` (``rollout_worker/<policy>/<i>/*`` with several policies): tokens/s, requests/s, busy
  share, in-flight calls, last weight-sync seconds, version, restarts, CPU %, RSS GiB.
- ``env_actor/<i>/*``: episodes/s, failed, running, waiting, restarts, CPU %, RSS GiB.
- ``learner/*`` (``policy/<p>/learner/*``): the learner's own, plus tokens/s trained, CPU % and RSS GiB.
- ``host/*``: the whole machine's CPU % (100 = every core busy), memory in use, and GPU utilisation and memory
  per visible GPU where NVML answers (``host/gpu<i>/util_percent|mem_gb``).
- ``time/*``: wall-clock per update (``step_s``), time waiting for the batch, updating, syncing weights.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from agentrl.types import Episode


def lag_metrics(episodes: list[Episode], trained_at: dict[str, int], stale: int, policy_map: Sequence[Any] = ()
                ) -> dict[str, float]:
    """Policy lag of a batch (learner version at training time minus the version that started each episode), and
    how many episodes were over the bound. `policy_map`: the `PolicyConfig`s of a multi-policy run (lag per policy).
    The rollout metrics themselves are the core's (`agentrl.training.schedule.rollout_metrics`)."""
    ok = [e for e in episodes if not e.status.is_failure]
    lags = [min(trained_at.values()) - e.policy_version for e in ok]
    out = {"policy_lag/mean": sum(lags) / max(len(lags), 1), "policy_lag/max": float(max(lags, default=0))}
    if len(policy_map) > 1:
        for p in policy_map:
            mine = [trained_at[p.name] - (e.info.get("policy_versions") or {}).get(p.name, e.policy_version)
                    for e in ok]
            out[f"policy_lag/{p.name}/mean"] = sum(mine) / max(len(mine), 1)
            out[f"policy_lag/{p.name}/max"] = float(max(mine, default=0))
    out["rollout/stale"] = float(stale)
    return out


class ActorRates:
    """Turns the actors' cumulative counters into per-update rates; notices restarts (counters start over)."""

    def __init__(self) -> None:
        self.previous: dict[str, tuple[float, dict[str, Any]]] = {}
        self.restarts: dict[str, int] = {}

    def collect(self, stats: dict[str, dict[str, Any]]) -> dict[str, float]:
        now = time.monotonic()
        out: dict[str, float] = {"queue/env_running": 0.0, "queue/env_waiting": 0.0, "queue/worker_in_flight": 0.0}
        for name, s in stats.items():
            then, before = self.previous.get(name, (s["started"], {}))
            if before and _restarted(before, s):
                self.restarts[name] = self.restarts.get(name, 0) + 1
                then, before = s["started"], {}
            dt = max(now - then, 1e-9)
            self.previous[name] = (now, s)
            out[f"{name}/restarts"] = float(self.restarts.get(name, 0))
            out[f"{name}/cpu_percent"] = float(s.get("cpu_percent", float("nan")))
            if "rss_gb" in s:
                out[f"{name}/rss_gb"] = float(s["rss_gb"])
            if name.startswith("rollout_worker/"):
                out[f"{name}/tokens_per_s"] = (s["completion_tokens"] - before.get("completion_tokens", 0)) / dt
                out[f"{name}/requests_per_s"] = (s["requests"] - before.get("requests", 0)) / dt
                out[f"{name}/busy"] = (s["busy_s"] - before.get("busy_s", 0.0)) / dt
                out[f"{name}/last_sync_s"] = float(s["last_sync_s"])
                out[f"{name}/version"] = float(s["version"])
                out[f"{name}/in_flight"] = float(s.get("in_flight", 0))
                out["queue/worker_in_flight"] += s.get("in_flight", 0)
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


def host_metrics() -> dict[str, float]:
    """The driver's machine: CPU % over every core since the previous call, memory, and GPUs where NVML answers
    (on a cluster, each actor's own CPU % and RSS are in its ``<actor>/`` metrics)."""
    out: dict[str, float] = {}
    try:
        import psutil
    except ImportError:
        return out
    out["host/cpu_percent"] = float(psutil.cpu_percent(interval=None))
    out["host/mem_used_gb"] = (psutil.virtual_memory().total - psutil.virtual_memory().available) / 2 ** 30
    out.update(_gpu_metrics())
    return out


def _gpu_metrics() -> dict[str, float]:
    try:
        import pynvml
    except ImportError:  # no NVML bindings: a CPU machine, or the bindings are not installed
        return {}
    try:
        pynvml.nvmlInit()
    except Exception:  # no driver: a CPU machine with the bindings installed  # noqa: BLE001
        return {}
    out = {}
    try:
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            out[f"host/gpu{i}/util_percent"] = float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
            out[f"host/gpu{i}/mem_gb"] = pynvml.nvmlDeviceGetMemoryInfo(handle).used / 2 ** 30
    finally:
        pynvml.nvmlShutdown()
    return out
