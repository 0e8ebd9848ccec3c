"""A kNN file that re-exports the toolkit's classifier instead of writing one.

BUG: the class is the toolkit's own.
GRADE: exit=2 message="KNearestNeighbor"
"""
from classifiers.k_nearest_neighbor import KNearestNeighbor  # noqa: F401
