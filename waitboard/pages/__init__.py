"""HTML pages: public, staff, terminal, bookings, applications; rendering, staff
sessions and the error pages.
"""
