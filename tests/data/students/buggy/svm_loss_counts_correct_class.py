"""Multiclass SVM loss that forgets to exclude the correct class from the margins.

BUG: svm_loss sums max(0, s_j - s_y + 1) over every class including j = y, so every sample adds
1 to the loss; the gradient happens to stay right (the +1 and the extra count cancel), so only the
loss value shows it.
EXPECT: layer=svm_loss
"""
import numpy as np


def svm_loss(x, y):
    N = x.shape[0]
    margins = np.maximum(0, x - x[np.arange(N), y].reshape(-1, 1) + 1)
    loss = np.sum(margins) / N
    binary = (margins > 0).astype(float)
    binary[np.arange(N), y] -= binary.sum(axis=1)
    dx = binary / N
    return loss, dx
