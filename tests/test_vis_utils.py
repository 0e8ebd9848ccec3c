"""vis_utils.visualize_grid on hand-built images."""

from __future__ import annotations

import numpy as np
import pytest

from vis_utils import visualize_grid


def test_visualize_grid_places_and_rescales_each_image():
    # Three 2x2 one-channel images on a 2x2 grid (ceil(sqrt(3)) = 2) with 1 pixel of padding.
    xs = np.array([[[0.0, 1.0], [2.0, 3.0]],
                   [[5.0, 5.0], [5.0, 9.0]],
                   [[7.0, 7.0], [7.0, 7.0]]])[..., None]
    grid = visualize_grid(xs, ubound=3.0, padding=1)
    assert grid.shape == (5, 5, 1)
    expected = np.zeros((5, 5))
    expected[0:2, 0:2] = [[0.0, 1.0], [2.0, 3.0]]      # min 0, max 3: unchanged at ubound 3
    expected[0:2, 3:5] = [[0.0, 0.0], [0.0, 3.0]]      # 5 -> 0, 9 -> 3
    # The constant image (bottom left) has no contrast and stays 0, as does the empty cell.
    np.testing.assert_allclose(grid[..., 0], expected)


def test_visualize_grid_keeps_colour_channels_and_zero_padding():
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((4, 3, 3, 3))
    grid = visualize_grid(xs, ubound=255.0, padding=0)
    assert grid.shape == (6, 6, 3)
    assert grid.min() == 0.0 and grid.max() == 255.0
    block = grid[3:6, 0:3]
    np.testing.assert_allclose(block, 255.0 * (xs[2] - xs[2].min()) / np.ptp(xs[2]))


@pytest.mark.parametrize("bad, err", [(np.zeros((2, 3, 3)), ValueError), ([[1.0]], TypeError)])
def test_visualize_grid_rejects_non_4d_input(bad, err):
    with pytest.raises(err):
        visualize_grid(bad)


def test_vis_grid_layout_and_joint_rescaling():
    from vis_utils import vis_grid

    Xs = np.arange(1.0, 4.0).reshape(3, 1, 1, 1) * np.ones((3, 2, 1, 1))  # three 2x1 images of 1, 2, 3
    G = vis_grid(Xs)
    # A = 2: cells of (2+1) x (1+1); the gaps and the empty fourth cell hold the minimum (1 -> 0).
    assert G.shape == (6, 4, 1)
    want = np.zeros((6, 4))
    want[0:2, 0], want[0:2, 2], want[3:5, 0] = 0.0, 0.5, 1.0
    np.testing.assert_allclose(G[:, :, 0], want)


def test_vis_nn_rows_of_images_with_gaps_of_one():
    from vis_utils import vis_nn

    img = [[np.full((1, 2, 1), v) for v in row] for row in ((0.0, 2.0), (3.0, 1.0))]
    G = vis_nn(img)
    assert G.shape == (4, 6, 1)
    raw = np.ones((4, 6))
    raw[0, 0:2], raw[0, 3:5], raw[2, 0:2], raw[2, 3:5] = 0.0, 2.0, 3.0, 1.0
    np.testing.assert_allclose(G[:, :, 0], raw / 3.0)
    with pytest.raises(ValueError, match="every row must hold 2 images"):
        vis_nn([[img[0][0], img[0][1]], [img[1][0]]])
