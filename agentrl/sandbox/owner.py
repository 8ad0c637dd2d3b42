"""Who owns a container: labels that let any later process find and remove the orphans of a dead one.

Every container and snapshot helper we create carries `agentrl.sandbox=1` and
`agentrl.owner=<host>/<pid>/<process start time>`. The start time guards against pid reuse. A container
is an orphan when its owner is on this host and that process no longer exists.
"""

from __future__ import annotations

import os
import socket

LABEL = "agentrl.sandbox"
OWNER_LABEL = "agentrl.owner"


def _start_time(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            # The command name (field 2) may hold spaces; fields after the closing paren are fixed.
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def owner_id(pid: int | None = None) -> str:
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}/{pid}/{_start_time(pid)}"


def owner_labels() -> dict[str, str]:
    return {LABEL: "1", OWNER_LABEL: owner_id()}


def is_orphan(owner: str | None) -> bool:
    """True when `owner` names a process on this host that is gone (another host's containers are left alone)."""
    if not owner or owner.count("/") != 2:
        return False
    host, pid, started = owner.split("/")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return _start_time(int(pid)) != started
