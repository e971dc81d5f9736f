"""`bank-adapter db current` and `db downgrade`, the commands of an upgrade and of its
way back, run as an operator would on an SQLite file and on PostgreSQL: a fresh
database, migrated, stepped back one revision, and migrated again."""

from __future__ import annotations

import asyncio
import subprocess

from bank_adapter.store import migrate
from tests.serving import bank_adapter_command, clean_environ


async def db(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        bank_adapter_command("db", *args),
        env=clean_environ() | {"BANK_ADAPTER_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_current_follows_upgrade_and_downgrade(empty_database_url):
    url = empty_database_url
    head = migrate.head_revision()
    assert head is not None
    previous = f"{int(head) - 1:04d}"

    empty = await db(url, "current")
    nothing_to_undo = await db(url, "downgrade", "-1")
    upgraded = await db(url, "upgrade")
    at_head = await db(url, "current")
    stepped_back = await db(url, "downgrade", "-1")
    behind = await db(url, "current")
    again = await db(url, "upgrade")

    assert (empty.returncode, empty.stdout.strip()) == (
        1,
        f"database at revision none (empty), head {head}; run `bank-adapter db upgrade` "
        "(or the newer version)",
    )
    assert nothing_to_undo.returncode == 2
    assert (
        nothing_to_undo.stderr == "bank-adapter: the database has no schema: nothing to downgrade\n"
    )
    assert upgraded.stdout.strip() == f"database at revision {head}"
    assert (at_head.returncode, at_head.stdout.strip()) == (
        0,
        f"database at revision {head}, head {head}",
    )
    assert (stepped_back.returncode, stepped_back.stdout.strip()) == (
        0,
        f"database at revision {previous}",
    )
    assert behind.returncode == 1
    assert behind.stdout.startswith(f"database at revision {previous}, head {head}; run ")
    assert (again.returncode, again.stdout.strip()) == (0, f"database at revision {head}")
