"""A temporal softmax that counts the padding steps.

BUG: temporal_softmax_loss never reads mask: the loss and dx include the <NULL> padding steps
(loss and gradient agree with each other, so only the comparison with the reference shows it).
EXPECT: layer=temporal_softmax_loss diagnosis="ignores the mask"
"""
import numpy as np


def temporal_softmax_loss(x, y, mask, verbose=False):
    N, T, V = x.shape
    x_flat = x.reshape(N * T, V)
    y_flat = y.reshape(N * T)
    probs = np.exp(x_flat - np.max(x_flat, axis=1, keepdims=True))
    probs /= np.sum(probs, axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(N * T), y_flat])) / N
    dx_flat = probs.copy()
    dx_flat[np.arange(N * T), y_flat] -= 1
    dx_flat /= N
    return loss, dx_flat.reshape(N, T, V)
