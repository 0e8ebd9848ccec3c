"""Softmax loss whose dx subtracts 1 at the label columns of every row.

BUG: softmax_loss writes dx[:, y] -= 1 instead of dx[np.arange(N), y] -= 1: each row gets -1 at
every label that occurs in the batch. Right only for N = 1.
EXPECT: layer=softmax_loss diagnosis="N ?= ?1|one sample|single sample|first sample|per-sample"
"""
import numpy as np


def softmax_loss(x, y):
    N = x.shape[0]
    scores = x - np.max(x, axis=1, keepdims=True)
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[range(N), y]))
    dx = probs.copy()
    dx[:, y] -= 1
    dx /= N
    return loss, dx
