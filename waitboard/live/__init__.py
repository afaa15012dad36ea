"""The hub: Redis pub/sub -> one view per location -> the WebSocket clients, and the
WebSocket endpoints with their wire format.
"""
