"""Answering a push challenge: POST /challenges/{id}/answer, signed by the device."""

from __future__ import annotations

from dataclasses import replace

import pytest

from plugins.pocket_mfa.push.challenge import Outcome
from tests.failing_commit import commits_fail
from tests.plugins.pocket_mfa.push.conftest import PushEnv


def test_challenge_shows_three_numbers(push: PushEnv) -> None:
    phone = push.paired_phone()
    challenge = push.challenge()
    assert 10 <= challenge.number <= 99
    assert challenge.expires_at - challenge.created_at == 120
    [shown] = phone.challenges()
    assert shown["id"] == challenge.id
    assert shown["client_name"] == "Test RP" and shown["ip"] == "192.0.2.7"
    assert shown["browser"] == "Firefox 128" and shown["location"] == "Utrecht, NL"
    numbers = shown["numbers"]
    assert len(set(numbers)) == 3 and challenge.number in numbers
    assert all(10 <= n <= 99 for n in numbers)
    assert "number" not in shown


def test_approve(push: PushEnv) -> None:
    phone = push.paired_phone()
    challenge = push.challenge()
    response = phone.answer(challenge.id, "approve", challenge.number)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "approved"}
    assert push.outcome(challenge.id) is Outcome.APPROVED
    assert phone.challenges() == []


def test_an_answer_that_cannot_be_kept_leaves_the_challenge_open(push: PushEnv) -> None:
    phone = push.paired_phone()
    challenge = push.challenge()
    with commits_fail(push.store):
        refused = phone.answer(challenge.id, "approve", challenge.number)
    assert refused.status_code == 500
    assert refused.json()["error"] == "server_error"
    # neither used up nor decided: the phone can answer again
    assert push.outcome(challenge.id) is Outcome.PENDING
    assert [c["id"] for c in phone.challenges()] == [challenge.id]
    assert phone.answer(challenge.id, "approve", challenge.number).json()["status"] == "approved"


def test_approve_needs_the_number(push: PushEnv) -> None:
    phone = push.paired_phone()
    challenge = push.challenge()
    response = phone.answer(challenge.id, "approve")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert push.outcome(challenge.id) is Outcome.PENDING


def test_deny(push: PushEnv) -> None:
    phone = push.paired_phone()
    challenge = push.challenge()
    response = phone.answer(challenge.id, "deny")
    assert response.json() == {"status": "denied"}
    assert push.outcome(challenge.id) is Outcome.DENIED
    assert "denied" in push.audit_events()


def test_fraud_report_is_audited(push: PushEnv) -> None:
    phone = push.paired_phone()
    challenge = push.challenge()
    response = phone.answer(challenge.id, "deny", fraud=True)
    assert response.json() == {"status": "fraud"}
    assert push.outcome(challenge.id) is Outcome.FRAUD
    [event] = [e for e in push.audit() if e["event"] == "fraud"]
    assert event["sub"] == push.user.sub and event["challenge_id"] == challenge.id
    assert event["device_id"] == phone.device_id and event["ip"] == "192.0.2.7"
    assert event["outcome"] == "failure"


def test_fraud_only_with_deny(push: PushEnv) -> None:
    phone = push.paired_phone()
    challenge = push.challenge()
    response = phone.answer(challenge.id, "approve", challenge.number, fraud=True)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


NO_LONGER_VALID = {
    "error": "challenge_no_longer_valid",
    "error_description": "this request is no longer valid: the login was stopped or has expired",
}


def test_expiry(push: PushEnv) -> None:
    phone = push.paired_phone()
    challenge = push.challenge()
    push.clock.advance(121)
    assert phone.challenges() == []
    response = phone.answer(challenge.id, "approve", challenge.number)
    assert response.status_code == 410
    assert response.json() == NO_LONGER_VALID
    assert push.outcome(challenge.id) is Outcome.EXPIRED
    assert "challenge_no_longer_valid" in push.audit_events()
    # answered again, once the expiry is on record: the same
    again = phone.answer(challenge.id, "deny")
    assert (again.status_code, again.json()) == (410, NO_LONGER_VALID)


def test_a_withdrawn_challenge_is_gone_from_the_phone_and_takes_no_answer(
    push: PushEnv,
) -> None:
    phone = push.paired_phone()
    challenge = push.challenge()
    kept = push.challenge()
    assert push.run(push.service.challenges.withdraw, challenge, "stopped") is True
    assert [c["id"] for c in phone.challenges()] == [kept.id]
    for decision, number in (("approve", challenge.number), ("deny", None)):
        response = phone.answer(challenge.id, decision, number)
        assert response.status_code == 410, response.text
        assert response.json() == NO_LONGER_VALID
        assert response.headers["cache-control"] == "no-store"
    assert push.outcome(challenge.id) is Outcome.WITHDRAWN
    [event] = [e for e in push.audit() if e["event"] == "withdrawn"]
    assert event["challenge_id"] == challenge.id and event["reason"] == "stopped"
    assert event["sub"] == push.user.sub and event["client_name"] == "Test RP"
    # withdrawn once; the other challenge is untouched
    assert push.run(push.service.challenges.withdraw, challenge, "stopped") is False
    assert phone.answer(kept.id, "approve", kept.number).json() == {"status": "approved"}


def test_an_answered_challenge_is_not_withdrawn(push: PushEnv) -> None:
    phone = push.paired_phone()
    challenge = push.challenge()
    assert phone.answer(challenge.id, "deny").json() == {"status": "denied"}
    assert push.run(push.service.challenges.withdraw, challenge, "stopped") is False
    assert push.outcome(challenge.id) is Outcome.DENIED
    assert "withdrawn" not in push.audit_events()


def test_replayed_answer(push: PushEnv) -> None:
    phone = push.paired_phone()
    challenge = push.challenge()
    assert phone.answer(challenge.id, "deny").status_code == 200
    again = phone.answer(challenge.id, "approve", challenge.number)
    assert again.status_code == 409
    assert again.json()["error"] == "challenge_closed"
    assert push.outcome(challenge.id) is Outcome.DENIED


def test_forged_signature_changes_nothing(push: PushEnv) -> None:
    phone = push.paired_phone()
    other = push.phone()
    challenge = push.challenge()
    forged = other.signature(challenge.id, "approve", challenge.number, False)
    response = phone.answer(challenge.id, "approve", challenge.number, signature=forged)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_signature"
    # signed for another decision: also refused
    denial = phone.signature(challenge.id, "deny", None, False)
    response = phone.answer(challenge.id, "approve", challenge.number, signature=denial)
    assert response.json()["error"] == "bad_signature"
    assert push.outcome(challenge.id) is Outcome.PENDING
    assert push.audit_events().count("bad_signature") == 2
    # the real device can still answer
    assert phone.answer(challenge.id, "approve", challenge.number).json()["status"] == "approved"


def test_wrong_number_fails_the_challenge(push: PushEnv) -> None:
    phone = push.paired_phone()
    challenge = push.challenge()
    assert challenge.numbers is not None
    wrong = next(n for n in challenge.numbers if n != challenge.number)
    response = phone.answer(challenge.id, "approve", wrong)
    assert response.status_code == 200
    assert response.json() == {"status": "wrong_number"}
    assert push.outcome(challenge.id) is Outcome.WRONG_NUMBER
    assert "wrong_number" in push.audit_events()
    late = phone.answer(challenge.id, "approve", challenge.number)
    assert late.status_code == 409


def test_foreign_device(push: PushEnv) -> None:
    push.paired_phone()
    bob = push.add_user("bob")
    bobs_phone = push.paired_phone(bob)
    challenge = push.challenge()
    assert bobs_phone.challenges() == []
    response = bobs_phone.answer(challenge.id, "approve", challenge.number)
    assert response.status_code == 403
    assert response.json()["error"] == "foreign_device"
    assert push.outcome(challenge.id) is Outcome.PENDING
    [event] = [e for e in push.audit() if e["event"] == "foreign_device"]
    assert event["device_id"] == bobs_phone.device_id and event["sub"] == bob.sub


def test_unknown_challenge(push: PushEnv) -> None:
    phone = push.paired_phone()
    response = phone.answer("ch_nope", "deny")
    assert response.status_code == 410
    assert response.json() == NO_LONGER_VALID


def test_without_number_matching(push: PushEnv) -> None:
    challenges = push.service.challenges
    challenges.config = replace(challenges.config, number_matching=False)
    phone = push.paired_phone()
    challenge = push.challenge()
    assert challenge.numbers is None
    assert phone.challenges()[0]["numbers"] is None
    assert phone.answer(challenge.id, "approve").json()["status"] == "approved"


@pytest.mark.parametrize(
    "body",
    [
        {"decision": "maybe", "signature": "AA"},
        {"decision": "deny"},
        {"decision": "deny", "signature": "***"},
        {"decision": "deny", "signature": "AA", "fraud": "yes"},
        {"decision": "approve", "signature": "AA", "number": "12"},
    ],
)
def test_malformed_answers(push: PushEnv, body: dict[str, object]) -> None:
    phone = push.paired_phone()
    challenge = push.challenge()
    url = f"/factors/pocket/api/v1/challenges/{challenge.id}/answer"
    response = push.client.post(url, json=body, headers=phone.auth())
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert push.outcome(challenge.id) is Outcome.PENDING


def test_a_deeply_nested_answer_is_invalid_request(push: PushEnv) -> None:
    phone = push.paired_phone()
    challenge = push.challenge()
    url = f"/factors/pocket/api/v1/challenges/{challenge.id}/answer"
    body = b'{"decision":' * 100_000 + b'"deny"' + b"}" * 100_000

    response = push.client.post(url, content=body, headers=phone.auth())

    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert push.outcome(challenge.id) is Outcome.PENDING
