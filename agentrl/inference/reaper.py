"""Engine processes die with the process that owns them.

vLLM starts its EngineCore (and, on the CPU backend, worker processes) as children of the process that built
the engine. When that owner dies hard (SIGKILL, ``os._exit``, the OOM killer), vLLM 0.26's EngineCore keeps
running and keeps its GPU memory (46 GB seen on an H200), so the next engine on that GPU fails to start.

`VLLMPolicy` names itself the owner in ``AGENTRL_ENGINE_OWNER`` while it starts the engine; every process vLLM
spawns then inherits the variable and, through vLLM's general-plugin hook (the ``vllm.general_plugins`` entry
point in pyproject.toml, which vLLM calls in the engine core and in every worker), runs `watch_owner`: a daemon
thread that waits on a pidfd of the owner and SIGKILLs its own process the moment the owner is gone. Outside
an engine the hook does nothing.
"""

from __future__ import annotations

import os
import select
import signal
import threading
import time

OWNER_ENV = "AGENTRL_ENGINE_OWNER"


def watch_owner() -> None:
    """vLLM general plugin: in an engine process spawned by a `VLLMPolicy`, die when the owner dies."""
    owner = int(os.environ.get(OWNER_ENV) or 0)
    if owner <= 0 or owner == os.getpid():
        return
    threading.Thread(target=_wait_then_die, args=(owner,), name="agentrl-owner-watch", daemon=True).start()


def _wait_then_die(owner: int) -> None:
    try:
        fd = os.pidfd_open(owner)
    except ProcessLookupError:  # gone before we started watching
        os.kill(os.getpid(), signal.SIGKILL)
        return
    except (AttributeError, OSError):  # no pidfd (old kernel, not Linux): poll instead
        while _alive(owner):
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGKILL)
        return
    select.select([fd], [], [])  # readable once the owner has exited
    os.kill(os.getpid(), signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
