"""The security audit trail: one facility for every part of the IdP and its plugins.

Each security event (a login and its failures, a second factor used, a push, an
enrollment, a password change, a client or key change, every admin action) is one
record: time, event, outcome, reason, the user (sub), the client, the address and user
agent of the request, its request id, and for admin actions the acting client ("cli"
for the `idp` command). It is written as a JSON line ([audit] output), kept in the
durable store for [audit] retention days (GET /admin/api/v1/audit-events) and, with
[audit] webhook_url, POSTed to a receiver in the background.

No password, code, token, key or secret ever goes into an event: callers pass names and
ids only, and `AuditTrail.record` refuses a detail whose name says it holds one.
"""

from idp.audit.trail import MODEL, AuditTrail

__all__ = ["MODEL", "AuditTrail"]
