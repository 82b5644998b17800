"""Where the machine's CPU goes over a window: cores used by named processes, by the whole
machine, and taken by the hypervisor (steal), from /proc.

The benchmark's broker, worker and load generator share the machine's cores. A latency
figure means little without how busy the machine was while it was measured: queueing for a
core is a share of every message's wait.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")
# /proc/stat's first line: user nice system idle iowait irq softirq steal guest guest_nice.
# guest time is counted in user already.
_IDLE, _IOWAIT, _STEAL = 3, 4, 7
_COUNTED = 8


@dataclass(frozen=True)
class MachineTime:
    busy_s: float  # running anything, steal excluded
    steal_s: float  # runnable, but the hypervisor ran another guest
    total_s: float


@dataclass(frozen=True)
class CpuSnapshot:
    at_s: float  # time.monotonic()
    machine: MachineTime
    processes: Mapping[str, float]  # CPU seconds by name


def machine_time(stat: str) -> MachineTime:
    """The machine's CPU time from the text of /proc/stat."""
    fields = [int(v) for v in stat.split("\n", 1)[0].split()[1 : 1 + _COUNTED]]
    fields += [0] * (_COUNTED - len(fields))
    total = sum(fields)
    steal = fields[_STEAL]
    busy = total - fields[_IDLE] - fields[_IOWAIT] - steal
    return MachineTime(busy / _TICK, steal / _TICK, total / _TICK)


def stat_cpu_s(stat: str) -> float:
    """User and system CPU seconds from the text of a /proc/<pid>/stat or .../task/<tid>/stat
    (the fields after the command name, which may itself hold spaces and parentheses)."""
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def process_cpu_s(pid: int) -> float:
    """User and system CPU seconds of every thread of ``pid`` so far."""
    return stat_cpu_s(Path(f"/proc/{pid}/stat").read_text())


def snapshot(pids: Mapping[str, int]) -> CpuSnapshot:
    return CpuSnapshot(
        time.monotonic(),
        machine_time(Path("/proc/stat").read_text()),
        {name: process_cpu_s(pid) for name, pid in pids.items()},
    )


def cores_used(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    """Cores in use on average between two snapshots: by the machine, by steal, by each
    process named in both."""
    wall = after.at_s - before.at_s
    if wall <= 0:
        raise ValueError("the second snapshot must be taken after the first")

    def per_wall(seconds: float) -> float:
        return round(seconds / wall, 2)

    found = {
        "machine_busy": per_wall(after.machine.busy_s - before.machine.busy_s),
        "steal": per_wall(after.machine.steal_s - before.machine.steal_s),
    }
    for name, seconds in after.processes.items():
        if name in before.processes:
            found[name] = per_wall(seconds - before.processes[name])
    return found
