"""Every Redis key and channel name waitboard uses: the one place they are built.

Two modules by where a key lives - :mod:`~waitboard.store.keys.locations` (a location's
keys, all under its hash tag, and how a script gets them) and
:mod:`~waitboard.store.keys.office` (the keys of no location: staff, applications, rate
limits, reports, jobs) - each with the table of its keys. Callers use this package:
``keys.ticket(...)``, ``keys.job(...)``.
"""

from waitboard.store.keys.locations import *  # noqa: F403
from waitboard.store.keys.office import *  # noqa: F403
