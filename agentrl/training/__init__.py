"""The training core: what `agentrl train` and `agentrl train-ray` share, as public modules with their own tests.

- `config`: the typed run config (`TrainConfig` and its sections) with every combination check in one place.
- `build`: what a run is built from (tasks, rubric, policy map, learner arguments, the rollout engine) and the
  checks against the env that run before anything starts.
- `schedule`: the data schedule: the tasks of each step, episode seeds, dynamic-sampling refills, rollout metrics.
- `checkpoints`: the one on-disk layout, resume (logs trimmed to the checkpoint, policy-map changes explained).
- `runlog`: metrics.jsonl, TensorBoard, the progress bar and lines, Ctrl-C.

A trainer adds only what is its own: `agentrl.train` runs episodes as coroutines next to its engines and
learners; `agentrl.distributed` places them in Ray actors with bounded-staleness schedules and fault accounting.
docs/training.md has the table of which features each trainer supports.
"""
