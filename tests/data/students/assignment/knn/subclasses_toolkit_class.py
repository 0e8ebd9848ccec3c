"""A kNN file whose class inherits every method from the toolkit's.

BUG: the methods are the toolkit's own, inherited.
GRADE: exit=2 message="KNearestNeighbor"
"""
import classifiers.k_nearest_neighbor as knn


class KNearestNeighbor(knn.KNearestNeighbor):
    pass
