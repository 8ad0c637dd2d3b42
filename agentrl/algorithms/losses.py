"""`policy_loss`: the clipped policy-gradient surrogate and its regularisers over padded token tensors.

Every tensor is [B, T] float: one row per sequence the learner packed (a turn's completion, or an episode's
completions), `mask` 1.0 on completion tokens to train on and 0.0 elsewhere. `advantages` is already broadcast
to tokens. The result is a scalar tensor to call ``.backward()`` on and a dict of float metrics.

Pieces, each named after the paper it comes from:
- ratio r = exp(new - old) per token (PPO), or GSPO's sequence ratio
  s_i = exp(mean_t(new - old)) applied to every token of row i with the token's own gradient (GSPO-token:
  s_i,t = sg[s_i] * exp(new_t - sg[new_t])), so rows with one advantage get exactly GSPO's gradient.
- surrogate per token: -min(r * A, clip(r, 1 - clip_low, 1 + clip_high) * A) (PPO; DAPO's clip-higher when
  clip_high > clip_low).
- truncated importance sampling: when `rollout_logprobs` (what the engine sampled with) are given and
  `tis_cap` is set, each token's surrogate is weighted by min(exp(old - rollout), tis_cap), detached.
- KL to the reference, per token with d = new - ref: k1 = d, k2 = d^2 / 2, k3 = exp(-d) + d - 1 (Schulman's
  estimators; k3 is unbiased for KL(new || ref) under samples from new and always >= 0).
- entropy bonus: loss -= entropy_coef * aggregate(entropy).
- aggregation: token_mean = sum(x * m) / sum(m); sequence_mean = mean over rows with tokens of
  sum_t(x * m) / sum_t(m); constant = sum(x * m) / (B * C) with C = constant_normaliser or T (Dr.GRPO).
"""

from __future__ import annotations

import torch

from agentrl.algorithms.config import LossConfig
from agentrl.errors import ConfigError


def aggregate(values: torch.Tensor, mask: torch.Tensor, config: LossConfig) -> torch.Tensor:
    """Reduce per-token values to a scalar with the configured aggregation (see the module docstring)."""
    if config.aggregation == "token_mean":
        return (values * mask).sum() / mask.sum().clamp_min(1.0)
    if config.aggregation == "sequence_mean":
        per_row = mask.sum(dim=-1)
        has_tokens = per_row > 0
        row_means = (values * mask).sum(dim=-1) / per_row.clamp_min(1.0)
        return row_means[has_tokens].sum() / has_tokens.sum().clamp_min(1)
    normaliser = config.constant_normaliser if config.constant_normaliser is not None else values.shape[-1]
    return (values * mask).sum() / (values.shape[0] * normaliser)


def kl_penalty(new_logprobs: torch.Tensor, ref_logprobs: torch.Tensor, estimator: str = "k3") -> torch.Tensor:
    """Per-token KL(new || ref) estimate from the sampled tokens' log-probs (k1, k2 or k3)."""
    d = new_logprobs - ref_logprobs
    if estimator == "k1":
        return d
    if estimator == "k2":
        return 0.5 * d * d
    if estimator == "k3":
        return torch.exp(-d) + d - 1.0
    raise ConfigError(f"unknown KL estimator {estimator!r}; valid: k1, k2, k3.")


def importance_ratio(new_logprobs: torch.Tensor, old_logprobs: torch.Tensor, mask: torch.Tensor,
                     level: str = "token") -> torch.Tensor:
    """Per-token ratio: exp(new - old), or GSPO's length-normalised sequence ratio carried on every token."""
    log_ratio = (new_logprobs - old_logprobs) * mask
    if level == "token":
        return torch.exp(log_ratio)
    seq_log_ratio = log_ratio.sum(dim=-1, keepdim=True) / mask.sum(dim=-1, keepdim=True).clamp_min(1.0)
    return torch.exp(seq_log_ratio.detach() + new_logprobs - new_logprobs.detach())


def _check(name: str, tensor: torch.Tensor | None, shape: torch.Size) -> None:
    if tensor is not None and tensor.shape != shape:
        raise ConfigError(
            f"policy_loss: {name} has shape {tuple(tensor.shape)} but new_logprobs has {tuple(shape)}; every "
            "input must be [B, T], padded the same way."
        )


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> float:
    return float((x * mask).sum() / mask.sum().clamp_min(1.0))


def policy_loss(new_logprobs: torch.Tensor, old_logprobs: torch.Tensor, advantages: torch.Tensor,
                mask: torch.Tensor, config: LossConfig | None = None, ref_logprobs: torch.Tensor | None = None,
                entropy: torch.Tensor | None = None,
                rollout_logprobs: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss to minimise and its metrics; see the module docstring for every term.

    new_logprobs: the current policy's log-probs of the sampled tokens (with grad).
    old_logprobs: the learner's log-probs at the start of this update (the PPO anchor).
    rollout_logprobs: the engine's log-probs at sampling time, for truncated importance sampling.
    """
    config = config or LossConfig()
    shape = new_logprobs.shape
    if new_logprobs.dim() != 2:
        raise ConfigError(f"policy_loss expects [B, T] tensors, got new_logprobs of shape {tuple(shape)}.")
    for name, t in (("old_logprobs", old_logprobs), ("advantages", advantages), ("mask", mask),
                    ("ref_logprobs", ref_logprobs), ("entropy", entropy), ("rollout_logprobs", rollout_logprobs)):
        _check(name, t, shape)
    if config.kl_coef > 0 and ref_logprobs is None:
        raise ConfigError("LossConfig.kl_coef > 0 needs ref_logprobs (the reference policy's log-probs).")
    if config.entropy_coef != 0 and entropy is None:
        raise ConfigError("LossConfig.entropy_coef != 0 needs entropy (per-token entropy of the policy).")
    if config.tis_cap is not None and rollout_logprobs is None:
        raise ConfigError("LossConfig.tis_cap is set but no rollout_logprobs were given to correct against.")

    mask = mask.to(new_logprobs.dtype)
    old_logprobs = old_logprobs.detach()
    advantages = advantages.detach()
    ratio = importance_ratio(new_logprobs, old_logprobs, mask, config.ratio_level)
    low = 1.0 - config.clip_low if config.clip_low is not None else None
    high = 1.0 + config.clip_high if config.clip_high is not None else None
    clipped = torch.clamp(ratio, min=low, max=high) if (low is not None or high is not None) else ratio
    per_token = -torch.minimum(ratio * advantages, clipped * advantages)

    metrics: dict[str, float] = {}
    if rollout_logprobs is not None and config.tis_cap is not None:
        weight = torch.exp(old_logprobs - rollout_logprobs.detach()).clamp(max=config.tis_cap)
        per_token = per_token * weight
        metrics["tis_weight_mean"] = _masked_mean(weight, mask)
        metrics["tis_capped_frac"] = _masked_mean((weight >= config.tis_cap).to(mask.dtype), mask)

    pg_loss = aggregate(per_token, mask, config)
    loss = pg_loss
    if ref_logprobs is not None:
        kl = aggregate(kl_penalty(new_logprobs, ref_logprobs.detach(), config.kl_estimator), mask, config)
        metrics["kl_ref"] = float(kl.detach())
        if config.kl_coef > 0:
            loss = loss + config.kl_coef * kl
    if entropy is not None:
        ent = aggregate(entropy, mask, config)
        metrics["entropy"] = float(ent.detach())
        if config.entropy_coef != 0:
            loss = loss - config.entropy_coef * ent

    with torch.no_grad():
        r = ratio.detach()
        clip_high_hit = (advantages > 0) & (r > high) if high is not None else torch.zeros_like(r, dtype=torch.bool)
        clip_low_hit = (advantages < 0) & (r < low) if low is not None else torch.zeros_like(r, dtype=torch.bool)
        log_r = torch.log(r.clamp_min(1e-38)) * mask
        selected = mask > 0
        metrics.update({
            "loss": float(loss.detach()),
            "pg_loss": float(pg_loss.detach()),
            "clip_frac": _masked_mean((clip_high_hit | clip_low_hit).to(mask.dtype), mask),
            "clip_frac_high": _masked_mean(clip_high_hit.to(mask.dtype), mask),
            "clip_frac_low": _masked_mean(clip_low_hit.to(mask.dtype), mask),
            # k3 estimate of KL(old || new) from tokens sampled by old: (r - 1) - log r
            "approx_kl": _masked_mean(torch.exp(log_r) - 1.0 - log_r, mask),
            "ratio_mean": _masked_mean(r, mask),
            "ratio_max": float(r[selected].max()) if bool(selected.any()) else 1.0,
            "ratio_min": float(r[selected].min()) if bool(selected.any()) else 1.0,
            "advantage_mean": _masked_mean(advantages, mask),
            "tokens": float(mask.sum()),
        })
    return loss, metrics
