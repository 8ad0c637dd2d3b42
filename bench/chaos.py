"""A chaos run with a ledger: several env families train at once through `agentrl train-ray` while faults land on
a schedule, then the run folders on disk are checked against the schedule.

    python bench/chaos.py                               # >= 256 episodes over game, web and sandbox (a few minutes)
    python bench/chaos.py --episodes 48 --families game,sandbox --faults driver,container,verifier --concurrency 1

Families (each one `agentrl train-ray` process joining one local Ray cluster this script starts on 127.0.0.1
with its own temp dir, and stops at the end):

    game     chaos/GuessNumber-v0, torch sampler, sync     faults: verifier (scheduled seeds), driver (SIGKILL + resume)
    web      web/Shop-v0 in Chromium, vLLM CPU, async     faults: chromium (SIGKILL), engine (vLLM core), env_actor
    sandbox  chaos/Sandbox-v0 (Docker), torch, async      faults: container (docker pause, then kill, mid-command)

`--concurrency N` runs at most N of the drivers (the families, then the game's reference) at once in that one
cluster, the rest queued; each family's ledger is the same either way. 1 is what fits a machine with ~3 GiB free
(each driver with its learner, rollout worker and env actor holds about 1 GiB; docs/reliability.md).

The game family also runs an uninterrupted reference with the same seeds; its update after the resume point must
equal the resumed run's (loss terms, gradient norm, and a checksum of the checkpoint's parameters). The ledger:
every scheduled episode recorded exactly once (lost, duplicated), every failure with the status its fault gives
and never scored (miscounted), and no container, browser or Ray process left (leaks). Exit status 1 if any is
non-zero. See docs/reliability.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALL_FAULTS = ("verifier", "driver", "chromium", "engine", "env_actor", "container")
FAMILY_FAULTS = {"game": ("verifier", "driver"), "web": ("chromium", "engine", "env_actor"), "sandbox": ("container",)}
STATUS_OF = {"verifier": "verifier_error", "chromium": "env_error", "engine": "policy_error", "env_actor": "env_error",
             "container": "env_error"}  # the status a fault must give the episodes it hits
TASKS, GROUP = 4, 4
# Ray's memory monitor kills the newest actor when the whole node is 95% used, counting other users' memory
# (under bench/memory_hog.py it killed the reference's learner); at 99% the kernel's OOM killer, which picks
# by oom_score, decides first. The tiny model's weights and the episodes are all the object store carries; Ray's default (30% of RAM, in
# /dev/shm) would let it grow into the memory a loaded machine does not have.
OBJECT_STORE_BYTES = 256 << 20


@dataclass
class Family:
    name: str
    steps: int
    faults: tuple[str, ...]
    out: Path
    overrides: list[str]
    proc: subprocess.Popen | None = None
    injected: list[tuple[str, int, str]] = field(default_factory=list)  # (fault, at update, detail)
    restarts: int = 0

    @property
    def namespace(self) -> str:
        return f"chaos-{self.name}"


def family_overrides(name: str, out: Path, steps: int, run_id: str) -> list[str]:
    common = [f"run.out_dir={out}", f"run.steps={steps}", "run.tensorboard=false", "run.log_every=1",
              "distributed.setup=[agentrl.environments.chaos:register]", f"rollout.tasks_per_step={TASKS}",
              f"rollout.group_size={GROUP}", "model.max_model_len=512", "learner.lr=0.01",
              "distributed.num_cpus=null", "distributed.max_actor_restarts=5"]
    if name == "game":  # exact resume needs the seeded torch sampler and the synchronous schedule
        return [*common, "env.id=chaos/GuessNumber-v0", "model.engine=torch", "distributed.mode=sync",
                "run.save_every=1", "rollout.max_turns=2", "rollout.max_tokens=3", "distributed.num_env_actors=1",
                "env.reward_weights={valid_guess: 1.0}"]  # a dense term, so a random model's updates are not zero
    if name == "web":
        return [*common, "env.id=web/Shop-v0", "model.engine=vllm", "model.max_model_len=2048", "model.max_num_seqs=8",
                "env.kwargs={max_chars: 1000}", "distributed.mode=async",
                "distributed.max_policy_lag=1", "run.save_every=100", "rollout.max_turns=2", "rollout.max_tokens=8",
                "distributed.num_env_actors=2", "distributed.episodes_per_env_actor=3",
                "rollout.turn_timeout=900"]  # a loaded machine's first vLLM turns are slow: no timeout by load
    if name == "sandbox":
        return [*common, "env.id=chaos/Sandbox-v0", f"env.kwargs={{run: {run_id}, command_s: 3.0}}",
                "model.engine=torch", "distributed.mode=async", "run.save_every=100", "rollout.max_tokens=4",
                "distributed.num_env_actors=1", "distributed.episodes_per_env_actor=8"]  # 3 s: a kill lands mid-command
    raise SystemExit(f"unknown family {name!r}; choose from {sorted(FAMILY_FAULTS)}")


# -- processes ------------------------------------------------------------------------------------------------------
def descendants() -> list:
    import psutil

    return psutil.Process().children(recursive=True)


def cmdline(p) -> str:
    try:
        return " ".join(p.cmdline())
    except Exception:  # noqa: BLE001 - gone meanwhile
        return ""


def ours(mark: str) -> list:
    """Live processes under this script whose command line holds `mark` (other helpers' processes never match)."""
    import psutil

    out = []
    for p in descendants():
        try:
            if p.status() != psutil.STATUS_ZOMBIE and mark in cmdline(p):
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def start_driver(fam: Family, address: str, log_name: str = "driver.log") -> None:
    cmd = [sys.executable, "-m", "agentrl.distributed.cli", *fam.overrides, f"distributed.address={address}",
           f"distributed.namespace={fam.namespace}"]
    fam.out.mkdir(parents=True, exist_ok=True)
    log = open(fam.out.parent / f"{fam.out.name}-{log_name}", "a")  # noqa: SIM115 - the child owns it
    fam.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)


def rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a torn last line of a killed run
            pass
    return out


# -- faults -----------------------------------------------------------------------------------------------------------
def inject(fault: str, fam: Family, run_id: str, address: str) -> str:
    """Land one fault; returns what was hit ('' when there was nothing to hit yet, so it is retried)."""
    import ray

    if fault == "driver":
        os.killpg(fam.proc.pid, signal.SIGKILL)
        fam.proc.wait(timeout=60)
        fam.restarts += 1
        start_driver(fam, address, "resumed.log")  # run.resume defaults to true: the newest checkpoint
        return f"driver pid {fam.proc.pid} restarted"
    if fault == "env_actor":
        actor = ray.get_actor("env-0", namespace=fam.namespace)
        if ray.get(actor.get_stats.remote(), timeout=30)["running"] == 0:
            return ""
        ray.kill(actor, no_restart=False)
        return "env-0"
    if fault == "container":
        return kill_mid_command(run_id)
    if fault == "chromium":
        browsers = [p for p in ours("agentrl-chromium-") if "--type=" not in cmdline(p)]  # the browser, not helpers
        if not browsers:
            return ""
        os.kill(browsers[0].pid, signal.SIGKILL)
        return f"chromium pid {browsers[0].pid}"
    if fault == "engine":
        cores = [p for p in descendants() if "EngineCore" in (p.name() + cmdline(p))]
        if not cores:
            return ""
        os.kill(cores[0].pid, signal.SIGKILL)
        return f"vLLM engine core pid {cores[0].pid}"
    raise ValueError(fault)


def container_mid_command(run_id: str) -> tuple[str, int]:
    """(id, pid of its ``sleep``) of one of the run's containers that is running the env's command right now
    (('', 0) if none is): the ``sleep`` shows in the host's process table, in the container's cgroup."""
    import psutil

    ids = subprocess.run(["docker", "ps", "-q", "--no-trunc", "--filter", f"label=agentrl.chaos={run_id}"],
                         capture_output=True, text=True, check=False).stdout.split()
    if not ids:
        return "", 0
    for p in psutil.process_iter(["name"]):
        if p.info["name"] != "sleep":
            continue
        cid = next((c for c in ids if c in in_cgroup(p.pid)), "")
        if cid:
            return cid, p.pid
    return "", 0


def in_cgroup(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cgroup").read_text()
    except OSError:  # gone meanwhile
        return ""


def kill_mid_command(run_id: str) -> str:
    """Kill a container while its command runs. Finding one scans the host's processes, which takes a while on a
    loaded machine, long enough for the command to end meanwhile (and a kill then says nothing about commands).
    So: `docker pause` it (the freezer stops every process in it, so the command cannot end), check that its
    ``sleep`` is still there, then `docker kill` it; a container whose command ended meanwhile is unpaused and
    left alone ('' is returned, and the fault is tried again)."""
    box, pid = container_mid_command(run_id)
    if not box:
        return ""
    docker = lambda *args: subprocess.run(["docker", *args, box], capture_output=True, text=True, check=False)
    if docker("pause").returncode != 0:  # gone or being removed meanwhile
        return ""
    if box not in in_cgroup(pid):
        docker("unpause")
        return ""
    killed = docker("kill")
    if killed.returncode != 0:
        docker("unpause")
        return ""
    return f"container {box[:12]} (paused mid-command, sleep pid {pid}, then killed)"


def schedule_faults(fam: Family) -> list[tuple[str, int]]:
    """(fault, the update after which it lands): spread over the run, the driver kill after a checkpoint."""
    active = [f for f in fam.faults if f != "verifier"]
    gaps = max(1, (fam.steps - 1) // max(len(active), 1))
    return [(f, min(1 + i * gaps, fam.steps - 1)) for i, f in enumerate(active)]


# -- the ledger -------------------------------------------------------------------------------------------------------
def expected_specs(overrides: list[str]) -> tuple[dict, list]:
    from agentrl.config import load_config
    from agentrl.distributed.config import RayTrainConfig
    from agentrl.environments import chaos
    from agentrl.registry import tasks
    from agentrl.training.schedule import Schedule

    chaos.register()
    cfg = load_config(RayTrainConfig, None, overrides)
    schedule = Schedule(tasks(cfg.env.id, cfg.env.split), cfg)
    return cfg, [s for step in range(cfg.run.steps) for s in schedule.specs(step)]


def ledger(fam: Family) -> dict:
    from agentrl.environments.chaos import verifier_fault

    _, specs = expected_specs(fam.overrides)
    episodes = rows(fam.out / "episodes.jsonl")
    want = {(s.step, s.task.id, s.sample): s for s in specs}
    got: dict[tuple, list[dict]] = {}
    for e in episodes:
        got.setdefault((e["info"]["step"], e["task"]["id"], e["info"]["sample"]), []).append(e)
    lost = [k for k in want if k not in got]
    duplicated = sum(len(v) - 1 for v in got.values()) + sum(len(v) for k, v in got.items() if k not in want)
    allowed = {STATUS_OF[f] for f in fam.faults if f in STATUS_OF}
    miscounted, problems = 0, []
    for key, found in got.items():
        e = found[0]
        failed = e["status"] not in ("ok", "truncated")
        bad = []
        # A failure carries no reward, and one the env or policy caused no outcome terms either (a verifier
        # failure keeps the terms that did run, as evidence; its reward is still empty).
        if failed and (e["reward"] or (e["status"] != "verifier_error" and any(e["outcome_rewards"].values()))):
            bad.append("a failure with a score")
        if failed and e["status"] not in allowed:
            bad.append(f"status {e['status']} but no fault here gives it ({e['error']!r:.120})")
        if key in want and e["seed"] != want[key].seed:
            bad.append(f"seed {e['seed']} != scheduled {want[key].seed}")
        scheduled = "verifier" in fam.faults and verifier_fault(e["task"]["id"], e["seed"])
        if scheduled and e["status"] == "ok":
            bad.append("a scheduled verifier fault scored as ok")
        if e["status"] == "verifier_error" and not scheduled:
            bad.append("verifier_error on an unscheduled seed")
        if bad:
            miscounted += 1
            problems.append(f"{key}: {'; '.join(bad)}")
    metrics = rows(fam.out / "metrics.jsonl")
    for r in metrics:  # what the run reported agrees with what it wrote
        failed = sum(1 for v in got.values() if v[0]["info"]["step"] == r["step"] - 1
                     and v[0]["status"] not in ("ok", "truncated"))
        if int(r["rollout/failed"]) != failed:
            miscounted += 1
            problems.append(f"update {r['step']}: rollout/failed {r['rollout/failed']} but {failed} failed on disk")
        if not r.get("learner/skipped") and r.get("learner/episodes_dropped", 0) < failed:
            miscounted += 1  # the learner trained on a failure
            problems.append(f"update {r['step']}: {failed} failures but the learner dropped "
                            f"{r.get('learner/episodes_dropped')}")
    statuses: dict[str, int] = {}
    for v in got.values():
        statuses[v[0]["status"]] = statuses.get(v[0]["status"], 0) + 1
    for fault in {x[0] for x in fam.injected} - {"driver"}:  # each fault that landed shows up with its status
        if statuses.get(STATUS_OF[fault], 0) == 0:
            problems.append(f"fault {fault} landed but no episode has status {STATUS_OF[fault]}")
            miscounted += 1
    steps = [r["step"] for r in metrics]
    if steps != list(range(1, fam.steps + 1)):
        problems.append(f"metrics.jsonl has updates {steps}, expected 1..{fam.steps} once each")
    return {"family": fam.name, "scheduled": len(want), "recorded": len(episodes), "lost": len(lost),
            "duplicated": duplicated, "miscounted": miscounted, "statuses": statuses, "problems": problems[:8],
            "faults": [f"{f}@{s}: {d}" for f, s, d in fam.injected], "restarts": fam.restarts}


def checksum(folder: Path) -> str:
    """A checksum of a checkpoint's parameters (the safetensors of its model folder)."""
    h = hashlib.sha256()
    for f in sorted((folder / "main" / "model").glob("*.safetensors")):
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def resume_check(fam: Family, ref: Path) -> dict:
    """The resumed run's first update after its resume point against the uninterrupted reference's."""
    logs = sorted(fam.out.parent.glob(f"{fam.out.name}-resumed.log"))
    text = logs[0].read_text() if logs else ""
    marks = [int(line.split("(step ")[1].split(",")[0]) for line in text.splitlines() if "resuming policy" in line]
    if not marks:
        return {"resumed_from": None, "equal": False, "why": "no resume line in the resumed driver's log"}
    start = marks[-1]
    a, b = rows(ref / "metrics.jsonl"), rows(fam.out / "metrics.jsonl")
    if len(a) <= start or len(b) <= start:  # a driver failed (its exit is reported): print the ledger anyway
        return {"resumed_from": start, "equal": False, "why": f"update {start + 1} missing (reference has {len(a)}, "
                f"resumed run {len(b)} updates)"}
    keys = [k for k in a[start] if k.startswith("loss/")] + ["learner/grad_norm", "rollout/reward"]
    diffs = {k: abs(a[start][k] - b[start][k]) for k in keys if k in b[start]}
    ca = checksum(ref / "checkpoints" / f"step-{start + 1:06d}")
    cb = checksum(fam.out / "checkpoints" / f"step-{start + 1:06d}")
    equal = max(diffs.values(), default=1.0) <= 1e-6 and ca == cb
    return {"resumed_from": start, "next_update": start + 1, "max_abs_diff": max(diffs.values(), default=None),
            "grad_norm": b[start].get("learner/grad_norm"), "params_resumed": cb, "params_reference": ca,
            "equal": equal}


def leaks(run_id: str, temp_dir: str, seen: dict[int, str]) -> dict:
    import psutil

    containers = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=agentrl.chaos={run_id}"],
                                capture_output=True, text=True, check=False).stdout.split()
    alive = {"chromium": [], "ray": []}
    for pid, kind in seen.items():
        try:
            p = psutil.Process(pid)
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                alive[kind].append(f"{pid} {cmdline(p)[:80]}")
        except psutil.NoSuchProcess:
            pass
    for p in psutil.process_iter():  # anything still naming this run's Ray temp dir
        if temp_dir in cmdline(p) and p.pid not in seen:
            alive["ray"].append(f"{p.pid} {cmdline(p)[:80]}")
    return {"containers": containers, **alive}


def watch(seen: dict[int, str]) -> None:
    for p in descendants():
        line = cmdline(p)
        if "agentrl-chromium-" in line:
            seen.setdefault(p.pid, "chromium")
        elif p.pid not in seen:
            seen[p.pid] = "ray"


# -- main -------------------------------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--episodes", type=int, default=256, help="at least this many scheduled episodes, over the families")
    ap.add_argument("--families", default="game,web,sandbox", help="comma list of game, web, sandbox")
    ap.add_argument("--faults", default=",".join(ALL_FAULTS), help=f"comma list of {', '.join(ALL_FAULTS)}")
    ap.add_argument("--out", help="keep the run folders here (default: a temp dir, removed)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds before the run is called stuck")
    ap.add_argument("--json", help="also write the ledger as JSON to this file")
    ap.add_argument("--concurrency", type=int, default=0,
                    help="at most this many drivers at once, the rest queued (0: all at once)")
    args = ap.parse_args()
    if args.concurrency < 0:
        raise SystemExit("--concurrency must be >= 0 (0 runs every driver at once; 1 fits ~3 GiB of free memory)")

    names = [n for n in args.families.split(",") if n]
    faults = {f for f in args.faults.split(",") if f}
    if unknown := faults - set(ALL_FAULTS):
        raise SystemExit(f"unknown faults {sorted(unknown)}; choose from {ALL_FAULTS}")
    steps = max(3, math.ceil(args.episodes / len(names) / (TASKS * GROUP)))
    base = Path(args.out or tempfile.mkdtemp(prefix="agentrl-chaos-")).resolve()
    temp_dir = tempfile.mkdtemp(prefix="rc-", dir="/tmp")  # short: Ray's socket paths must fit
    run_id = f"chaos{os.getpid()}"
    fams = [Family(n, steps, tuple(f for f in FAMILY_FAULTS[n] if f in faults), base / n,
                   family_overrides(n, base / n, steps, run_id)) for n in names]
    game = next((f for f in fams if f.name == "game" and "driver" in f.faults), None)
    ref = Family("reference", steps, (), base / "reference", family_overrides("game", base / "reference", steps, run_id))

    import ray

    from agentrl.distributed.cluster import LOCAL_SYSTEM_CONFIG, QUIET, loopback_only

    loopback_only()
    ray.init(num_cpus=16, _temp_dir=temp_dir, include_dashboard=False, configure_logging=False,
             _node_ip_address="127.0.0.1", namespace="chaos-bench", runtime_env={"env_vars": QUIET},
             _system_config={**LOCAL_SYSTEM_CONFIG, "memory_usage_threshold": 0.99},
             object_store_memory=OBJECT_STORE_BYTES)
    address = ray.get_runtime_context().gcs_address
    seen: dict[int, str] = {}
    started = time.monotonic()
    report: dict = {}
    drivers = [*fams, *([ref] if game else [])]
    queued = list(drivers)
    running = lambda: [f for f in drivers if f.proc is not None and f.proc.poll() is None]
    try:
        plans = {f.name: schedule_faults(f) for f in fams}
        while queued or running():
            while queued and (not args.concurrency or len(running()) < args.concurrency):
                start_driver(queued.pop(0), address)
            if time.monotonic() - started > args.timeout:
                raise SystemExit(f"stuck after {args.timeout} s; run folders in {base}")
            watch(seen)
            for fam in fams:
                if fam.proc is None:
                    continue
                done = len(rows(fam.out / "metrics.jsonl"))
                for fault, at in list(plans[fam.name]):
                    if fam.proc.poll() is not None or done < at:
                        continue
                    if fault == "driver" and not any((fam.out / "checkpoints").glob("step-*")):
                        continue
                    try:
                        hit = inject(fault, fam, run_id, address)
                    except Exception as e:  # noqa: BLE001 - a busy actor or a process gone meanwhile: try again
                        print(f"[chaos] {fam.name}: {fault} not landed yet ({type(e).__name__}); retrying", flush=True)
                        hit = ""
                    if hit:
                        fam.injected.append((fault, done, hit))
                        plans[fam.name].remove((fault, at))
                        print(f"[chaos] {fam.name}: {fault} after update {done}: {hit}", flush=True)
            time.sleep(0.3)
        report["driver_failures"] = {}
        for fam in drivers:
            if fam.proc.returncode != 0:
                log = fam.out.parent / f"{fam.out.name}-{'resumed' if fam.restarts else 'driver'}.log"
                tail = "\n".join(log.read_text().splitlines()[-15:])
                print(f"{fam.name} driver exited {fam.proc.returncode}; last lines of {log}:\n{tail}", flush=True)
                report["driver_failures"][fam.name] = fam.proc.returncode
        report["wall_s"] = round(time.monotonic() - started, 1)
        report["families"] = [ledger(f) for f in fams]
        missed = {f.name: [x for x, _ in plans[f.name]] for f in fams if plans[f.name]}
        report["faults_not_landed"] = missed
        if game:
            report["resume"] = resume_check(game, ref.out)
    finally:
        watch(seen)
        ray.shutdown()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(k for k in leaks(run_id, temp_dir, seen).values()):
            time.sleep(1)
        report["leaks"] = leaks(run_id, temp_dir, seen)
        shutil.rmtree(temp_dir, ignore_errors=True)
    return print_ledger(report, base, keep=bool(args.out), json_out=args.json)


def print_ledger(report: dict, base: Path, keep: bool, json_out: str | None) -> int:
    fams = report.get("families", [])
    total = {k: sum(f[k] for f in fams) for k in ("scheduled", "recorded", "lost", "duplicated", "miscounted")}
    leak = {k: len(v) for k, v in report["leaks"].items()}
    print("\nchaos ledger")
    print(f"{'family':10} {'scheduled':>9} {'recorded':>8} {'lost':>5} {'dup':>4} {'miscount':>8}  statuses")
    for f in fams:
        print(f"{f['family']:10} {f['scheduled']:9d} {f['recorded']:8d} {f['lost']:5d} {f['duplicated']:4d} "
              f"{f['miscounted']:8d}  {json.dumps(f['statuses'], sort_keys=True)}")
        for line in f["faults"]:
            print(f"{'':12}fault {line}")
        for line in f["problems"]:
            print(f"{'':12}PROBLEM {line}")
    print(f"{'total':10} {total['scheduled']:9d} {total['recorded']:8d} {total['lost']:5d} {total['duplicated']:4d} "
          f"{total['miscounted']:8d}")
    resume = report.get("resume")
    if resume:
        print(f"resume: from update {resume.get('resumed_from')}, next update equal to the uninterrupted run's: "
              f"{resume['equal']} (max |diff| {resume.get('max_abs_diff')}, grad_norm {resume.get('grad_norm')}, "
              f"params {resume.get('params_resumed')} vs {resume.get('params_reference')})")
    if report.get("driver_failures"):
        print(f"drivers that failed: {report['driver_failures']}")
    if report.get("faults_not_landed"):
        print(f"faults not landed: {report['faults_not_landed']}")
    print(f"leaks: containers {leak['containers']}, chromium {leak['chromium']}, ray {leak['ray']}"
          + (f"  {report['leaks']}" if any(leak.values()) else ""))
    print(f"wall {report.get('wall_s')} s; run folders: {base if keep else '(removed)'}")
    if json_out:
        Path(json_out).write_text(json.dumps(report, indent=2))
    if not keep:
        shutil.rmtree(base, ignore_errors=True)
    bad = (total["lost"] or total["duplicated"] or total["miscounted"] or any(leak.values()) or not fams
           or (resume is not None and not resume["equal"]) or report.get("faults_not_landed")
           or report.get("driver_failures"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
