"""Counts that go nowhere: the metrics of parts built without a host (the tests build
the push service and the code checker on their own)."""

from __future__ import annotations


class Uncounted:
    """An idp.factors.FactorMetrics that keeps nothing."""

    def login(self, outcome: str, factor: str) -> None:
        pass

    def factor_answered(self, factor: str, seconds: float) -> None:
        pass

    def refused(self, kind: str) -> None:
        pass
