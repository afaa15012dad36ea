"""Programs that run on devices and speak only waitboard's HTTP API.

``waitboard-sensor terminal``   a ticket terminal: buttons, a durable spool, a printer
``waitboard-sensor occupancy``  a people counter reporting how many wait in a zone
``waitboard-sensor simulate``   a realistic office day driven through the real API
"""
