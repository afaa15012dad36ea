"""waitboard: live waiting-zone display for public offices."""

__version__ = "0.1.0"
