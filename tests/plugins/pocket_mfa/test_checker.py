"""Code checks against the store: single use, replay of earlier steps, throttling that
survives a restart, and single-use recovery codes."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pyotp
import pytest

from idp.store.sqlite import SqliteStore
from plugins.pocket_mfa.checker import CodeChecker, Outcome
from plugins.pocket_mfa.config import PocketConfig
from plugins.pocket_mfa.enrollments import Enrollments
from plugins.pocket_mfa.recovery import RecoveryCodes
from plugins.pocket_mfa.secrets_at_rest import SecretBox
from plugins.pocket_mfa.totp import new_secret

NOW = 1_700_000_015.0
SUB = "user-1"
KEY = os.urandom(32)


pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def build(path: Path, **config: int) -> tuple[SqliteStore, CodeChecker]:
    store = SqliteStore(path)
    records = store.records("pocket")
    enrollments = Enrollments(records, SecretBox(KEY), RecoveryCodes(records, KEY))
    return store, CodeChecker(records, PocketConfig(**config), enrollments)  # type: ignore[arg-type]


@pytest.fixture
async def checker(tmp_path: Path) -> AsyncIterator[CodeChecker]:
    store, checker = build(tmp_path / "idp.sqlite3")
    yield checker
    await store.close()


def code(secret: str, now: float = NOW, offset: int = 0) -> str:
    return pyotp.TOTP(secret).at(now + 30 * offset)


async def test_a_code_is_accepted_once(checker: CodeChecker) -> None:
    secret = new_secret()
    assert (await checker.check_totp(SUB, secret, code(secret), NOW)).ok
    again = await checker.check_totp(SUB, secret, code(secret), NOW)
    assert again.outcome is Outcome.REFUSED
    # still refused half a minute later, while the skew window would accept it
    assert not (await checker.check_totp(SUB, secret, code(secret), NOW + 30)).ok


async def test_an_earlier_step_is_refused_after_a_later_one(checker: CodeChecker) -> None:
    secret = new_secret()
    assert (await checker.check_totp(SUB, secret, code(secret, offset=1), NOW)).ok
    assert not (await checker.check_totp(SUB, secret, code(secret), NOW)).ok
    assert not (await checker.check_totp(SUB, secret, code(secret, offset=-1), NOW)).ok


async def test_a_later_step_is_accepted_after_an_earlier_one(checker: CodeChecker) -> None:
    secret = new_secret()
    assert (await checker.check_totp(SUB, secret, code(secret, offset=-1), NOW)).ok
    assert (await checker.check_totp(SUB, secret, code(secret), NOW)).ok
    assert (await checker.check_totp(SUB, secret, code(secret, offset=1), NOW)).ok


async def test_replay_protection_is_per_user(checker: CodeChecker) -> None:
    secret = new_secret()
    assert (await checker.check_totp(SUB, secret, code(secret), NOW)).ok
    assert (await checker.check_totp("user-2", secret, code(secret), NOW)).ok


async def test_concurrent_submissions_of_one_code_accept_exactly_one(
    checker: CodeChecker,
) -> None:
    secret = new_secret()
    barrier = threading.Barrier(6, timeout=10)

    def submit() -> bool:
        # each on its own thread and event loop, so on its own sqlite connections
        barrier.wait()
        return asyncio.run(checker.check_totp(SUB, secret, code(secret), NOW)).ok

    results = await asyncio.gather(*(asyncio.to_thread(submit) for _ in range(6)))
    assert sorted(results) == [False] * 5 + [True]


async def test_wrong_codes_are_throttled_and_then_even_a_right_one_is_refused(
    checker: CodeChecker,
) -> None:
    secret = new_secret()
    for _ in range(4):
        assert (await checker.check_totp(SUB, secret, "000000", NOW)).outcome is Outcome.REFUSED
    fifth = await checker.check_totp(SUB, secret, "000000", NOW)
    assert fifth.outcome is Outcome.LOCKED and fifth.retry_minutes == 15
    locked = await checker.check_totp(SUB, secret, code(secret), NOW)
    assert locked.outcome is Outcome.LOCKED
    # another user is not affected
    assert (await checker.check_totp("user-2", secret, code(secret), NOW)).ok


async def test_the_failure_count_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "idp.sqlite3"
    secret = new_secret()
    store, checker = build(path)
    for _ in range(5):
        await checker.check_totp(SUB, secret, "000000", NOW)
    await store.close()
    store, checker = build(path)
    assert (await checker.check_totp(SUB, secret, code(secret), NOW)).outcome is Outcome.LOCKED
    await store.close()


async def test_the_lock_ends_when_the_window_has_passed(tmp_path: Path) -> None:
    store, checker = build(tmp_path / "idp.sqlite3", max_failures=2, lockout_window=1)
    secret = new_secret()
    await checker.check_totp(SUB, secret, "000000", NOW)
    assert (await checker.check_totp(SUB, secret, "000000", NOW)).outcome is Outcome.LOCKED
    await asyncio.sleep(1.1)
    assert (await checker.check_totp(SUB, secret, code(secret), NOW)).ok
    await store.close()


async def test_a_right_code_clears_earlier_failures(checker: CodeChecker) -> None:
    secret = new_secret()
    for _ in range(4):
        await checker.check_totp(SUB, secret, "000000", NOW)
    assert (await checker.check_totp(SUB, secret, code(secret), NOW)).ok
    for _ in range(4):
        assert (await checker.check_totp(SUB, secret, "000000", NOW)).outcome is Outcome.REFUSED


async def test_recovery_codes_work_once_each(checker: CodeChecker) -> None:
    recovery = checker.enrollments.recovery
    codes = await recovery.issue(SUB, 10)
    assert len(set(codes)) == 10
    assert (await checker.check_login(SUB, codes[0], NOW)).method == "recovery"
    assert (await checker.check_login(SUB, codes[0], NOW)).outcome is Outcome.REFUSED
    # typed differently: upper case, without the dash
    assert (await checker.check_login(SUB, codes[1].upper().replace("-", ""), NOW)).ok
    assert (await recovery.remaining(SUB))[0] == 8
    assert not (await checker.check_login("user-2", codes[2], NOW)).ok


async def test_new_recovery_codes_replace_the_old_ones(checker: CodeChecker) -> None:
    recovery = checker.enrollments.recovery
    old = await recovery.issue(SUB, 10)
    new = await recovery.issue(SUB, 10)
    assert not await recovery.use(SUB, old[0])
    assert await recovery.use(SUB, new[0])
    assert (await recovery.remaining(SUB))[0] == 9


async def test_recovery_codes_are_stored_as_keyed_hashes(tmp_path: Path) -> None:
    store, checker = build(tmp_path / "idp.sqlite3")
    codes = await checker.enrollments.recovery.issue(SUB, 10)
    await store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("idp.sqlite3*"))
    for plain in codes:
        assert plain.encode() not in raw
        assert plain.replace("-", "").encode() not in raw


async def test_login_check_uses_the_enrolled_app(checker: CodeChecker) -> None:
    secret = new_secret()
    assert (await checker.check_login(SUB, code(secret), NOW)).outcome is Outcome.REFUSED
    await checker.enrollments.save_totp(SUB, secret)
    result = await checker.check_login(SUB, code(secret, offset=1), NOW)
    assert result.ok and result.method == "totp"
