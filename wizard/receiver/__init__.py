"""`reports serve`: receive TLS reports POSTed to a `rua=https:` endpoint (RFC 8460 §5.2).

`app` answers each request, `writer` stores bodies on one thread, `server` runs uvicorn until a
signal, `command` is the CLI. Reports land in the same store `reports import` fills, so step 6
and `reports summary` show them alike.
"""
