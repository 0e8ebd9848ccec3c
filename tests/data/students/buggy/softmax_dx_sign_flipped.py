"""Softmax loss with one-hot labels whose dx has the wrong sign.

BUG: softmax_loss returns dx = (onehot - probs) / N instead of (probs - onehot) / N.
EXPECT: layer=softmax_loss diagnosis="sign"
"""
import numpy as np


def softmax_loss(x, y):
    N, C = x.shape
    onehot = np.eye(C)[y]
    z = x - x.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    loss = -(onehot * log_p).sum() / N
    dx = (onehot - np.exp(log_p)) / N
    return loss, dx
