"""Jinja2 templates, static files and text catalogs of waitboard's pages (data only)."""
