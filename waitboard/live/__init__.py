"""Live screens: the hub's decisions without I/O (``view`` with its ``location``,
``overview``, ``actions`` and ``timing``), the hub that carries them out (Redis pub/sub,
loads, fan-outs, timers), and the WebSocket endpoints with their wire format.
"""
