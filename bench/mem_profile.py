"""Run a command and record the memory it takes: the machine's low point of MemAvailable and, at that moment
and at the peak of the command's own process tree, which processes hold it (grouped by kind).

    python bench/mem_profile.py -- python -m pytest -q tests/e2e/test_chaos.py
    python bench/mem_profile.py --interval 0.5 --json /tmp/chaos.mem.json -- <command ...>

The tree is the command plus every descendant, and also anything whose command line names the tree's Ray temp
dir or that Docker started for it (containers run under dockerd, not under the command; they are counted by
the label-free rule "a process in a docker cgroup that appeared while the command ran"). RSS counts shared
pages once per process, so the tree's sum overstates a little (torch's shared libraries); PSS (from
/proc/PID/smaps_rollup) is used where readable, which splits shared pages fairly. Other users' processes on a
shared machine move MemAvailable too: the tree's own peak is the number to compare, the machine's low point is
what the command saw. Exit status: the command's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

GIB = 2**30
KINDS = (  # first match wins: (kind, substrings of the command line or name)
    ("vllm-engine", ("EngineCore", "VLLM::")),
    ("chromium", ("chrome", "chromium", "headless_shell")),
    ("ray-raylet", ("raylet",)),
    ("ray-gcs", ("gcs_server",)),
    ("ray-infra", ("ray/dashboard", "ray/_private", "log_monitor", "monitor.py", "runtime_env")),
    ("ray-worker", ("ray::", "default_worker.py")),
    ("docker", ("docker", "containerd")),
    ("agentrl-driver", ("agentrl.distributed.cli", "agentrl.cli")),
    ("pytest", ("pytest",)),
    ("python", ("python",)),
)


def available() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def kind_of(p: psutil.Process) -> str:
    try:
        text = p.name() + " " + " ".join(p.cmdline())
    except (psutil.Error, OSError):
        return "gone"
    return next((k for k, marks in KINDS if any(m in text for m in marks)), "other")


def command(p: psutil.Process) -> str:
    try:
        return " ".join(p.cmdline())[:110] or p.name()
    except (psutil.Error, OSError):
        return "?"


def pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return psutil.Process(pid).memory_info().rss
    except psutil.Error:
        return 0


def in_docker(pid: int) -> bool:
    try:
        return "docker" in Path(f"/proc/{pid}/cgroup").read_text()
    except OSError:
        return False


class Sampler(threading.Thread):
    def __init__(self, root: int, interval: float, before: set[int]):
        super().__init__(daemon=True)
        self.root, self.interval, self.before = root, interval, before
        self.stop = threading.Event()
        self.low = (available(), 0.0, {})  # (MemAvailable, t, kinds)
        self.peak = (0, 0.0, {})  # (tree bytes, t, kinds)
        self.peak_procs: list[tuple[int, str, int, str]] = []  # (PSS, kind, pid, command) at the tree's peak
        self.trace: list[tuple] = []  # (t, available GiB, tree GiB, {kind: GiB})
        self.t0 = time.monotonic()

    def tree(self) -> list[psutil.Process]:
        try:
            procs = [psutil.Process(self.root), *psutil.Process(self.root).children(recursive=True)]
        except psutil.Error:
            return []
        pids = {p.pid for p in procs}
        for p in psutil.process_iter():  # containers: under dockerd, not under the command
            if p.pid not in pids and p.pid not in self.before and in_docker(p.pid):
                procs.append(p)
        return procs

    def sample(self) -> None:
        kinds: dict[str, list[int]] = {}
        procs = []
        for p in self.tree():
            k, size = kind_of(p), pss(p.pid)
            entry = kinds.setdefault(k, [0, 0])
            entry[0] += size
            entry[1] += 1
            procs.append((size, k, p.pid, command(p)))
        total = sum(v[0] for v in kinds.values())
        avail, t = available(), time.monotonic() - self.t0
        self.trace.append((round(t, 1), round(avail / GIB, 2), round(total / GIB, 2),
                           {k: round(v[0] / GIB, 2) for k, v in kinds.items()}))
        if total > self.peak[0]:
            self.peak = (total, t, kinds)
            self.peak_procs = sorted(procs, reverse=True)[:15]
        if avail < self.low[0]:
            self.low = (avail, t, kinds)

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(self.interval)


def describe(kinds: dict[str, list[int]]) -> str:
    parts = sorted(kinds.items(), key=lambda kv: -kv[1][0])
    return ", ".join(f"{k} {v[0] / GIB:.2f} GiB ({v[1]})" for k, v in parts)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--interval", type=float, default=0.5, help="seconds between samples")
    ap.add_argument("--json", help="also write the numbers and the trace here")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    args = ap.parse_args()
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        raise SystemExit("give the command after --, e.g. mem_profile.py -- python -m pytest -q tests/e2e/x.py")
    before = {p.pid for p in psutil.process_iter()}
    start_avail = available()
    proc = subprocess.Popen(cmd)
    sampler = Sampler(proc.pid, args.interval, before)
    sampler.start()
    rc = proc.wait()
    sampler.stop.set()
    sampler.join()
    wall = time.monotonic() - sampler.t0
    peak, low = sampler.peak, sampler.low
    print(f"[mem_profile] rc {rc}, wall {wall:.1f} s; MemAvailable at start {start_avail / GIB:.2f} GiB, "
          f"lowest {low[0] / GIB:.2f} GiB at {low[1]:.0f} s")
    print(f"[mem_profile] tree peak {peak[0] / GIB:.2f} GiB (PSS) at {peak[1]:.0f} s: {describe(peak[2])}")
    print(f"[mem_profile] tree at the machine's low point: {describe(low[2])}")
    for size, kind, pid, text in sampler.peak_procs:
        print(f"[mem_profile]   {size / GIB:6.2f} GiB  {kind:14} {pid:>7}  {text}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "command": cmd, "rc": rc, "wall_s": round(wall, 1), "start_available_gib": start_avail / GIB,
            "lowest_available_gib": low[0] / GIB, "tree_peak_gib": peak[0] / GIB, "tree_peak_t": peak[1],
            "tree_peak_kinds": {k: [v[0] / GIB, v[1]] for k, v in peak[2].items()},
            "tree_peak_processes": [[s / GIB, k, pid, c] for s, k, pid, c in sampler.peak_procs],
            "trace": sampler.trace}, indent=1))
    return rc


if __name__ == "__main__":
    sys.exit(main())
