"""KNearestNeighbor: the three distance implementations agree with each other and with a
hand computation; votes and ties; predict dispatch."""

from __future__ import annotations

import numpy as np
import pytest

from classifiers import KNearestNeighbor


def test_distances_hand_computed_and_the_three_implementations_agree(rng):
    knn = KNearestNeighbor()
    knn.train(np.array([[0.0, 0.0], [3.0, 4.0]]), np.array([0, 1]))
    X = np.array([[0.0, 0.0], [6.0, 8.0]])
    want = np.array([[0.0, 5.0], [10.0, 5.0]])
    for compute in (knn.compute_distances_two_loops, knn.compute_distances_one_loop,
                    knn.compute_distances_no_loops):
        np.testing.assert_allclose(compute(X), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(1, 1, 1), (7, 13, 5), (30, 20, 64)])
def test_the_three_distances_agree_on_random_data(shape, rng):
    n_test, n_train, D = shape
    knn = KNearestNeighbor()
    knn.train(255 * rng.random((n_train, D)), rng.integers(0, 10, n_train))
    X = 255 * rng.random((n_test, D))
    two = knn.compute_distances_two_loops(X)
    assert two.shape == (n_test, n_train)
    np.testing.assert_allclose(knn.compute_distances_one_loop(X), two, rtol=1e-12)
    # The no-loop form subtracts large squared norms: agreement to ~1e-6 of the distance scale.
    np.testing.assert_allclose(knn.compute_distances_no_loops(X), two, rtol=1e-7, atol=1e-6)


def test_predict_labels_votes_and_breaks_ties_towards_the_smaller_label():
    knn = KNearestNeighbor()
    knn.train(np.zeros((5, 1)), np.array([4, 2, 2, 4, 7]))
    dists = np.array([[0.1, 0.2, 0.3, 0.4, 0.5],    # k=1: 4; k=3: {4, 2, 2} -> 2; k=4: 2-2 tie -> 2
                      [0.5, 0.4, 0.3, 0.2, 0.1]])   # k=1: 7; k=3: {7, 4, 2} tie -> 2
    np.testing.assert_array_equal(knn.predict_labels(dists, k=1), [4, 7])
    np.testing.assert_array_equal(knn.predict_labels(dists, k=3), [2, 2])
    np.testing.assert_array_equal(knn.predict_labels(dists, k=4), [2, 2])


@pytest.mark.parametrize("num_loops", [0, 1, 2])
def test_predict_finds_the_nearest_cluster(num_loops, rng):
    centers = np.array([[0.0, 0.0], [10.0, 10.0], [-10.0, 10.0]])
    y_train = np.repeat([0, 1, 2], 10)
    knn = KNearestNeighbor()
    knn.train(centers[y_train] + rng.standard_normal((30, 2)), y_train)
    X = centers + 0.5 * rng.standard_normal((3, 2))
    np.testing.assert_array_equal(knn.predict(X, k=5, num_loops=num_loops), [0, 1, 2])


def test_bad_arguments_are_refused_with_a_message(rng):
    knn = KNearestNeighbor()
    with pytest.raises(ValueError, match="call train"):
        knn.compute_distances_no_loops(np.zeros((2, 3)))
    knn.train(np.zeros((4, 3)), np.arange(4))
    with pytest.raises(ValueError, match="Invalid value 3 for num_loops"):
        knn.predict(np.zeros((2, 3)), num_loops=3)
    with pytest.raises(ValueError, match="2 values per row but the training data has 3"):
        knn.compute_distances_one_loop(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"k must be an int in 1..4"):
        knn.predict(np.zeros((2, 3)), k=5)
