"""Benchmark Pocket IdP against panva/oidc-provider: `python bench/run.py --help`."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.bench import main

if __name__ == "__main__":
    sys.exit(main())
