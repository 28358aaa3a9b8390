"""`reports serve`: receive TLS reports POSTed to a `rua=https:` endpoint (RFC 8460 §5.2).

`app` answers each request, `writer` stores bodies on one thread, `server` runs uvicorn until a
signal, `command` is the CLI. Reports land in the same store `reports import` fills, so step 6
and `reports summary` show them alike.
"""

from __future__ import annotations

#: Where the receiver listens unless told otherwise: loopback, behind a reverse proxy.
DEFAULT_LISTEN = "127.0.0.1:8460"
#: The largest report accepted, as sent (compressed): 10 MB, what receivers commonly allow.
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
#: Seconds a client has for a request's headers, and again for its body.
DEFAULT_TIMEOUT = 30.0
