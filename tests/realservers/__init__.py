"""Real Debian servers (knot, nginx, postfix) on loopback for the second test lane of `check`."""
