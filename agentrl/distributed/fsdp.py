"""The FSDP2 learner: `FSDPLearner` (the `Learner` sharded over the ranks of a torch.distributed group),
its `ShardingConfig`, and `make_learner`, which picks the learner a run's GPU settings call for.

On GPUs each learner rank is one process with one GPU in one NCCL group (`fully_shard` per decoder layer,
then the root); in CI the same code runs over gloo ranks on CPU. Checkpoints are sharded (`SHARDED/`, with
the whole model in Hugging Face format beside it).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from agentrl.algorithms import AdvantageConfig, LossConfig, policy_loss
from agentrl.errors import ConfigError
from agentrl.learner import Learner, LearnerConfig, build_samples
from agentrl.types import Episode


@dataclasses.dataclass(frozen=True)
class ShardingConfig:
    """How `FSDPLearner` shards and computes.

    - `compute_dtype`: the dtype FSDP2 casts parameters to for forward/backward (master weights and the
      optimizer state stay in `LearnerConfig.dtype`, normally float32). None computes in the master dtype.
    - `reduce_dtype`: the dtype gradients are reduce-scattered in.
    - `activation_checkpointing`: recompute each decoder layer's activations in backward (less memory, about a
      third more compute).
    - `reshard_after_forward`: free the gathered parameters after each layer's forward (ZeRO-3); False keeps
      them until backward (ZeRO-2-like: more memory, fewer all-gathers).
    """

    compute_dtype: str | None = "bfloat16"
    reduce_dtype: str = "float32"
    activation_checkpointing: bool = False
    reshard_after_forward: bool = True
    # With one rank there is nothing to shard: FSDP2 would only add a gather, a cast and a gradient copy per
    # layer per micro-batch. The unsharded model then computes under torch.autocast in `compute_dtype` (master
    # weights in LearnerConfig.dtype, as with FSDP's mixed precision). True shards anyway.
    shard_single_rank: bool = False

    def __post_init__(self) -> None:
        for name in ("compute_dtype", "reduce_dtype"):
            value = getattr(self, name)
            if value is not None and value not in ("float32", "bfloat16", "float16"):
                raise ConfigError(f"sharding.{name} must be float32, bfloat16 or float16, got {value!r}.")


class FSDPLearner(Learner):
    """The `Learner` with its model sharded by FSDP2 (`fully_shard` per decoder layer, then the root) over the
    ranks of the default process group: one process per GPU (NCCL), or CPU processes over gloo (tests).

    Every rank is given the same episodes and trains on a share of whole groups (so group-relative advantages
    are unchanged), balanced by sequence count. The loss of each rank is scaled so that FSDP's average over
    ranks equals the loss of the whole batch (token mean over the global token count). Ranks with fewer
    micro-batches (or none) run zero-loss padding passes, because every rank must take part in every
    all-gather and reduce-scatter.

    `update` returns the whole batch's metrics on every rank (loss terms, tokens, sequences summed over ranks),
    so rank 0's equal what one unsharded learner reports for the same batch.

    Checkpoints (`save`/`load`) are sharded: every rank writes its shards of the model and the optimizer state
    with torch.distributed.checkpoint (`SHARDED/`); rank 0 also writes the whole model in Hugging Face format
    (`model/`, for `agentrl eval` and inference engines) and the version (`fsdp.pt`); each rank its RNG state
    (`rng-<rank>.pt`). `load` reshards, so a run may resume with another number of ranks.

    Limits (a clear `ConfigError`, not a silent difference): with more than one rank `mini_batches` must be 1;
    the value head (PPO) is not sharded yet.
    """

    def __init__(self, model_path: str | Path, config: LearnerConfig = LearnerConfig(),  # noqa: B008
                 advantage: AdvantageConfig = AdvantageConfig(), loss: LossConfig = LossConfig(),  # noqa: B008
                 sharding: ShardingConfig = ShardingConfig()):
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        self.rank, self.world = dist.get_rank(), dist.get_world_size()
        on_gpu = dist.get_backend() == "nccl"  # gloo ranks compute on CPU even where a GPU is visible
        if self.world > 1 and config.mini_batches != 1:
            raise ConfigError(f"learner.mini_batches={config.mini_batches} with an FSDP learner over {self.world} "
                              "ranks is not supported yet: set learner.mini_batches: 1 (one optimizer step per epoch).")
        if config.value_head:
            raise ConfigError("learner.value_head (PPO's critic) is not sharded by the FSDP learner yet: use "
                              "distributed.learner_gpus: 1 (an unsharded learner on one GPU) or a critic-free "
                              "estimator (grpo, rloo...).")
        self.sharding = sharding
        if on_gpu:  # a Ray actor sees only its own GPU (index 0); torchrun's ranks see the node's GPUs
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", self.rank)) % torch.cuda.device_count())
            device = f"cuda:{torch.cuda.current_device()}"
        else:
            device = "cpu"
        super().__init__(model_path, config, advantage, loss, device=device)

    def _build_model(self, model_path: str | Path) -> torch.nn.Module:
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

        model = super()._build_model(model_path)
        if self.sharding.activation_checkpointing:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if self.world == 1 and not self.sharding.shard_single_rank:
            self.compute_dtype = self.sharding.compute_dtype if self.config.compute_dtype == "auto" \
                else self.config.compute_dtype
            return model
        mesh = init_device_mesh(self.device.type, (self.world,))
        self.compute_dtype = None  # FSDP2 casts the parameters itself (MixedPrecisionPolicy): no autocast on top
        compute = self.sharding.compute_dtype
        mp = MixedPrecisionPolicy(param_dtype=getattr(torch, compute) if compute else None,
                                  reduce_dtype=getattr(torch, self.sharding.reduce_dtype))
        for layer in _decoder_layers(model):
            fully_shard(layer, mesh=mesh, mp_policy=mp, reshard_after_forward=self.sharding.reshard_after_forward)
        fully_shard(model, mesh=mesh, mp_policy=mp, reshard_after_forward=self.sharding.reshard_after_forward)
        return model

    # -- the update ------------------------------------------------------------------------------------
    def update(self, episodes: Sequence[Episode], agents: Collection[str] | None = None) -> dict[str, float]:
        self._bind_device()
        if not build_samples(episodes, agents)[0]:  # nothing to train on at any rank: all skip, as one learner does
            return super().update(episodes, agents)
        mine = self._my_groups(episodes, agents)
        own = [e for e in episodes if e.group_id in mine]
        if build_samples(own, agents)[0]:
            metrics = super().update(own, agents)
        else:
            metrics = self._idle_update()
        rank_sequences = metrics.get("learner/sequences", 0.0)
        metrics = self._whole_batch(metrics)
        metrics["learner/rank_sequences"] = rank_sequences
        return metrics

    def _whole_batch(self, mine: dict[str, float]) -> dict[str, float]:
        """The batch's metrics from every rank's share. Loss terms come weighted by the rank's share of the
        global tokens (or rows), so they add up; counts add up; the gradient norm is global already. Terms that
        describe a micro-batch (its largest and smallest ratio, its token count) are first turned back into the
        rank's own average, then combined as one micro-batch holding every rank's would be (max, min, sum)."""
        import torch.distributed as dist

        every: list[dict[str, float]] = [{}] * self.world
        dist.all_gather_object(every, mine)
        by = "learner/tokens" if self.loss.aggregation == "token_mean" else "learner/sequences"
        total = sum(m.get(by, 0.0) for m in every)
        out = dict(mine)
        for key in set().union(*every):
            have = [m for m in every if key in m]
            if key in _PER_MICRO_BATCH:
                out[key] = float(_PER_MICRO_BATCH[key](m[key] * total / m[by] for m in have if m.get(by)))
            elif key.startswith("loss/") or key in _SUMMED:
                out[key] = float(sum(m[key] for m in have))
            elif key in ("learner/grad_norm", "learner/update_s"):
                out[key] = float(max(m[key] for m in have))
        return out

    def _bind_device(self) -> None:
        """Ray runs actor calls on worker threads; CUDA's current device is per thread."""
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)

    def _my_groups(self, episodes: Sequence[Episode], agents: Collection[str] | None) -> set[str]:
        """Whole groups to ranks, largest first onto the least-loaded rank (deterministic: every rank computes
        the same split from the same episodes)."""
        sizes: dict[str, int] = {}
        for e in episodes:
            sizes[e.group_id] = sizes.get(e.group_id, 0) + len(build_samples([e], agents)[0])
        load = [0] * self.world
        mine: set[str] = set()
        for group in sorted(sizes, key=lambda g: (-sizes[g], g)):
            rank = min(range(self.world), key=lambda r: (load[r], r))
            load[rank] += sizes[group]
            if rank == self.rank:
                mine.add(group)
        return mine

    def _idle_update(self) -> dict[str, float]:
        """A rank with no sequences still joins every collective of the update (and steps its shard)."""
        empty = {"mask": torch.zeros(0, 1)}
        if not self.on_policy:  # the same passes, in the same order, as a rank with work (Learner._update)
            self._logprobs(self.model, empty)
        if self.reference is not None:
            self._logprobs(self.reference, empty)
        for _ in range(self.config.epochs):
            self._optimizer_step(empty, [], None if self.on_policy else torch.zeros(0, 1), None)
        self.version += 1
        return {"learner/sequences": 0.0, "learner/version": float(self.version)}

    def _optimizer_step(self, batch: dict[str, torch.Tensor], rows: list[int], old: torch.Tensor | None,
                        ref: torch.Tensor | None) -> dict[str, float]:
        """`Learner._optimizer_step` across ranks. Written out here rather than wrapped because the padding
        passes must run after `zero_grad` and before the clip, inside the step."""
        self.optimizer.zero_grad(set_to_none=True)
        local_tokens = float(batch["mask"][rows].sum()) if rows else 0.0
        micros = [rows[i: i + self.config.micro_batch_size] for i in range(0, len(rows), self.config.micro_batch_size)]
        global_tokens, global_rows, most_micros = self._all_reduce(
            [local_tokens, float(len(rows))], [float(len(micros))])
        sums: dict[str, float] = {}
        for micro in micros:
            idx = torch.tensor(micro)
            part = {k: v[idx] for k, v in batch.items() if isinstance(v, torch.Tensor)}
            new, entropy, _ = self._forward(self.model, part, with_entropy=self.loss.entropy_coef != 0)
            loss, m = policy_loss(new, new.detach() if old is None else old[idx], part["advantages"], part["mask"],
                                  self.loss,
                                  ref_logprobs=None if ref is None else ref[idx], entropy=entropy,
                                  rollout_logprobs=part["rollout_logprobs"] if self.loss.tis_cap else None)
            share = self._share(part["mask"], global_tokens, len(micro), int(global_rows))
            (loss * share * self.world).backward()  # FSDP divides the reduced gradient by the world size
            for k, v in m.items():
                sums[f"loss/{k}"] = sums.get(f"loss/{k}", 0.0) + v * share
        for _ in range(int(most_micros) - len(micros)):
            self._padding_pass(backward=True)
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        grad_norm = torch.nn.utils.clip_grad_norm_(params, self.config.max_grad_norm)
        self.optimizer.step()
        sums["learner/grad_norm"] = float(_full(grad_norm))
        return sums

    @torch.no_grad()
    def _logprobs(self, model: torch.nn.Module, batch: Mapping[str, Any]) -> torch.Tensor:
        mine = -(-batch["mask"].shape[0] // self.config.micro_batch_size)
        (most,) = self._all_reduce([], [float(mine)])  # before any forward: collectives run in one order
        out = super()._logprobs(model, batch) if mine else batch["mask"].clone()
        for _ in range(int(most) - mine):
            self._padding_pass(backward=False, model=model)
        return out

    def _padding_pass(self, backward: bool, model: torch.nn.Module | None = None) -> None:
        """A forward (and backward) whose gradient is zero: it only takes part in FSDP's collectives."""
        model = model if model is not None else self.model
        ids = torch.zeros(1, 2, dtype=torch.long, device=self.device)
        with torch.set_grad_enabled(backward):
            logits = model(input_ids=ids).logits
            if backward:
                (logits.float().sum() * 0.0).backward()

    def _all_reduce(self, sums: list[float], maxima: list[float]) -> list[float]:
        import torch.distributed as dist

        out = []
        for values, op in ((sums, dist.ReduceOp.SUM), (maxima, dist.ReduceOp.MAX)):
            if values:
                t = torch.tensor(values, dtype=torch.float64, device=self.device)
                dist.all_reduce(t, op=op)
                out += t.tolist()
        return out

    # -- weights and checkpoints -----------------------------------------------------------------------
    def export_weights(self) -> Iterator[tuple[str, torch.Tensor]]:
        """Full (unsharded) tensors, one at a time. A collective: every rank must iterate it to the end."""
        self._bind_device()
        for name, tensor in self.model.state_dict().items():
            yield name, _full(tensor).detach()

    def full_state_dict(self) -> dict[str, torch.Tensor]:
        """The whole model on the host (a collective; every rank gets it)."""
        return {name: tensor.cpu() for name, tensor in self.export_weights()}

    def save(self, folder: str | Path) -> None:
        """A sharded checkpoint (a collective: every rank calls it with the same folder, on shared storage)."""
        import torch.distributed as dist
        import torch.distributed.checkpoint as dcp
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict, get_state_dict

        self._bind_device()
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        model_state, optimizer_state = get_state_dict(self.model, self.optimizer)
        dcp.save({"model": model_state, "optimizer": optimizer_state}, checkpoint_id=str(folder / SHARDED))
        whole = get_model_state_dict(self.model, options=StateDictOptions(full_state_dict=True, cpu_offload=True))
        if self.rank == 0:  # cpu_offload: only rank 0 holds the gathered model
            self._save_hf_model(folder / "model", whole)
            torch.save({"version": self.version, "ranks": self.world}, folder / FSDP_STATE)
        rng = {"torch_rng": torch.get_rng_state()}
        if self.device.type == "cuda":
            rng["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        torch.save(rng, folder / f"rng-{self.rank}.pt")
        dist.barrier()  # the folder is whole once every rank is past this point

    def _save_hf_model(self, folder: Path, state: dict[str, torch.Tensor]) -> None:
        """The whole model as `save_pretrained` writes it (fully_shard renames the class to FSDP<name>: the saved
        `architectures` keep the Hugging Face name, so inference engines recognise the model)."""
        import json

        self.model.save_pretrained(folder, state_dict=state, safe_serialization=True)
        config = folder / "config.json"
        data = json.loads(config.read_text())
        data["architectures"] = [a.removeprefix("FSDP") for a in data.get("architectures") or []]
        config.write_text(json.dumps(data, indent=2))
        self._save_tokenizer(folder)

    def load(self, folder: str | Path) -> None:
        """Restore a `save`d checkpoint (any number of ranks wrote it: torch.distributed.checkpoint reshards)."""
        import torch.distributed.checkpoint as dcp
        from torch.distributed.checkpoint.state_dict import get_state_dict, set_state_dict

        self._bind_device()
        folder = Path(folder)
        if not (folder / SHARDED).is_dir():
            raise ConfigError(f"{folder} is a checkpoint of a single-rank learner (no {SHARDED}/ folder); this run "
                              f"has {self.world} learner ranks. Resume it with the ranks that wrote it "
                              "(distributed.learner_gpus <= 1 and learner_ranks: 1), or start a fresh run.out_dir.")
        model_state, optimizer_state = get_state_dict(self.model, self.optimizer)
        state = {"model": model_state, "optimizer": optimizer_state}
        dcp.load(state, checkpoint_id=str(folder / SHARDED))
        set_state_dict(self.model, self.optimizer, model_state_dict=state["model"],
                       optim_state_dict=state["optimizer"])
        self.version = int(torch.load(folder / FSDP_STATE, weights_only=False)["version"])
        rng_file = folder / f"rng-{self.rank}.pt"
        if rng_file.exists():  # absent when this run has more ranks than the one that wrote the checkpoint
            rng = torch.load(rng_file, weights_only=False)
            torch.set_rng_state(rng["torch_rng"])
            if "cuda_rng" in rng and self.device.type == "cuda":
                torch.cuda.set_rng_state(rng["cuda_rng"], self.device)


SHARDED = "sharded"  # the torch.distributed.checkpoint folder of a multi-rank learner's checkpoint
FSDP_STATE = "fsdp.pt"
_PER_MICRO_BATCH = {"loss/ratio_max": max, "loss/ratio_min": min, "loss/tokens": sum}
_SUMMED = ("learner/sequences", "learner/tokens", "learner/episodes_used", "learner/episodes_dropped")


def _full(tensor: Any) -> torch.Tensor:
    return tensor.full_tensor() if hasattr(tensor, "full_tensor") else tensor


def _decoder_layers(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The repeated blocks FSDP shards one by one (Hugging Face causal LMs keep them at model.model.layers)."""
    layers = getattr(getattr(model, "model", None), "layers", None)
    if layers is None:
        raise ConfigError(f"the FSDP learner shards a Hugging Face causal LM by its model.model.layers; "
                          f"{type(model).__name__} has none.")
    return list(layers)


def make_learner(model_path: str | Path, config: LearnerConfig, advantage: AdvantageConfig, loss: LossConfig,
                 learner_gpus: float, sharding: ShardingConfig = ShardingConfig(), ranks: int = 1) -> Learner:
    """The learner a run's GPU settings call for: `FSDPLearner` when it has several ranks (the caller has set up
    the process group: NCCL for GPU ranks, gloo for CPU ones), or whole GPUs and CUDA (or a process group already
    up); the plain `Learner` otherwise (CPU, or a fraction of a GPU shared with an engine). GPUs that were asked
    for and are missing are an error, never a quiet fall back to CPU."""
    import torch.distributed as dist

    if learner_gpus >= 1 and not torch.cuda.is_available():
        raise ConfigError(f"distributed.learner_gpus={learner_gpus}, but this process sees no CUDA device; set "
                          "learner_gpus: 0 to train on CPU (learner_ranks: N for N CPU ranks).")
    if ranks > 1:
        return FSDPLearner(model_path, config, advantage, loss, sharding)
    if learner_gpus >= 1 and config.value_head and not dist.is_initialized():
        return Learner(model_path, config, advantage, loss, device="cuda")  # the critic is not sharded yet
    if learner_gpus >= 1:
        return FSDPLearner(model_path, config, advantage, loss, sharding)
    return Learner(model_path, config, advantage, loss, device="cuda" if learner_gpus else "cpu")
