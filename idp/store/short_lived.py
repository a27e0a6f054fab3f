"""Which records are short-lived: the one list of the models that a PostgreSQL store with
a Redis cache (`[store] cache`, cached.py) keeps in Redis instead of PostgreSQL.

A model belongs here when every record of it is written with a lifetime of minutes (an
hour at most), serves one login, page or answer in flight, and is of no use once that
has ended: losing it costs that one attempt, never an account's data. Such records are
most of the writes of a login and are read or used up once; Redis serves them in one
round trip, with single use and expiry of its own, and PostgreSQL keeps what lasts. In
Redis a model may still be listed by user (`find_by_sub`: push challenges, through a
per-user index that expires with them) or by grant (`revoke_by_grant_id`: codes).

Durable records stay in PostgreSQL: users, clients and keys, and every model not named
here (consents, SSO sessions, access and refresh tokens, which a grant may revoke for
weeks, known browsers, second-factor enrollments, paired devices, recovery codes and
the audit log). Plugin models are named as the store keeps them: "pocket-challenge" is
the "challenge" model of the plugin namespace "pocket" (idp.store.namespaced).

Counters (throttling, rate limits, replay caches, start-up turns) all have a window, and
with a cache they all live in Redis.
"""

from __future__ import annotations

#: model -> what it is and where it is written
SHORT_LIVED_MODELS: dict[str, str] = {
    # the provider (idp/)
    "code": "authorization codes, single use (login/pipeline.py; tokens.code_ttl)",
    "login": "pending logins between the authorization request and the code (login/state.py)",
    "logout": "logouts waiting for the user's confirmation (oidc/logout.py, 10 minutes)",
    "account_login": "the account page's own login state (account.py, 10 minutes)",
    "demo": "the demo relying party's state, nonce and verifier (demo.py, 10 minutes)",
    # the Pocket plugin (plugins/pocket_mfa/), namespace "pocket"
    "pocket-challenge": "push challenges, listed per user (push/challenges.py)",
    "pocket-outcome": "how a push challenge ended, for the waiting page (push/challenges.py)",
    "pocket-login-push": "the push attempt of a login (push_attempts.py, 30 minutes)",
    "pocket-pairing": "one-time pairing tokens (push/pairing.py)",
    "pocket-paired": "the device a pairing token paired, for the waiting page (push/pairing.py)",
    "pocket-pair-setup": "the pairing code one wizard or manage page shows (pairings.py)",
    "pocket-setup": "authenticator setups waiting for their first code (setups.py)",
    "pocket-proof": "a login's proof of its new second factor (wizard.py)",
    "pocket-page": "the manage pages' short-lived access (manage.py, 30 minutes)",
    "pocket-removed": "the notice that a phone was removed (manage.py, 10 minutes)",
}

# the Redis keys of records are "…:MODEL:ID": a model name holds no colon
assert not any(":" in model for model in SHORT_LIVED_MODELS)


def is_short_lived(model: str) -> bool:
    return model in SHORT_LIVED_MODELS
