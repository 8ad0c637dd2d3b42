"""Log-probabilities of sampled tokens without the [tokens, vocabulary] tensors autograd would keep.

At a 152k vocabulary the logits of one 8 x 1k-token micro-batch are 1.2 GiB in bfloat16 and 4.6 GiB as the
float32 copy a plain `log_softmax` keeps for backward: more than a 0.5B model's activations. Two ways around it:

- `token_logprobs(logits, targets)`: logits already computed (any float dtype); each row is upcast on its own, in
  forward and again in backward, so only the logits themselves and one float per token are kept.
- `head_logprobs(hidden, weight, targets)`: from the last hidden state and the output embedding, in chunks of
  tokens; neither the logits nor their gradient ever exist whole. Backward recomputes each chunk's logits (one
  more head matmul, a few percent of a step) instead of keeping them.
"""

from __future__ import annotations

from typing import Any

import torch


class _TokenLogprobs(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        out = torch.empty(targets.shape, dtype=torch.float32, device=logits.device)
        lse = torch.empty_like(out)
        for r in range(logits.shape[0]):
            row = logits[r].float()
            lse[r] = torch.logsumexp(row, dim=-1)
            out[r] = row.gather(-1, targets[r, :, None]).squeeze(-1) - lse[r]
        ctx.save_for_backward(logits, targets, lse)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        logits, targets, lse = ctx.saved_tensors
        grad_logits = torch.empty_like(logits)
        for r in range(logits.shape[0]):
            g = -torch.exp(logits[r].float() - lse[r, :, None]) * grad[r, :, None]  # d/dlogits of -lse
            g.scatter_add_(-1, targets[r, :, None], grad[r, :, None])
            grad_logits[r] = g.to(logits.dtype)
        return grad_logits, None


def token_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Float32 logprobs of `targets` ([B, T]) under `logits` ([B, T, V], any float dtype), memory-lean."""
    if logits.dtype == torch.float32:
        return torch.log_softmax(logits, dim=-1).gather(-1, targets[..., None]).squeeze(-1)
    return _TokenLogprobs.apply(logits, targets)


class _HeadLogprobs(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor,
                compute_dtype: torch.dtype, chunk: int) -> torch.Tensor:
        w = weight.to(compute_dtype)
        out = torch.empty(targets.shape, dtype=torch.float32, device=hidden.device)
        lse = torch.empty_like(out)
        for s in range(0, hidden.shape[0], chunk):
            # in place where possible: a chunk's float32 logits are the largest tensor of the step's tail
            logits = (hidden[s: s + chunk].to(compute_dtype) @ w.T).float()
            picked = logits.gather(-1, targets[s: s + chunk, None]).squeeze(-1)
            top = logits.amax(dim=-1, keepdim=True)
            lse[s: s + chunk] = logits.sub_(top).exp_().sum(dim=-1).log_().add_(top.squeeze(-1))
            out[s: s + chunk] = picked - lse[s: s + chunk]
        ctx.save_for_backward(hidden, weight, targets, lse)
        ctx.compute_dtype, ctx.chunk = compute_dtype, chunk
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        hidden, weight, targets, lse = ctx.saved_tensors
        cdt, chunk = ctx.compute_dtype, ctx.chunk
        w = weight.to(cdt)
        grad_hidden = torch.empty_like(hidden) if ctx.needs_input_grad[0] else None
        grad_weight = torch.zeros(weight.shape, dtype=torch.float32, device=weight.device) \
            if ctx.needs_input_grad[1] else None
        for s in range(0, hidden.shape[0], chunk):
            h = hidden[s: s + chunk].to(cdt)
            g_out = grad[s: s + chunk, None]
            # d logprob / d logits = onehot(target) - softmax
            g = (h @ w.T).float().sub_(lse[s: s + chunk, None]).exp_().mul_(-g_out)
            g.scatter_add_(-1, targets[s: s + chunk, None], g_out)
            g = g.to(cdt)
            if grad_hidden is not None:
                grad_hidden[s: s + chunk] = (g @ w).to(hidden.dtype)
            if grad_weight is not None:
                grad_weight += g.T @ h  # accumulated over chunks in float32
        return grad_hidden, None if grad_weight is None else grad_weight.to(weight.dtype), None, None, None


def head_logprobs(hidden: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor,
                  compute_dtype: torch.dtype | None = None, chunk: int = 2048) -> torch.Tensor:
    """Float32 logprobs of `targets` ([N]) under logits `hidden @ weight.T` ([N, H] @ [V, H]^T), computed
    `chunk` tokens at a time in `compute_dtype` (default: the weight's) with float32 log-sum-exp."""
    if hidden.dim() != 2 or targets.shape != hidden.shape[:1]:
        raise ValueError(f"head_logprobs wants hidden [N, H] and targets [N], got {tuple(hidden.shape)} and "
                         f"{tuple(targets.shape)}.")
    with torch.autocast(hidden.device.type, enabled=False):
        return _HeadLogprobs.apply(hidden, weight, targets, compute_dtype or weight.dtype, chunk)
