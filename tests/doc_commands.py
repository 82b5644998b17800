"""Run the commands of a document, so that what it tells readers to type stays true.

A fenced block is run when the line before its fence marks it:

- ``<!-- test: offline -->`` before a ``console`` block: each ``$ `` line is a command that
  needs no broker;
- ``<!-- test: broker -->``: commands that need Kafka (run by the integration tests, with
  ``SCREENING_KAFKA_BOOTSTRAP`` set and ``127.0.0.1:9092`` replaced by the test broker);
- ``<!-- test: broker follow -->``: commands that run until Ctrl-C: each is interrupted after
  a few seconds and must stop cleanly;
- ``<!-- file: PATH -->`` before any block: its text is written to PATH, relative to the
  working folder, when the steps reach it.

Steps run in document order, in a working folder holding a copy of ``rules/`` and a link to
``deploy/``, with the virtualenv's ``screening`` and ``python`` first on the PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
_MARK = re.compile(r"^<!-- (test: (offline|broker|broker follow)|file: (\S+)) -->$")
_FOLLOW_S = 4.0


@dataclass(frozen=True)
class Step:
    kind: str  # "offline", "broker", "follow" or "file"
    text: str  # the command, or the file's content
    path: str | None = None  # for "file"
    line: int = 0  # where it is in the document

    @property
    def needs_broker(self) -> bool:
        return self.kind in ("broker", "follow")


def steps(document: Path) -> list[Step]:
    lines = document.read_text(encoding="utf-8").splitlines()
    found: list[Step] = []
    index = 0
    while index < len(lines):
        mark = _MARK.match(lines[index].strip())
        index += 1
        if mark is None:
            continue
        assert lines[index].startswith("```"), f"{document}:{index}: a mark needs a fence after it"
        end = lines.index("```", index + 1)
        body = lines[index + 1 : end]
        if mark.group(3):
            found.append(Step("file", "\n".join(body) + "\n", mark.group(3), index))
        else:
            kind = {"offline": "offline", "broker": "broker", "broker follow": "follow"}
            for command in _commands(body):
                found.append(Step(kind[mark.group(2)], command, line=index + 1))
        index = end + 1
    return found


def _commands(body: list[str]) -> list[str]:
    commands: list[str] = []
    for text in body:
        if text.startswith("$ "):
            commands.append(text[2:])
        elif commands and commands[-1].endswith("\\"):
            commands[-1] = commands[-1][:-1] + " " + text.strip()
    return commands


def workdir(base: Path) -> Path:
    folder = base / "work"
    folder.mkdir()
    shutil.copytree(ROOT / "rules", folder / "rules")
    (folder / "deploy").symlink_to(ROOT / "deploy")
    return folder


def environment(bootstrap: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "PYTHONPATH": str(ROOT),
        # Offline steps must not reach a broker: this address refuses at once.
        "SCREENING_KAFKA_BOOTSTRAP": bootstrap or "127.0.0.1:1",
        "SCREENING_RANDOM_SELECTION_SHARE": "0",
    }
    env.pop("SCREENING_TEST_BOOTSTRAP", None)
    return env


def run(step: Step, folder: Path, bootstrap: str | None) -> None:
    """Run one step in ``folder``; fail with the command's output if it does not succeed."""
    if step.kind == "file":
        assert step.path is not None
        target = folder / step.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(step.text, encoding="utf-8")
        return
    command = step.text.replace(DEFAULT_BOOTSTRAP, bootstrap) if bootstrap else step.text
    env = environment(bootstrap)
    if step.kind == "follow":
        _run_until_interrupted(command, folder, env, step)
        return
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=folder,
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, _failure(step, done.returncode, done.stdout, done.stderr)


def _run_until_interrupted(command: str, folder: Path, env: dict[str, str], step: Step) -> None:
    process = subprocess.Popen(
        ["bash", "-c", f"exec {command}"],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    time.sleep(_FOLLOW_S)
    assert process.poll() is None, _failure(step, process.returncode, *process.communicate())
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, _failure(step, process.returncode, stdout, stderr)


def _failure(step: Step, code: int | None, stdout: bytes, stderr: bytes) -> str:
    return (
        f"line {step.line}: `{step.text}` exited with {code}\n"
        f"stdout: {stdout.decode(errors='replace')[-2000:]}\n"
        f"stderr: {stderr.decode(errors='replace')[-2000:]}"
    )
