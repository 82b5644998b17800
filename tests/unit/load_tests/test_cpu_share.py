"""Cores used by the machine and by named processes, from /proc."""

from __future__ import annotations

import os
import threading
import time

import pytest

from load_tests.cpu_share import (
    CpuSnapshot,
    MachineTime,
    cores_used,
    machine_time,
    process_cpu_s,
    snapshot,
    stat_cpu_s,
)

TICK = os.sysconf("SC_CLK_TCK")


def test_machine_time_counts_idle_and_iowait_as_not_busy_and_steal_apart() -> None:
    stat = "cpu  400 10 90 1000 20 5 5 30 0 0\ncpu0 200 5 45 500 10 2 3 15 0 0\n"
    found = machine_time(stat)
    assert found.total_s == pytest.approx(1560 / TICK)
    assert found.steal_s == pytest.approx(30 / TICK)
    # user + nice + system + irq + softirq
    assert found.busy_s == pytest.approx(510 / TICK)


def test_a_kernel_that_reports_fewer_fields_has_no_steal() -> None:
    found = machine_time("cpu  400 10 90 1000\n")
    assert found.steal_s == 0
    assert found.busy_s == pytest.approx(500 / TICK)


def test_a_spinning_thread_shows_in_the_process_and_the_machine() -> None:
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            sum(range(1000))

    before = snapshot({"self": os.getpid()})
    thread = threading.Thread(target=spin)
    thread.start()
    time.sleep(1.0)
    stop.set()
    thread.join()
    after = snapshot({"self": os.getpid()})
    found = cores_used(before, after)
    assert found["self"] >= 0.5
    assert found["machine_busy"] >= found["self"] - 0.05
    assert process_cpu_s(os.getpid()) >= after.processes["self"]


def test_cores_are_seconds_over_the_wall_time_for_processes_in_both_snapshots() -> None:
    before = CpuSnapshot(10.0, MachineTime(100.0, 1.0, 400.0), {"worker": 5.0, "broker": 2.0})
    after = CpuSnapshot(
        20.0, MachineTime(115.0, 2.0, 420.0), {"worker": 12.5, "broker": 5.0, "late": 1.0}
    )
    assert cores_used(before, after) == {
        "machine_busy": 1.5,
        "steal": 0.1,
        "worker": 0.75,
        "broker": 0.3,
    }


def test_snapshots_out_of_order_are_refused() -> None:
    first = CpuSnapshot(10.0, MachineTime(0, 0, 0), {})
    with pytest.raises(ValueError, match="after the first"):
        cores_used(first, first)


def test_a_command_name_with_spaces_and_parentheses_does_not_shift_the_fields() -> None:
    after_name = " ".join(["S"] + ["0"] * 10 + [str(3 * TICK), str(TICK)] + ["0"] * 30)
    assert stat_cpu_s(f"42 (python (worker) x) {after_name}") == pytest.approx(4.0)
