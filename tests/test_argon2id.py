"""argon2id verify with memory kept between verifies, and Passwords on top of it: the
same answers as argon2-cffi's verify, for every kind of hash, with fewer allocations."""

from __future__ import annotations

import threading

import pytest
from argon2 import PasswordHasher, Type

from idp import argon2id
from idp.argon2id import MemoryPool
from idp.passwords import Passwords
from idp.settings import PasswordSettings

#: small parameters, so that the tests are quick; 8 MiB of argon2 memory
SMALL = {"time_cost": 1, "memory_cost": 8 * 1024, "parallelism": 1}


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> MemoryPool:
    fresh = MemoryPool(keep=2)
    monkeypatch.setattr(argon2id, "POOL", fresh)
    return fresh


def hashed(password: str, **params: int | Type) -> str:
    return PasswordHasher(**{**SMALL, "type": Type.ID, **params}).hash(password)  # type: ignore[arg-type]


@pytest.mark.parametrize("password", ["correct horse", "", "wachtwoord met ë en 🔑"])
def test_the_right_password_matches_and_a_wrong_one_does_not(
    pool: MemoryPool, password: str
) -> None:
    encoded = hashed(password)

    assert argon2id.verify(encoded, password) is True
    assert argon2id.verify(encoded, password + "x") is False
    assert argon2id.verify(encoded, password.upper() + "?") is False


def test_other_parameters_are_read_from_the_hash(pool: MemoryPool) -> None:
    encoded = hashed("pw", time_cost=2, memory_cost=16 * 1024, parallelism=2, hash_len=24)

    assert argon2id.verify(encoded, "pw") is True
    assert argon2id.verify(encoded, "pW") is False


def test_an_altered_hash_or_salt_does_not_match(pool: MemoryPool) -> None:
    encoded = hashed("pw")
    head, salt, digest = encoded.rsplit("$", 2)
    other_digest = ("B" if digest[0] != "B" else "C") + digest[1:]
    other_salt = ("B" if salt[0] != "B" else "C") + salt[1:]

    assert argon2id.verify(f"{head}${salt}${other_digest}", "pw") is False
    assert argon2id.verify(f"{head}${other_salt}${digest}", "pw") is False


@pytest.mark.parametrize(
    "encoded",
    [
        PasswordHasher(**SMALL, type=Type.I).hash("pw"),  # type: ignore[arg-type]
        PasswordHasher(**SMALL, type=Type.D).hash("pw"),  # type: ignore[arg-type]
        "$argon2id$v=16$m=8192,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
        "not a hash",
        "$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ",
        "$argon2id$v=19$m=8192,t=1,p=1$!!notbase64!!$aGFzaGhhc2hoYXNoaGFzaA",
        "$argon2id$v=19$m=1,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
    ],
    ids=["argon2i", "argon2d", "version-16", "garbage", "no-digest", "bad-base64", "tiny-m"],
)
def test_what_this_path_does_not_verify_is_unsupported(pool: MemoryPool, encoded: str) -> None:
    with pytest.raises(argon2id.Unsupported):
        argon2id.verify(encoded, "pw")


def test_one_buffer_serves_verify_after_verify(pool: MemoryPool) -> None:
    encoded = hashed("pw")

    for _ in range(3):
        assert argon2id.verify(encoded, "pw")

    assert pool.made == 1
    assert len(pool.kept()) == 1


def test_argon2_wipes_the_memory_it_hands_back(pool: MemoryPool) -> None:
    assert argon2id.verify(hashed("a secret"), "a secret")

    (buffer,) = pool.kept()
    assert len(buffer) == 8 * 1024 * 1024
    assert argon2id.ffi.buffer(buffer)[:] == bytes(len(buffer))


def test_verifies_at_once_get_a_buffer_each_and_at_most_keep_stay(pool: MemoryPool) -> None:
    encoded = hashed("pw")
    start = threading.Barrier(3)
    results: list[bool] = []

    def sign_in(password: str) -> None:
        start.wait()
        results.append(argon2id.verify(encoded, password))

    threads = [threading.Thread(target=sign_in, args=(p,)) for p in ("pw", "pw", "nope")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == [False, True, True]
    assert pool.made <= 3
    assert len(pool.kept()) <= 2


def test_new_parameters_replace_the_kept_buffers(pool: MemoryPool) -> None:
    assert argon2id.verify(hashed("pw"), "pw")
    assert argon2id.verify(hashed("pw", memory_cost=16 * 1024), "pw")

    assert [len(b) for b in pool.kept()] == [16 * 1024 * 1024]


def test_passwords_verify_through_the_kept_memory_and_falls_back_for_other_hashes(
    pool: MemoryPool,
) -> None:
    passwords = Passwords(PasswordSettings(**SMALL))
    ours = passwords.hash("pw")
    argon2i = PasswordHasher(**SMALL, type=Type.I).hash("pw")  # type: ignore[arg-type]

    assert passwords.verify(ours, "pw") is True
    assert passwords.verify(ours, "wrong") is False
    assert passwords.verify(argon2i, "pw") is True
    assert passwords.verify(argon2i, "wrong") is False
    assert passwords.verify("not a hash", "pw") is False
    # no user: the decoy is verified all the same, and nothing matches
    assert passwords.verify(None, "decoy password that matches nothing") is False
    assert pool.made == 1
