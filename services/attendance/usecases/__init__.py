"""Attendance's use cases, one module per topic; the entry points in ``service.py`` call them."""
