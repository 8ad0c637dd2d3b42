"""The run log of a training run: what a person watching it sees, and what is kept for later.

    with RunLog(out, cfg.run, start, line=train_line) as log:
        for step in ...:
            log.step(step + 1, metrics)     # metrics.jsonl (+ TensorBoard), the progress bar, a line every N steps
            if log.interrupted: ...         # the first Ctrl-C: finish the step, checkpoint, exit

Both trainers log through this: the same files, the same bar, the same Ctrl-C behaviour; each brings its line.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

Line = Callable[[int, dict[str, float]], str]


def train_line(step: int, m: dict[str, float]) -> str:
    return (f"step {step:4d}  reward {m['rollout/reward']:.3f}  success {m['rollout/success']:.3f}  "
            f"turns {m['rollout/turns']:.2f}  failed {int(m['rollout/failed'])}  "
            f"tok/s {m.get('throughput/tokens_per_s', 0.0):.0f}  step {m['time/step_s']:.1f}s")


def final_line(metrics: dict[str, float]) -> str:
    """The one-line summary both trainers print when a run ends."""
    return (f"final: reward={metrics['rollout/reward']:.3f} success={metrics['rollout/success']:.3f} "
            f"policy_version={int(metrics['learner/version'])}")


class RunLog:
    """metrics.jsonl (one row per step, flushed), TensorBoard if installed, a tqdm bar and progress lines."""

    def __init__(self, out: Path, run: Any, start: int, line: Line = train_line):
        from tqdm import tqdm

        self.run, self.start, self.line = run, start, line
        self.file = open(out / "metrics.jsonl", "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.tb = _tensorboard(out) if run.tensorboard else None
        self.bar = tqdm(total=run.steps, initial=start, desc="train", unit="step", dynamic_ncols=True, mininterval=0)
        self._interrupt = Interrupt() if threading.current_thread() is threading.main_thread() else None

    @property
    def interrupted(self) -> bool:
        return self._interrupt is not None and self._interrupt.flag

    def write(self, text: str) -> None:
        """A line above the bar (plain print would tear it)."""
        self.bar.write(text)

    def step(self, step: int, metrics: dict[str, float]) -> None:
        self.file.write(json.dumps({"step": step, **metrics}) + "\n")
        self.file.flush()
        if self.tb is not None:
            for k, v in metrics.items():
                self.tb.add_scalar(k, v, step)
        self.bar.update(1)
        self.bar.set_postfix(reward=f"{metrics['rollout/reward']:.2f}", success=f"{metrics['rollout/success']:.2f}")
        if step % self.run.log_every == 0 or step == self.start + 1:
            self.bar.write(self.line(step, metrics))

    def eval(self, step: int, metrics: dict[str, float]) -> None:
        """A held-out evaluation of the weights after `step` updates: a metrics.jsonl row and a line."""
        self.file.write(json.dumps({"step": step, **metrics}) + "\n")
        self.file.flush()
        if self.tb is not None:
            for k, v in metrics.items():
                self.tb.add_scalar(k, v, step)
        self.bar.write(f"eval after {step:4d} updates  success {metrics['eval/success']:.3f}  "
                       f"reward {metrics['eval/reward']:.3f}  turns {metrics['eval/turns']:.2f}  "
                       f"failed {int(metrics['eval/failed'])}  ({int(metrics['eval/episodes'])} held-out episodes)")

    def done(self, step: int, metrics: dict[str, float]) -> bool:
        """Whether the run should stop after `step`: the success goal reached, or Ctrl-C."""
        goal = self.run.stop_at_success
        return (goal is not None and metrics["rollout/success"] >= goal) or self.interrupted

    def save_due(self, step: int, metrics: dict[str, float]) -> bool:
        return step % self.run.save_every == 0 or step == self.run.steps or self.done(step, metrics)

    def close(self) -> None:
        if self._interrupt is not None:
            self._interrupt.restore()
        self.bar.close()
        self.file.close()
        if self.tb is not None:
            self.tb.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _tensorboard(out: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional; metrics.jsonl always has everything
        return None
    return SummaryWriter(str(out / "tensorboard"))


class Interrupt:
    """First Ctrl-C: finish the current step, checkpoint, exit. Second: raise at once."""

    def __init__(self) -> None:
        self.flag = False
        self.previous = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.flag:
            raise KeyboardInterrupt
        self.flag = True
        print("\ninterrupt: finishing this step and saving a checkpoint (Ctrl-C again to abort)", flush=True)

    def restore(self) -> None:
        signal.signal(signal.SIGINT, self.previous)
