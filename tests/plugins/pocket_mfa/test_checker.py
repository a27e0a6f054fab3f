"""Code checks against the store: single use, replay of earlier steps, throttling that
survives a restart, and single-use recovery codes."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
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


def build(path: Path, **config: int) -> tuple[SqliteStore, CodeChecker]:
    store = SqliteStore(path)
    enrollments = Enrollments(store, SecretBox(KEY), RecoveryCodes(store, KEY))
    return store, CodeChecker(store, PocketConfig(**config), enrollments)  # type: ignore[arg-type]


@pytest.fixture
def checker(tmp_path: Path) -> Iterator[CodeChecker]:
    store, checker = build(tmp_path / "idp.sqlite3")
    yield checker
    store.close()


def code(secret: str, now: float = NOW, offset: int = 0) -> str:
    return pyotp.TOTP(secret).at(now + 30 * offset)


def test_a_code_is_accepted_once(checker: CodeChecker) -> None:
    secret = new_secret()
    assert checker.check_totp(SUB, secret, code(secret), NOW).ok
    again = checker.check_totp(SUB, secret, code(secret), NOW)
    assert again.outcome is Outcome.REFUSED
    # still refused half a minute later, while the skew window would accept it
    assert not checker.check_totp(SUB, secret, code(secret), NOW + 30).ok


def test_an_earlier_step_is_refused_after_a_later_one(checker: CodeChecker) -> None:
    secret = new_secret()
    assert checker.check_totp(SUB, secret, code(secret, offset=1), NOW).ok
    assert not checker.check_totp(SUB, secret, code(secret), NOW).ok
    assert not checker.check_totp(SUB, secret, code(secret, offset=-1), NOW).ok


def test_a_later_step_is_accepted_after_an_earlier_one(checker: CodeChecker) -> None:
    secret = new_secret()
    assert checker.check_totp(SUB, secret, code(secret, offset=-1), NOW).ok
    assert checker.check_totp(SUB, secret, code(secret), NOW).ok
    assert checker.check_totp(SUB, secret, code(secret, offset=1), NOW).ok


def test_replay_protection_is_per_user(checker: CodeChecker) -> None:
    secret = new_secret()
    assert checker.check_totp(SUB, secret, code(secret), NOW).ok
    assert checker.check_totp("user-2", secret, code(secret), NOW).ok


def test_concurrent_submissions_of_one_code_accept_exactly_one(checker: CodeChecker) -> None:
    secret = new_secret()
    results: list[bool] = []
    barrier = threading.Barrier(6, timeout=10)

    def submit() -> None:
        barrier.wait()
        results.append(checker.check_totp(SUB, secret, code(secret), NOW).ok)

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False] * 5 + [True]


def test_wrong_codes_are_throttled_and_then_even_a_right_one_is_refused(
    checker: CodeChecker,
) -> None:
    secret = new_secret()
    for _ in range(4):
        assert checker.check_totp(SUB, secret, "000000", NOW).outcome is Outcome.REFUSED
    fifth = checker.check_totp(SUB, secret, "000000", NOW)
    assert fifth.outcome is Outcome.LOCKED and fifth.retry_minutes == 15
    locked = checker.check_totp(SUB, secret, code(secret), NOW)
    assert locked.outcome is Outcome.LOCKED
    # another user is not affected
    assert checker.check_totp("user-2", secret, code(secret), NOW).ok


def test_the_failure_count_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "idp.sqlite3"
    secret = new_secret()
    store, checker = build(path)
    for _ in range(5):
        checker.check_totp(SUB, secret, "000000", NOW)
    store.close()
    store, checker = build(path)
    assert checker.check_totp(SUB, secret, code(secret), NOW).outcome is Outcome.LOCKED
    store.close()


def test_the_lock_ends_when_the_window_has_passed(tmp_path: Path) -> None:
    store, checker = build(tmp_path / "idp.sqlite3", max_failures=2, lockout_window=1)
    secret = new_secret()
    checker.check_totp(SUB, secret, "000000", NOW)
    assert checker.check_totp(SUB, secret, "000000", NOW).outcome is Outcome.LOCKED
    time.sleep(1.1)
    assert checker.check_totp(SUB, secret, code(secret), NOW).ok
    store.close()


def test_a_right_code_clears_earlier_failures(checker: CodeChecker) -> None:
    secret = new_secret()
    for _ in range(4):
        checker.check_totp(SUB, secret, "000000", NOW)
    assert checker.check_totp(SUB, secret, code(secret), NOW).ok
    for _ in range(4):
        assert checker.check_totp(SUB, secret, "000000", NOW).outcome is Outcome.REFUSED


def test_recovery_codes_work_once_each(checker: CodeChecker) -> None:
    recovery = checker.enrollments.recovery
    codes = recovery.issue(SUB, 10)
    assert len(set(codes)) == 10
    assert checker.check_login(SUB, codes[0], NOW).method == "recovery"
    assert checker.check_login(SUB, codes[0], NOW).outcome is Outcome.REFUSED
    # typed differently: upper case, without the dash
    assert checker.check_login(SUB, codes[1].upper().replace("-", ""), NOW).ok
    assert recovery.remaining(SUB)[0] == 8
    assert not checker.check_login("user-2", codes[2], NOW).ok


def test_new_recovery_codes_replace_the_old_ones(checker: CodeChecker) -> None:
    recovery = checker.enrollments.recovery
    old = recovery.issue(SUB, 10)
    new = recovery.issue(SUB, 10)
    assert not recovery.use(SUB, old[0])
    assert recovery.use(SUB, new[0])
    assert recovery.remaining(SUB)[0] == 9


def test_recovery_codes_are_stored_as_keyed_hashes(tmp_path: Path) -> None:
    store, checker = build(tmp_path / "idp.sqlite3")
    codes = checker.enrollments.recovery.issue(SUB, 10)
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("idp.sqlite3*"))
    for plain in codes:
        assert plain.encode() not in raw
        assert plain.replace("-", "").encode() not in raw


def test_login_check_uses_the_enrolled_app(checker: CodeChecker) -> None:
    secret = new_secret()
    assert checker.check_login(SUB, code(secret), NOW).outcome is Outcome.REFUSED
    checker.enrollments.save_totp(SUB, secret)
    result = checker.check_login(SUB, code(secret, offset=1), NOW)
    assert result.ok and result.method == "totp"
