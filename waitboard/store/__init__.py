"""Redis: every key and channel (keys), the connection and script runner, the stores
(tickets, bookings, sessions, applications, rate limits), the embedded server, backups
and the Lua scripts. It answers with outcomes and errors of the core, never with HTTP.
"""
