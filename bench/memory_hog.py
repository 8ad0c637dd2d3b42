"""Hold all but a few GiB of the machine's free memory, to run tests the way a busy machine would.

    python bench/memory_hog.py --leave 3 --top-up 5 &    # hold all but 3 GiB; re-check every 5 s
    ...                                                   # the command to test under pressure
    kill %1                                               # SIGTERM: frees everything, exits 0

"Free" is the kernel's MemAvailable (/proc/meminfo): what new allocations can get without swapping. The hog
takes anonymous memory in chunks and writes every page, so it is resident, not merely reserved. Every
`--top-up` seconds it checks again and takes more while more than `--leave` GiB (plus one chunk) is
available, so memory that other processes free goes to the hog too: the others keep about `--leave` GiB
between them. It never gives memory back while it runs (that is the pressure), but it makes itself the
OOM killer's first choice (oom_score_adj 1000), so when the others need more than is left the kernel ends
the hog, not the test. It prints a line each time what it holds changes. See docs/reliability.md.
"""

from __future__ import annotations

import argparse
import contextlib
import mmap
import os
import signal
import sys
import threading
import time

GIB = 2**30
_PAGE_RUN = 2**20  # written in 1 MiB runs: every page touched, without a chunk-sized temporary


def available_bytes() -> int:
    """MemAvailable from /proc/meminfo, in bytes."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    raise SystemExit("no MemAvailable in /proc/meminfo (Linux 3.14 or newer is needed)")


def take(size: int) -> mmap.mmap:
    """An anonymous mapping of `size` bytes with every page written (resident)."""
    chunk = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    ones = b"\x01" * _PAGE_RUN
    for start in range(0, size, _PAGE_RUN):
        end = min(start + _PAGE_RUN, size)
        chunk[start:end] = ones[: end - start]
    return chunk


def top_up(held: list[mmap.mmap], leave: int, chunk: int, stop: threading.Event) -> int:
    """Take chunks until only `leave` bytes (plus less than a chunk) are available; returns the bytes taken."""
    taken = 0
    while not stop.is_set():
        spare = available_bytes() - leave
        if spare < GIB // 16:
            break
        size = min(chunk, spare)
        held.append(take(size))
        taken += size
    return taken


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--leave", type=float, default=3.0, help="GiB of available memory to leave to the others")
    ap.add_argument("--top-up", type=float, default=5.0, help="seconds between checks for memory to take")
    ap.add_argument("--chunk", type=float, default=0.25, help="GiB per allocation")
    ap.add_argument("--once", action="store_true", help="take what there is once, print it and exit (a check)")
    args = ap.parse_args(argv)
    if args.leave < 0 or args.top_up <= 0 or args.chunk <= 0:
        raise SystemExit("--leave must be >= 0 and --top-up, --chunk > 0 (e.g. --leave 3 --top-up 5)")
    leave, chunk = int(args.leave * GIB), max(int(args.chunk * GIB), mmap.PAGESIZE)

    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as f:
        f.write("1000")  # if memory runs out, the kernel ends the hog first
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    held: list[mmap.mmap] = []
    total, started = 0, time.monotonic()
    while not stop.is_set():
        taken = top_up(held, leave, chunk, stop)
        if taken or not total:
            total += taken
            print(f"[memory_hog] {time.monotonic() - started:.0f} s: pid {os.getpid()} holds {total / GIB:.2f} GiB "
                  f"(+{taken / GIB:.2f}); available now {available_bytes() / GIB:.2f} GiB, leaving {args.leave:g} GiB",
                  flush=True)
        if args.once:
            break
        stop.wait(args.top_up)
    for m in held:
        m.close()
    print(f"[memory_hog] freed {total / GIB:.2f} GiB; exiting", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
