"""Redis: every key and channel (keys), the connection and the one script runner (redis),
the scripts and their loader (scripts), the stores (tickets, bookings, sessions, joined in
office_store; applications; rate limits), the embedded server and backups. It answers with
outcomes and errors of the core, never with HTTP. docs/store.md lists the modules.
"""
