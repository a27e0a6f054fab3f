"""`GET /metrics` on the management port: logins, tokens, the token endpoint's latency,
every request by route (the OAuth endpoints' fast path included) and push answer times,
read back with prometheus-client's own parser."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from idp.management import with_management
from tests.conftest import query_of
from tests.plugins.pocket_mfa.conftest import PocketEnv, enroll, id_token_claims, start, verify
from tests.plugins.pocket_mfa.test_push_login import paired_phone, shown_number, waiting_page

MANAGEMENT_PORT = 9000

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(env: PocketEnv) -> Samples:
    """Every sample /metrics shows, by name and labels."""
    app = with_management(env.app, MANAGEMENT_PORT)
    management = TestClient(app, base_url=f"http://127.0.0.1:{MANAGEMENT_PORT}")
    response = management.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: Any) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_login_with_password_and_code_and_its_token_are_counted(pocket: PocketEnv) -> None:
    enrolled = enroll(pocket, start(pocket))
    pocket.client.cookies.delete("idp_session")
    pocket.clock.advance()
    location = start(pocket, prompt="login")
    assert verify(pocket, location, "000000").status_code == 400  # a wrong code first
    answer = verify(pocket, location, pocket.code(enrolled.secret))
    assert answer.status_code == 303, answer.text
    before = scrape(pocket)
    assert value(before, "idp_logins_total", outcome="success", factor="pwd+otp") == 2
    assert value(before, "idp_logins_total", outcome="wrong_code", factor="otp") == 1

    id_token_claims(pocket, query_of(answer.headers["location"])["code"])
    samples = scrape(pocket)
    tokens = ("idp_tokens_issued_total", {"grant_type": "authorization_code", "client_id": "rp"})
    assert value(samples, tokens[0], **tokens[1]) - value(before, tokens[0], **tokens[1]) == 1
    seconds = "idp_token_request_duration_seconds"
    assert value(samples, seconds + "_count") == value(before, seconds + "_count") + 1
    assert value(samples, seconds + "_sum") > value(before, seconds + "_sum")
    assert value(samples, seconds + "_bucket", le="+Inf") == value(samples, seconds + "_count")


def test_the_fast_path_of_the_oauth_endpoints_is_counted_by_route(pocket: PocketEnv) -> None:
    before = scrape(pocket)
    form = {"grant_type": "client_credentials"}
    assert pocket.client.post("/token", data=form, auth=("rp", "wrong")).status_code == 401
    assert pocket.client.post("/introspect", data={"token": "x"}).status_code == 401
    assert pocket.client.get("/token").status_code == 405  # routed: only POST is fast
    pocket.client.get("/login/nothing-here")
    pocket.client.get("/no/such/page")
    samples = scrape(pocket)

    def counted(route: str, status: str) -> float:
        name = "idp_http_requests_total"
        return value(samples, name, route=route, status=status) - value(
            before, name, route=route, status=status
        )

    assert counted("/token", "4xx") == 2
    assert counted("/introspect", "4xx") == 1
    assert counted("/login/{login_id}", "4xx") == 1
    assert counted("unmatched", "4xx") == 1
    assert not any(
        labels
        for (name, labels) in samples
        if name == "idp_http_requests_total" and dict(labels)["route"].startswith("/no/")
    )


def test_a_push_approval_observes_the_answer_time(pocket: PocketEnv) -> None:
    phone = paired_phone(pocket)
    location, page = waiting_page(pocket)
    [challenge] = phone.challenges()
    assert phone.answer(challenge["id"], "approve", shown_number(page.text)).status_code == 200
    assert pocket.client.get(location).status_code == 303
    samples = scrape(pocket)
    answered = "idp_factor_answer_seconds"
    assert value(samples, answered + "_count", factor="push") == 1
    assert value(samples, answered + "_bucket", factor="push", le="120.0") == 1
    assert value(samples, "idp_logins_total", outcome="success", factor="pwd+swk") == 1
