"""Locations inside the repository that the harness uses."""

from __future__ import annotations

from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
REPO = BENCH.parent
PEER_DIR = BENCH / "peer"
DRIVER_DIR = BENCH / "driver"
RESULTS_DIR = BENCH / "results"
LOG_DIR = RESULTS_DIR / "logs"
#: our production configuration; the harness moves the store, port and issuer only
IDP_CONFIG = REPO / "config" / "idp.toml"
IDP_BIN = REPO / ".venv" / "bin" / "idp"
