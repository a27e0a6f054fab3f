"""Real servers for the tests, each started on a free port of 127.0.0.1 in a folder of
its own and stopped by its PID: PostgreSQL, Redis, HAProxy and `idp serve` nodes."""
