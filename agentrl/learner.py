"""The learner: consumes `Episode`s, updates a causal LM with a GRPO-family loss, exports weights.

    learner = Learner(model_path, LearnerConfig(), rubric_weights)
    metrics = learner.update(episodes)
    policy.update_weights(learner.export_weights(), version=learner.version)

`update` reads top to bottom:

    advantages = compute_advantages(episodes)          # per turn; failed episodes are dropped, never scored 0
    samples    = one token sequence per agent per episode (turns chained token-exactly), with per-token
                 advantage, rollout logprob and a mask over the sampled tokens
    old        = the learner's logprobs before the update (PPO anchor); ref = reference model's, if KL is on
    for each epoch, for each mini-batch:
        for each micro-batch: loss = policy_loss(new, old, adv, mask) scaled by its share; backward
        clip the gradient norm; optimizer step
    version += 1

Because a vLLM policy extends each turn's prompt with exactly the previously sampled tokens, all of an agent's
turns fit in one sequence (its last turn's prompt + completion) and one forward pass scores every turn.
Turns that do not chain (a policy that re-rendered history) become separate sequences.
On CPU this is a plain torch module; FSDP2 on GPUs plugs in at `_build_model`.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import random
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from agentrl.algorithms import AdvantageConfig, LossConfig, compute_advantages, policy_loss
from agentrl.errors import ConfigError
from agentrl.logprobs import head_logprobs, token_logprobs
from agentrl.types import Episode, Turn


@dataclasses.dataclass(frozen=True)
class LearnerConfig:
    lr: float = 1e-5
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    max_grad_norm: float = 1.0
    epochs: int = 1  # passes over each batch
    mini_batches: int = 1  # optimizer steps per epoch
    micro_batch_size: int = 16  # sequences per forward/backward (gradient accumulation below that)
    reference_model: bool = False  # keep a frozen copy for the KL term (needs loss.kl_coef > 0)
    value_head: bool = False  # a linear critic on the last hidden state (PPO: advantage estimator "gae")
    vf_coef: float = 0.5  # weight of the critic's loss
    dtype: str = "float32"  # master weights and optimizer state
    # The dtype forward/backward compute in, by torch.autocast on the learner's device (master weights stay in
    # `dtype`); None computes in `dtype`; "auto" is bfloat16 on a GPU (several times faster than float32 there)
    # and `dtype` on the CPU.
    compute_dtype: str | None = "auto"
    seed: int = 0
    # CPU threads torch may use during `update` (restored afterwards); None leaves torch's setting. On a small
    # or shared CPU, 1 avoids threads spinning against the engine's and each other: on a loaded 2-core box a
    # quickstart update took 13-19 s with 2 threads and 0.2-4 s with 1.
    num_threads: int | None = None
    # Where `agentrl train` puts the learner: "auto" (the GPU when torch sees one, else the CPU), "cpu" or "cuda".
    # On a GPU its weights then reach a vLLM engine on the same GPU by CUDA IPC (docs/gpu.md).
    device: str = "auto"
    # Sampled-token logprobs straight from the last hidden state, a chunk of tokens at a time (agentrl.logprobs):
    # the [tokens, vocabulary] logits and their gradient never exist whole. Used for the Hugging Face decoder
    # families in `FUSED_HEAD_MODELS`; other models (and entropy or value-head passes) take the logits path.
    fused_head: bool = True
    # torch.compile each decoder layer (fuses the float32 norms, rotary and residual arithmetic that autocast leaves
    # unfused; a one-off compile of some seconds). None: on a GPU, not on the CPU. Not with activation
    # checkpointing or sharded (FSDP2) parameters.
    compile: bool | None = None

    def __post_init__(self) -> None:
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"learner.device must be auto, cpu or cuda, got {self.device!r}.")
        if self.lr <= 0 or self.epochs < 1 or self.mini_batches < 1 or self.micro_batch_size < 1:
            raise ConfigError("learner: lr must be > 0 and epochs, mini_batches, micro_batch_size >= 1.")
        if self.num_threads is not None and (not isinstance(self.num_threads, int) or self.num_threads < 1):
            raise ConfigError(f"learner.num_threads must be a positive integer or null, got {self.num_threads!r}.")
        if self.dtype not in ("float32", "bfloat16", "float16"):
            raise ConfigError(f"learner.dtype must be float32, bfloat16 or float16, got {self.dtype!r}.")
        if self.compute_dtype not in (None, "auto", "float32", "bfloat16", "float16"):
            raise ConfigError(f"learner.compute_dtype must be auto, null, float32, bfloat16 or float16, "
                              f"got {self.compute_dtype!r}.")


def learner_device(setting: str) -> str:
    """The torch device for `LearnerConfig.device` ("auto" picks CUDA when torch sees a GPU)."""
    if setting == "cuda" and not torch.cuda.is_available():
        raise ConfigError("learner.device=cuda but torch sees no CUDA device here (a CPU build of torch, or no GPU): "
                          "set learner.device=cpu, or install the GPU extra (pip install 'agentrl-suite[gpu]').")
    if setting == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return setting


@dataclasses.dataclass(frozen=True)
class Sample:
    """One training sequence: token ids plus, per target position (ids[1:]), the mask over sampled tokens,
    the engine's logprob at sampling time and the turn the token belongs to (an index into the batch's
    turn keys, -1 for prompt tokens). `value_at` holds, per turn, the position whose state precedes the
    turn's first sampled token (where a value head estimates V of that turn)."""

    ids: tuple[int, ...]
    mask: tuple[float, ...]
    rollout_logprobs: tuple[float, ...]
    turn_of: tuple[int, ...]
    value_at: tuple[tuple[int, int], ...]  # (position, turn index)


def chains(prev: Turn, nxt: Turn) -> bool:
    head = prev.prompt_ids + prev.completion_ids
    return len(nxt.prompt_ids) >= len(head) and nxt.prompt_ids[: len(head)] == head


def build_samples(episodes: Sequence[Episode], agents: Collection[str] | None = None
                  ) -> tuple[list[Sample], list[tuple[str, int]]]:
    """Pack each agent's turns of each usable episode into as few sequences as token-exactness allows.

    Returns the samples and the turn keys ``(episode.id, position in episode.turns)`` their `turn_of`
    indices point at. Failed episodes are skipped; `agents` limits the samples to the agents this
    learner's policy plays (all when None)."""
    samples: list[Sample] = []
    keys: list[tuple[str, int]] = []
    for ep in episodes:
        if ep.status.is_failure:
            continue
        position = {id(t): i for i, t in enumerate(ep.turns)}
        for agent in ep.agents:
            if agents is not None and agent not in agents:
                continue
            chain: list[tuple[Turn, int]] = []
            for turn in (t for t in ep.turns_of(agent) if t.completion_ids):
                if chain and not chains(chain[-1][0], turn):
                    samples.append(_pack(chain))
                    chain = []
                keys.append((ep.id, position[id(turn)]))
                chain.append((turn, len(keys) - 1))
            if chain:
                samples.append(_pack(chain))
    return samples, keys


def _pack(chain: list[tuple[Turn, int]]) -> Sample:
    last = chain[-1][0]
    ids = last.prompt_ids + last.completion_ids
    n = len(ids) - 1
    mask, lps, turn_of = [0.0] * n, [0.0] * n, [-1] * n
    value_at = []
    for turn, key in chain:
        start = len(turn.prompt_ids) - 1  # the logits at position p predict token p + 1
        value_at.append((start, key))
        logprobs = turn.logprobs or (0.0,) * len(turn.completion_ids)
        for k, lp in enumerate(logprobs):
            mask[start + k], lps[start + k], turn_of[start + k] = 1.0, lp, key
    return Sample(tuple(ids), tuple(mask), tuple(lps), tuple(turn_of), tuple(value_at))


class Learner:
    def __init__(self, model_path: str | Path, config: LearnerConfig = LearnerConfig(),
                 advantage: AdvantageConfig = AdvantageConfig(), loss: LossConfig = LossConfig(),  # noqa: B008
                 device: str = "cpu"):
        if loss.kl_coef > 0 and not config.reference_model:
            raise ConfigError("loss.kl_coef > 0 needs learner.reference_model: true (a frozen reference copy).")
        if advantage.estimator == "gae" and not config.value_head:
            raise ConfigError("the 'gae' estimator (PPO) needs a critic: set learner.value_head: true.")
        torch.manual_seed(config.seed)
        self.config, self.advantage, self.loss = config, advantage, loss
        self.device = torch.device(device)
        self.model_path = str(model_path)
        self.compute_dtype = config.compute_dtype  # _build_model may set it (an unsharded FSDPLearner does)
        if self.compute_dtype == "auto":
            self.compute_dtype = "bfloat16" if self.device.type == "cuda" else None
        self.model = self._build_model(model_path)
        self.reference = copy.deepcopy(self.model).eval().requires_grad_(False) if config.reference_model else None
        if _compiles(self.model, config.compile, self.device):
            for layer in self.model.base_model.layers:
                layer.compile()
        self.value_head = torch.nn.Linear(self.model.config.hidden_size, 1).to(self.device) \
            if config.value_head else None
        params = list(self.model.parameters()) + (list(self.value_head.parameters()) if self.value_head else [])
        # the fused CUDA kernel steps every tensor at once (the default launches kernels per tensor group);
        # sharded (DTensor) parameters keep the default
        fused = self.device.type == "cuda" and not any(hasattr(p, "full_tensor") for p in params)
        self.optimizer = torch.optim.AdamW(params, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay,
                                           fused=fused or None)
        self.version = 0
        self.keep_grads = False  # True keeps the last step's .grad after `update` (tests compare them)

    def _build_model(self, model_path: str | Path) -> torch.nn.Module:
        from transformers import AutoModelForCausalLM

        dtype = getattr(torch, self.config.dtype)
        model = AutoModelForCausalLM.from_pretrained(str(model_path), dtype=dtype)
        return model.to(self.device).train()

    # -- the update ------------------------------------------------------------------------------------
    def update(self, episodes: Sequence[Episode], agents: Collection[str] | None = None) -> dict[str, float]:
        """One learning step on a batch. `agents`: train only on the turns of these agents (the ones this
        learner's policy plays in a multi-policy run); advantages still see every agent's rewards."""
        with _torch_threads(self.config.num_threads):
            return self._update(episodes, agents)

    def _update(self, episodes: Sequence[Episode], agents: Collection[str] | None) -> dict[str, float]:
        started = time.monotonic()
        samples, keys = build_samples(episodes, agents)
        metrics: dict[str, float] = {"learner/sequences": float(len(samples))}
        if not samples:
            return {**metrics, "learner/skipped": 1.0}
        batch = self._collate(samples)
        values = self._turn_values(batch, len(keys)) if self.value_head is not None else None
        advantages = compute_advantages(episodes, self.advantage,
                                        values=_per_episode(values, keys, episodes) if values is not None else None)
        per_turn = torch.tensor([advantages[ep_id][i] for ep_id, i in keys])
        batch["advantages"] = torch.where(batch["turn_of"] >= 0, per_turn[batch["turn_of"].clamp(min=0)], 0.0)
        if values is not None:
            batch["returns"] = per_turn + values  # the critic's target: A + V = the GAE return
        metrics.update({"learner/episodes_used": float(len(advantages)),
                        "learner/episodes_dropped": float(len(episodes) - len(advantages))})
        old = None if self.on_policy else self._logprobs(self.model, batch)
        ref = self._logprobs(self.reference, batch) if self.reference is not None else None
        rng = random.Random(self.config.seed + self.version)
        sums: dict[str, float] = {}
        steps = 0
        for _ in range(self.config.epochs):
            order = list(range(len(samples)))
            rng.shuffle(order)
            for mini in _split(order, self.config.mini_batches):
                for k, v in self._optimizer_step(batch, mini, old, ref).items():
                    sums[k] = sums.get(k, 0.0) + v
                steps += 1
        if not self.keep_grads:
            # the gradients (as large as the weights) are not read again before the next update's zero_grad;
            # freed now, they are not held through the weight sync and the next rollouts
            self.optimizer.zero_grad(set_to_none=True)
        self.version += 1
        metrics.update({k: v / steps for k, v in sums.items()})
        metrics["learner/tokens"] = float(batch["mask"].sum())
        metrics["learner/update_s"] = time.monotonic() - started
        metrics["learner/version"] = float(self.version)
        return metrics

    @property
    def on_policy(self) -> bool:
        """One optimizer step per batch: the policy that "old" logprobs come from is the one being updated, so the
        training forward's own logprobs (detached) serve as old ones and no separate no-grad pass is run."""
        return self.config.epochs == 1 and self.config.mini_batches == 1

    def _optimizer_step(self, batch: dict[str, torch.Tensor], rows: list[int], old: torch.Tensor | None,
                        ref: torch.Tensor | None) -> dict[str, float]:
        self.optimizer.zero_grad(set_to_none=True)
        total_tokens = float(batch["mask"][rows].sum())
        total_turns = sum(len(batch["value_at"][r]) for r in rows)
        sums: dict[str, float] = {}
        for micro in _chunks(rows, self.config.micro_batch_size):
            idx = torch.tensor(micro)
            part = {k: v[idx] for k, v in batch.items() if isinstance(v, torch.Tensor)}
            new, entropy, hidden = self._forward(self.model, part, with_entropy=self.loss.entropy_coef != 0,
                                                 with_hidden=self.value_head is not None)
            loss, m = policy_loss(new, new.detach() if old is None else old[idx], part["advantages"], part["mask"],
                                  self.loss,
                                  ref_logprobs=None if ref is None else ref[idx], entropy=entropy,
                                  rollout_logprobs=part["rollout_logprobs"] if self.loss.tis_cap else None)
            loss = loss * self._share(part["mask"], total_tokens, len(micro), len(rows))
            if hidden is not None:
                value_loss = self._value_loss(hidden, [batch["value_at"][r] for r in micro], batch["returns"])
                loss = loss + self.config.vf_coef * value_loss / max(total_turns, 1)
                sums["loss/value"] = sums.get("loss/value", 0.0) + float(value_loss.detach()) / max(total_turns, 1)
            loss.backward()
            for k, v in m.items():
                sums[f"loss/{k}"] = sums.get(f"loss/{k}", 0.0) + v * self._share(
                    part["mask"], total_tokens, len(micro), len(rows))
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        grad_norm = torch.nn.utils.clip_grad_norm_(params, self.config.max_grad_norm)
        self.optimizer.step()
        sums["learner/grad_norm"] = float(grad_norm)
        return sums

    def _share(self, mask: torch.Tensor, total_tokens: float, micro_rows: int, total_rows: int) -> float:
        """The micro-batch's weight in the mini-batch loss, so accumulated gradients equal one big batch:
        its share of tokens for a token mean, its share of rows for per-row aggregations."""
        if self.loss.aggregation == "token_mean":
            return float(mask.sum()) / max(total_tokens, 1.0)
        return micro_rows / total_rows

    # -- the critic (PPO with GAE) ---------------------------------------------------------------------
    def _value_loss(self, hidden: torch.Tensor, value_at: list[tuple[tuple[int, int], ...]],
                    returns: torch.Tensor) -> torch.Tensor:
        """Sum over the micro-batch's turns of 0.5 (V - return)^2; the caller divides by the turn count."""
        rows = [r for r, at in enumerate(value_at) for _ in at]
        positions = [pos for at in value_at for pos, _ in at]
        turns = [key for at in value_at for _, key in at]
        predicted = self.value_head(hidden[rows, positions].float()).squeeze(-1).cpu()
        return 0.5 * ((predicted - returns[turns]) ** 2).sum()

    @torch.no_grad()
    def _turn_values(self, batch: Mapping[str, Any], num_turns: int) -> torch.Tensor:
        values = torch.zeros(num_turns)
        rows = list(range(batch["ids"].shape[0]))
        for micro in _chunks(rows, self.config.micro_batch_size):
            idx = torch.tensor(micro)
            part = {k: v[idx] for k, v in batch.items() if isinstance(v, torch.Tensor)}
            hidden = self._forward(self.model, part, with_hidden=True)[2]
            for r, row in enumerate(micro):
                for pos, key in batch["value_at"][row]:
                    values[key] = float(self.value_head(hidden[r, pos].float()))
        return values

    # -- tensors ---------------------------------------------------------------------------------------
    def _collate(self, samples: list[Sample]) -> dict[str, Any]:
        width = max(len(s.ids) for s in samples)
        ids = torch.zeros(len(samples), width, dtype=torch.long)
        attention = torch.zeros(len(samples), width, dtype=torch.long)
        shape = (len(samples), width - 1)
        mask, lps = torch.zeros(shape), torch.zeros(shape)
        turn_of = torch.full(shape, -1, dtype=torch.long)
        for i, s in enumerate(samples):
            n = len(s.ids)
            ids[i, :n] = torch.tensor(s.ids)
            attention[i, :n] = 1
            mask[i, : n - 1] = torch.tensor(s.mask)
            lps[i, : n - 1] = torch.tensor(s.rollout_logprobs)
            turn_of[i, : n - 1] = torch.tensor(s.turn_of)
        return {"ids": ids, "attention": attention, "mask": mask, "rollout_logprobs": lps, "turn_of": turn_of,
                "value_at": [s.value_at for s in samples]}

    def _forward(self, model: torch.nn.Module, part: Mapping[str, torch.Tensor], with_entropy: bool = False,
                 with_hidden: bool = False) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Logprobs of the sampled tokens ([B, T-1], on the host), plus entropies and last hidden states on request.

        Logits are computed only from the micro-batch's first sampled position on (a sequence's early positions
        are prompt; at a 150k vocabulary the head is a large part of a small model's compute) and without a
        float32 log-softmax over the vocabulary. Entries before that position are 0: the mask drops them from
        every loss term."""
        ids = part["ids"].to(self.device)
        attention = part["attention"].to(self.device)
        with self._autocast():
            if with_entropy or with_hidden:
                out = model(input_ids=ids, attention_mask=attention, output_hidden_states=with_hidden, use_cache=False)
                hidden = out.hidden_states[-1] if with_hidden else None
                if not with_entropy:
                    return token_logprobs(out.logits[:, :-1], ids[:, 1:]).cpu(), None, hidden
                logp = torch.log_softmax(out.logits[:, :-1].float(), dim=-1)
                chosen = logp.gather(-1, ids[:, 1:, None]).squeeze(-1)
                return chosen.cpu(), -(logp.exp() * logp).sum(-1).cpu(), hidden
            sampled = part["mask"].sum(0).nonzero()
            start = int(sampled[0]) if len(sampled) else part["mask"].shape[1] - 1
            targets = ids[:, start + 1:]
            if self.config.fused_head and _fused_head_fits(model):
                hidden = model.base_model(input_ids=ids, attention_mask=attention,
                                          use_cache=False).last_hidden_state[:, start:-1]
                weight = model.get_output_embeddings().weight
                cdt = getattr(torch, self.compute_dtype) if self.compute_dtype else None
                chosen = head_logprobs(hidden.reshape(-1, hidden.shape[-1]), weight, targets.reshape(-1), cdt)
                chosen = chosen.view(targets.shape)
            else:
                keep = ids.shape[1] - start  # logits at positions start..T-1; the last one predicts nothing
                logits = model(input_ids=ids, attention_mask=attention, logits_to_keep=keep,
                               use_cache=False).logits[:, :-1]
                chosen = token_logprobs(logits, targets)
        head = torch.zeros(ids.shape[0], start, dtype=chosen.dtype, device=chosen.device)
        return torch.cat([head, chosen], dim=1).cpu(), None, None

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.compute_dtype is None or self.compute_dtype == self.config.dtype:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=getattr(torch, self.compute_dtype))

    @torch.no_grad()
    def _logprobs(self, model: torch.nn.Module, batch: Mapping[str, Any]) -> torch.Tensor:
        rows = list(range(batch["ids"].shape[0]))
        out = torch.zeros_like(batch["mask"])
        for micro in _chunks(rows, self.config.micro_batch_size):
            idx = torch.tensor(micro)
            out[idx] = self._forward(model, {k: v[idx] for k, v in batch.items() if isinstance(v, torch.Tensor)})[0]
        return out

    # -- weights and checkpoints -----------------------------------------------------------------------
    def export_weights(self) -> Iterator[tuple[str, torch.Tensor]]:
        """(name, tensor) pairs in Hugging Face naming, for `VLLMPolicy.update_weights`."""
        for name, tensor in self.model.state_dict().items():
            yield name, tensor.detach()

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(folder / "model", safe_serialization=True)
        self._save_tokenizer(folder / "model")
        torch.save({"optimizer": self.optimizer.state_dict(), "version": self.version,
                    "torch_rng": torch.get_rng_state(),
                    "value_head": self.value_head.state_dict() if self.value_head is not None else None},
                   folder / "learner.pt")

    def _save_tokenizer(self, folder: Path) -> None:
        """Checkpoint folders carry the tokenizer, so an engine (or `agentrl eval`) can serve them alone."""
        from transformers import AutoTokenizer

        try:
            AutoTokenizer.from_pretrained(self.model_path).save_pretrained(folder)
        except (OSError, ValueError):  # a model without a tokenizer of its own (some unit-test models)
            pass

    def load(self, folder: str | Path) -> None:
        folder = Path(folder)
        from transformers import AutoModelForCausalLM

        loaded = AutoModelForCausalLM.from_pretrained(str(folder / "model"), dtype=getattr(torch, self.config.dtype))
        self.model.load_state_dict(loaded.state_dict())
        state = torch.load(folder / "learner.pt", weights_only=False)
        if self.value_head is not None and state.get("value_head") is not None:
            self.value_head.load_state_dict(state["value_head"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.version = state["version"]
        torch.set_rng_state(state["torch_rng"])


FUSED_HEAD_MODELS = ("llama", "mistral", "qwen2", "qwen3")  # logits = last hidden state @ output embedding, no more


def _fused_head_fits(model: torch.nn.Module) -> bool:
    """Whether `head_logprobs` computes exactly this model's logits: a plain bias-free linear head (no logit
    scaling or soft-capping, which the listed families do not have) over unsharded parameters."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    return (getattr(getattr(model, "config", None), "model_type", None) in FUSED_HEAD_MODELS
            and isinstance(head, torch.nn.Linear) and head.bias is None and not hasattr(head.weight, "full_tensor"))


def _compiles(model: torch.nn.Module, setting: bool | None, device: torch.device) -> bool:
    if setting is False or (setting is None and device.type != "cuda"):
        return False
    layers = getattr(getattr(model, "base_model", None), "layers", None)
    blocked = (layers is None and "it has no base_model.layers") \
        or (getattr(model, "is_gradient_checkpointing", False) and "activation checkpointing is on") \
        or (any(hasattr(p, "full_tensor") for p in model.parameters()) and "its parameters are sharded")
    if blocked and setting:
        raise ConfigError(f"learner.compile: true cannot compile this model's layers: {blocked}; "
                          "set learner.compile: false (or null to decide per device).")
    return not blocked


def _per_episode(values: torch.Tensor, keys: list[tuple[str, int]],
                 episodes: Sequence[Episode]) -> dict[str, list[float]]:
    """Turn values in `compute_advantages`' layout: {episode id: [V per turn]} (0 for turns not trained)."""
    out = {ep.id: [0.0] * len(ep.turns) for ep in episodes if not ep.status.is_failure}
    for (ep_id, i), v in zip(keys, values.tolist()):
        out[ep_id][i] = v
    return out


@contextlib.contextmanager
def _torch_threads(n: int | None) -> Iterator[None]:
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(items), size):
        yield items[i: i + size]


def _split(items: list[int], parts: int) -> list[list[int]]:
    size = math.ceil(len(items) / parts)
    return [c for c in _chunks(items, size)]
