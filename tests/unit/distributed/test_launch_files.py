"""The launch files parse, carry the keys their tools need, and point at configs that load."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from agentrl import registry
from agentrl.config import load_config
from agentrl.distributed.cli import main as cli_main
from agentrl.distributed.config import RayTrainConfig

LAUNCH = Path(__file__).resolve().parents[3] / "launch"
RAY_CONFIGS = sorted((LAUNCH / "configs").glob("ray_*.yaml"))


def test_there_is_a_config_per_scale():
    assert {p.stem for p in RAY_CONFIGS} >= {"ray_cpu", "ray_1gpu", "ray_8gpu", "ray_multinode"}


@pytest.mark.parametrize("path", [*RAY_CONFIGS, LAUNCH / "configs" / "quickstart.yaml"], ids=lambda p: p.name)
def test_config_loads_and_names_a_registered_env(path):
    cfg = load_config(RayTrainConfig, path)
    assert cfg.env.id in registry.registered()
    d = cfg.distributed
    gpus = d.learner_gpus + d.num_rollout_workers * d.gpus_per_rollout_worker
    if "8gpu" in path.name:
        assert gpus == 8
    if "multinode" in path.name:
        assert gpus > 8 and cfg.run.out_dir.startswith("/shared")
    if "cpu" in path.name:
        assert gpus == 0 and d.address is None


def test_ray_cluster_file_has_what_ray_up_needs():
    spec = yaml.safe_load((LAUNCH / "ray" / "cluster.yaml").read_text())
    for key in ("cluster_name", "provider", "auth", "setup_commands", "head_start_ray_commands",
                "worker_start_ray_commands", "file_mounts"):
        assert key in spec, key
    assert spec["provider"]["type"] == "local" and spec["provider"]["head_ip"] and spec["provider"]["worker_ips"]
    assert any("ray start --head" in c for c in spec["head_start_ray_commands"])
    assert any("ray start --address" in c for c in spec["worker_start_ray_commands"])


def test_kuberay_job_is_a_rayjob_whose_entrypoint_runs_a_loadable_config():
    job = yaml.safe_load((LAUNCH / "kuberay" / "rayjob.yaml").read_text())
    assert job["apiVersion"] == "ray.io/v1" and job["kind"] == "RayJob" and job["metadata"]["name"]
    spec = job["spec"]
    cluster = spec["rayClusterSpec"]
    assert cluster["headGroupSpec"]["template"]["spec"]["containers"][0]["image"]
    workers = cluster["workerGroupSpecs"]
    assert workers and all(w["replicas"] >= 1 and w["groupName"] for w in workers)
    limits = workers[0]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert int(limits["nvidia.com/gpu"]) == 8
    argv = shlex.split(spec["entrypoint"])
    assert argv[:3] == ["python", "-m", "agentrl.distributed.cli"]
    config = argv[argv.index("--config") + 1]
    load_config(RayTrainConfig, LAUNCH.parent / config)


def test_slurm_script_is_valid_bash_that_starts_ray_then_trains():
    script = LAUNCH / "slurm" / "train_ray.sbatch"
    subprocess.run(["bash", "-n", str(script)], check=True)
    text = script.read_text()
    assert text.startswith("#!/bin/bash") and "#SBATCH --nodes=" in text
    head, worker, train = (text.index("start --head"), text.index('start --address="$ADDRESS"'),
                           text.index("-m agentrl.distributed.cli"))
    assert head < worker < train


def test_cli_resolves_a_launch_config_with_address_and_mode(capsys):
    assert cli_main(["--config", str(LAUNCH / "configs" / "ray_cpu.yaml"), "--address", "auto", "--mode", "sync",
                     "--print-config", "run.steps=3"]) == 0
    printed = capsys.readouterr().out
    assert '"address": "auto"' in printed and '"mode": "sync"' in printed and '"steps": 3' in printed


def test_two_policy_config_maps_every_agent_of_its_env():
    from agentrl.training.build import resolve_policies

    cfg = load_config(RayTrainConfig, LAUNCH / "configs" / "ray_two_policies.yaml")
    mapped = [agent for p in resolve_policies(cfg) for agent in p.agents]
    assert sorted(mapped) == sorted(registry.make(cfg.env.id).possible_agents) and len(cfg.policies) == 2
