"""The sqlite file's schema versions: a file from before is refused until `idp db upgrade`,
which carries every record over to the explicit indexes."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import orjson
import pytest

from idp.cli import main
from idp.errors import SchemaOutdated
from idp.store.base import RecordView
from idp.store.sqlite import SqliteStore
from idp.store.sqlite_schema import LATEST, MIGRATIONS

SUB = "7d0c3c7e-0000-4000-8000-000000000001"


def _old_file(path: Path) -> None:
    """A store as the version before numbered schemas left it, with one record of each
    kind that the upgrade must carry over."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(MIGRATIONS[0])
    now = time.time()
    rows = {
        f"consent:{SUB}:rp": {"scope": ["openid"]},
        f"pocket-recovery:{SUB}:abc123": {"created_at": 1_700_000_000},
        "pocket-device:dev_1": {"device_id": "dev_1", "sub": SUB, "paired_at": 1_700_000_001},
        f"pocket-user-device:{SUB}:dev_1": {},
        "pocket-challenge:ch_1": {"id": "ch_1", "sub": SUB, "created_at": 1_700_000_002},
        f"pocket-pending:{SUB}:ch_1": {},
        "pocket_audit:1700000003000:aa": {"event": "push_denied", "at": 1_700_000_003.0},
        "code:other": {"n": 1},
    }
    for key, payload in rows.items():
        conn.execute(
            "INSERT INTO records (key, payload, expires_at) VALUES (?, ?, ?)",
            (key, orjson.dumps(payload).decode(), now + 3600),
        )
    conn.close()


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "idp.toml"
    path.write_text(f'[store]\npath = "{tmp_path / "old.sqlite3"}"\n')
    return str(path)


def test_a_new_file_gets_the_latest_schema(tmp_path: Path) -> None:
    SqliteStore(tmp_path / "new.sqlite3").close_now()
    conn = sqlite3.connect(tmp_path / "new.sqlite3")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST


def test_an_older_file_is_refused_with_the_command_that_upgrades_it(tmp_path: Path) -> None:
    _old_file(tmp_path / "old.sqlite3")
    with pytest.raises(SchemaOutdated, match="idp db upgrade"):
        SqliteStore(tmp_path / "old.sqlite3")


def test_serve_and_commands_refuse_an_older_file(
    tmp_path: Path, config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _old_file(tmp_path / "old.sqlite3")
    for command in (["serve"], ["users", "list"]):
        assert main(["--config", config, *command]) == 1
        assert "run `idp db upgrade`" in capsys.readouterr().err


def test_upgrade_carries_every_record_over(
    tmp_path: Path, config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _old_file(tmp_path / "old.sqlite3")
    assert main(["--config", config, "db", "upgrade"]) == 0
    assert f"from version 1 to {LATEST}" in capsys.readouterr().out
    store = SqliteStore(tmp_path / "old.sqlite3")
    pocket = store.records("pocket")

    async def ids(records: RecordView, model: str) -> list[str]:
        return [i for i, _ in await records.find_by_sub(model, SUB)]

    async def check() -> None:
        assert await ids(store, "consent") == [f"{SUB}:rp"]
        assert await ids(pocket, "recovery") == [f"{SUB}:abc123"]
        assert await ids(pocket, "device") == ["dev_1"]
        assert await ids(pocket, "challenge") == ["ch_1"]
        assert await pocket.find("user-device", f"{SUB}:dev_1") is None
        audit = await pocket.find_since("audit", 1_700_000_003.0)
        assert [p["event"] for _, p in audit] == ["push_denied"]
        assert await pocket.find_since("audit", 1_700_000_004.0) == []
        assert await store.find("code", "other") == {"n": 1}

    asyncio.run(check())
    store.close_now()
    assert main(["--config", config, "db", "upgrade"]) == 0
    assert "nothing to upgrade" in capsys.readouterr().out


def test_upgrade_of_a_missing_file_says_so(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", config, "db", "upgrade"]) == 1
    assert "there is no store at" in capsys.readouterr().err
