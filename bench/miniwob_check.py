"""`agentrl.checker.check_env` (what `agentrl check web/MiniWoB-v0` runs) on seed 0 of each MiniWoB++ task, one
task at a time, so one failing task does not hide the others (the CLI stops at the first failure).

Usage: .venv/bin/python bench/miniwob_check.py [task,task,...]   (default: all registered tasks)
"""

from __future__ import annotations

import asyncio
import sys
import time

from agentrl.checker import check_env
from agentrl.environments.web import miniwob as mw


async def main(names: list[str]) -> None:
    failed = []
    start = time.time()
    for name in names:
        task = next(t for t in mw.tasks("train") if t.env_kwargs == {"task": name, "seed": 0})
        try:
            await check_env("web/MiniWoB-v0", tasks=[task], seeds=(0,))
        except Exception as e:  # noqa: BLE001  every failure is reported, then the next task runs
            failed.append(name)
            print(f"FAIL {name}: {type(e).__name__}: {str(e)[:300]}", flush=True)
    print(f"passed {len(names) - len(failed)}/{len(names)} in {time.time() - start:.0f} s; failed: {failed}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1].split(",") if len(sys.argv) > 1 else list(mw.TASKS)))
