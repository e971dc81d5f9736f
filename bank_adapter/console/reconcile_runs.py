"""Reconciliation runs started from the console: upload, job process, results on disk.

An upload is streamed, chunk by chunk, from the request into the run's directory (never
held in memory, whatever its size), then `reconcile_worker` runs the job in a child
process and the page polls the run's directory until the results are there. The files
live under `<var_dir>/console/reconcile/<run id>/` on the instance that took the upload:
the newest `RUNS_KEPT` are kept, the uploaded file itself is deleted when the job ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import os
import re
import secrets
import shutil
import sys
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import Any, Final

import structlog
from aiohttp import BodyPartReader

from bank_adapter.console import reconcile_worker as worker

RUNS_KEPT: Final = 20
CHUNK: Final = 64 * 1024
MAX_UPLOAD_BYTES: Final = 4 * 1024**3
RUN_ID: Final = re.compile(r"[A-Za-z0-9_-]{22}")
_STATE: Final = "run.json"

log = structlog.get_logger("bank_adapter.console.reconcile")


class UploadTooLarge(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    partner_id: str
    day: date
    file_name: str
    operator: str
    started_at: datetime
    status: str  # "running", "matched", "breaks", "bad_file", "failed"
    error: str | None = None
    head: dict[str, Any] | None = None  # the report's figures and counts, when done


@dataclass(frozen=True, slots=True)
class BreakLine:
    kind: str
    bank_payment_ref: str
    field: str
    bank_value: str
    adapter_value: str
    bank_line: str
    payment_id: str


class Runs:
    def __init__(self, root: Path, database_url: str) -> None:
        self.root = root
        self._database_url = database_url
        self._jobs: dict[str, asyncio.Task[None]] = {}

    def new_dir(self) -> tuple[str, Path]:
        run_id = secrets.token_urlsafe(16)
        directory = self.root / run_id
        directory.mkdir(parents=True, mode=0o700)
        return run_id, directory

    @staticmethod
    async def receive(part: BodyPartReader, directory: Path) -> int:
        """Stream an uploaded file part into the run's directory; its size in bytes."""
        size = 0
        with (directory / worker.UPLOAD).open("wb") as out:
            while chunk := await part.read_chunk(CHUNK):
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise UploadTooLarge
                out.write(chunk)
        return size

    def start(self, run: Run, *, final: bool) -> None:
        """Run the job; `final`: the day had closed when the file was uploaded."""
        self._write_state(run)
        self._jobs[run.id] = asyncio.create_task(self._work(run, final))
        self._prune()

    def discard(self, directory: Path) -> None:
        shutil.rmtree(directory, ignore_errors=True)

    async def close(self) -> None:
        """Stop running jobs (the service is shutting down): their runs fail."""
        for task in self._jobs.values():
            task.cancel()
        for task in list(self._jobs.values()):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def get(self, run_id: str) -> Run | None:
        if RUN_ID.fullmatch(run_id) is None:
            return None
        try:
            data = json.loads((self.root / run_id / _STATE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return _run(data)

    def recent(self) -> list[Run]:
        runs = (self.get(directory.name) for directory in self._directories())
        return [run for run in runs if run is not None]

    def file(self, run: Run, name: str) -> Path:
        return self.root / run.id / name

    def breaks(self, run: Run, kind: str | None, offset: int, limit: int) -> list[BreakLine]:
        """A page of the run's breaks (of one class, or all), read from its CSV."""
        path = self.file(run, worker.BREAKS)
        if not path.is_file():
            return []
        with path.open(encoding="utf-8", newline="") as lines:
            rows = csv.reader(lines)
            next(rows, None)
            chosen = (row for row in rows if kind is None or row[0] == kind)
            return [BreakLine(*row) for row in islice(chosen, offset, offset + limit)]

    async def _work(self, run: Run, final: bool) -> None:
        directory = self.root / run.id
        env = os.environ | {"BANK_ADAPTER_DATABASE_URL": self._database_url}
        args = [str(directory), run.partner_id, run.day.isoformat(), run.file_name]
        args.append(worker.FINAL if final else worker.OPEN)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            worker.__name__,
            *args,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
        )
        try:
            code = await process.wait()
        except asyncio.CancelledError:
            process.kill()
            await process.wait()
            self._finish(run, directory, "failed", "stopped: the service shut down")
            raise
        self._finish(run, directory, *_verdict(code, directory))

    def _finish(self, run: Run, directory: Path, status: str, error: str | None) -> None:
        (directory / worker.UPLOAD).unlink(missing_ok=True)
        head = _read_json(directory / worker.HEAD)
        self._write_state(_with(run, status=status, error=error, head=head))
        self._jobs.pop(run.id, None)
        log.info("console_reconciliation", partner=run.partner_id, status=status)

    def _write_state(self, run: Run) -> None:
        state = self.root / run.id / _STATE
        scratch = state.with_suffix(".part")
        scratch.write_text(json.dumps(_data(run)), encoding="utf-8")
        scratch.replace(state)

    def _directories(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        found = [path for path in self.root.iterdir() if (path / _STATE).is_file()]
        return sorted(found, key=lambda path: (path / _STATE).stat().st_mtime, reverse=True)

    def _prune(self) -> None:
        for directory in self._directories()[RUNS_KEPT:]:
            if directory.name not in self._jobs:
                shutil.rmtree(directory, ignore_errors=True)


def _verdict(code: int, directory: Path) -> tuple[str, str | None]:
    if code == worker.EXIT_MATCHED:
        return "matched", None
    if code == worker.EXIT_BREAKS:
        return "breaks", None
    error = directory / worker.ERROR
    message = error.read_text(encoding="utf-8") if error.is_file() else f"exit status {code}"
    return ("bad_file" if code == worker.EXIT_BAD_FILE else "failed"), message


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data


def _with(run: Run, **changes: Any) -> Run:
    return _run(_data(run) | {key: value for key, value in changes.items()})


def _data(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "partner": run.partner_id,
        "date": run.day.isoformat(),
        "file": run.file_name,
        "operator": run.operator,
        "startedAt": run.started_at.isoformat(),
        "status": run.status,
        "error": run.error,
        "head": run.head,
    }


def _run(data: dict[str, Any]) -> Run:
    return Run(
        id=data["id"],
        partner_id=data["partner"],
        day=date.fromisoformat(data["date"]),
        file_name=data["file"],
        operator=data["operator"],
        started_at=datetime.fromisoformat(data["startedAt"]),
        status=data["status"],
        error=data.get("error"),
        head=data.get("head"),
    )
