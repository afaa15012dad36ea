"""The pure core: states, transitions, queue order, opening hours, the wait estimate,
appointment and application rules, the public shapes, daily figures, the office model.
No I/O: nothing here imports asyncio, redis, starlette or jinja2 (an import-linter
contract in pyproject.toml), and everything here is tested without Redis.
"""
