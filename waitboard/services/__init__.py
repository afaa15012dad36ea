"""The commands every front end runs (the HTTP API, the pages, the terminal), once:
permissions, opening hours, metrics, the rate-limit policy. They know no HTTP.
"""
