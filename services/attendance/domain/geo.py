"""Distances on the Earth's surface and validation of coordinates: ``servicekit.geo``, which volunteer's
check-ins share; kept importable here for attendance's domain modules."""
from servicekit.geo import EARTH_RADIUS_M, check_coordinates, distance_m, finite_number, require_number

__all__ = ["EARTH_RADIUS_M", "check_coordinates", "distance_m", "finite_number", "require_number"]
