"""Multiclass SVM loss whose dx forgets the correct class's term.

BUG: svm_loss sets dx = (margins > 0) / N but never subtracts, at the correct class, the number
of classes with a positive margin.
EXPECT: layer=svm_loss diagnosis="count|correct class"
"""
import numpy as np


def svm_loss(x, y):
    N = x.shape[0]
    correct = x[np.arange(N), y][:, None]
    margins = np.maximum(0, x - correct + 1.0)
    margins[np.arange(N), y] = 0
    loss = margins.sum() / N
    dx = (margins > 0).astype(x.dtype)
    dx /= N
    return loss, dx
