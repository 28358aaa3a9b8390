"""An in-process test world: authoritative DNS, HTTPS policy hosts and SMTP servers on loopback.

Servers run on their own event loop in a background thread, so sync tests (running the
CLI in a subprocess) and async tests share them. See `world.World` and the fixtures in
`tests/world/fixtures.py` (re-exported by tests/conftest.py).
"""
