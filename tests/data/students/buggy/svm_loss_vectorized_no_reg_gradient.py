"""Assignment 1's vectorized SVM loss whose dW leaves out the regularization term.

BUG: svm_loss_vectorized adds reg * sum(W^2) to the loss but nothing to dW.
EXPECT: layer=svm_loss_vectorized
"""
import numpy as np


def svm_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    scores = X @ W
    correct = scores[np.arange(N), y][:, None]
    margins = np.maximum(0, scores - correct + 1)
    margins[np.arange(N), y] = 0
    loss = margins.sum() / N + reg * np.sum(W * W)
    coeff = (margins > 0).astype(float)
    coeff[np.arange(N), y] = -coeff.sum(axis=1)
    dW = X.T @ coeff / N
    return loss, dW
