from __future__ import annotations

import os
import threading
import time

import pytest

from load_tests.profile_worker import (
    cpu_by_group,
    cpu_by_part,
    markdown,
    part_of,
    samples_by_part,
    thread_cpu,
    thread_group,
    top_functions,
)

MAIN = "thread (100): MainThread;_run_module_as_main (<frozen runpy>:198)"
POOL = "thread (101): asyncio_0;_bootstrap (threading.py:995)"


def test_a_sample_belongs_to_its_innermost_part() -> None:
    stack = (
        f"{MAIN};handle (pipeline/worker/screening_handler.py:49);"
        "prepare (pipeline/screening/batch.py:151);"
        "decode_declaration (pipeline/screening/decode.py:43)"
    )
    assert part_of(stack) == "decode (msgspec, checks)"
    # Polars called from the rules is the rules' time; the loop only when nothing is deeper.
    assert part_of(f"{MAIN};evaluate (pipeline/rules/compiler.py:263);collect (polars/x.py:1)") == (
        "rules (frames, Polars)"
    )
    assert part_of(f"{MAIN};loop (pipeline/worker/loop.py:80)") == "batch loop, records"
    assert part_of(f"{MAIN};something (elsewhere.py:1)") == "other"
    waiting = (
        f"{MAIN};_run_once (asyncio/base_events.py:1884);EpollSelector.select (selectors.py:468)"
    )
    assert part_of(waiting) == "waiting (not CPU)"


def test_samples_split_between_the_main_thread_and_the_others() -> None:
    lines = [
        f"{MAIN};_run_once (asyncio/base_events.py:1922) 7",
        f"{POOL};decode_declaration (pipeline/screening/decode.py:43) 5",
        f"{MAIN};decode_declaration (pipeline/screening/decode.py:43) 2",
        "a frame name that ran over a line",
        "",
    ]
    main, other = samples_by_part(lines)
    assert main == {"asyncio event loop": 7, "decode (msgspec, checks)": 2}
    assert other == {"decode (msgspec, checks)": 5}


def test_threads_are_grouped_by_what_they_are() -> None:
    assert thread_group(7, 7, "python").startswith("main thread")
    assert thread_group(8, 7, "rdk:broker1") == "librdkafka threads"
    assert thread_group(9, 7, "rocksdb:low") == "RocksDB threads"
    assert thread_group(10, 7, "python").startswith("other Python threads")


def test_thread_cpu_reads_this_process_and_counts_only_what_was_spent_between() -> None:
    before = thread_cpu(os.getpid())
    assert os.getpid() in before

    spun = threading.Event()
    read = threading.Event()

    def spin() -> None:
        deadline = time.thread_time() + 0.2
        while time.thread_time() < deadline:
            pass
        spun.set()
        read.wait(10)  # alive until its time is read

    worker = threading.Thread(target=spin)
    worker.start()
    spun.wait(10)
    after_spin = thread_cpu(os.getpid())
    read.set()
    worker.join()
    groups = cpu_by_group(os.getpid(), before, after_spin)
    # The spinning thread was not there before: all of its time counts.
    assert groups["other Python threads (aiokafka consumer thread, mirrors, to_thread)"] >= 0.1


def test_the_table_shares_out_each_thread_groups_cpu_by_its_samples() -> None:
    found = {
        "declarations": 1000,
        "pinned": False,
        "wall_s": 1.0,
        "fill_s": 0.1,
        "per_s": 1000.0,
        "cpu_s_by_thread_group": {
            "main thread (event loop, screening)": 0.1,
            "other Python threads (aiokafka consumer thread, mirrors, to_thread)": 0.2,
            "librdkafka threads": 0.1,
        },
        "main_thread_samples_by_part": {
            "decode (msgspec, checks)": 3,
            "other": 1,
            "waiting (not CPU)": 4,  # left out of the share-out
        },
        "other_thread_samples_by_part": {"decode (msgspec, checks)": 1, "aiokafka fetch": 1},
    }
    # decode: 3/4 of the main thread's 0.1 s and 1/2 of the others' 0.2 s.
    assert cpu_by_part(found) == pytest.approx(
        {
            "decode (msgspec, checks)": 0.175,
            "aiokafka fetch": 0.1,
            "librdkafka threads": 0.1,
            "other": 0.025,
        }
    )
    text = markdown(found)
    assert "= 400 µs per declaration" in text
    assert "| decode (msgspec, checks) | 175.0 | 43.8% |" in text
    assert "| librdkafka threads | 0.10 | 100.0 | 25% |" in text


def test_top_functions_count_a_function_once_per_sample_however_deep_it_recurs() -> None:
    lines = [
        f"{MAIN};prepare (pipeline/screening/batch.py:151);"
        "prepare (pipeline/screening/batch.py:160);json (other/lib.py:1) 4",
        f"{POOL};prepare (pipeline/screening/batch.py:151) 1",
    ]
    assert top_functions(lines) == {"pipeline/screening/batch.py:prepare": 5}
