"""Assignment 1's vectorized softmax loss whose dW is summed over the batch, not averaged.

BUG: softmax_loss_vectorized divides the loss by N but not the data term of dW.
GRADE: exit=1 fail=softmax_loss_vectorized:W diagnosis="summed over the N = 5 examples"
"""
import numpy as np


def softmax_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    scores -= scores.max(axis=1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(axis=1, keepdims=True)
    loss = -np.log(probs[np.arange(num_train), y]).sum() / num_train + reg * np.sum(W * W)
    dscores = probs
    dscores[np.arange(num_train), y] -= 1
    dW = X.T.dot(dscores) + 2 * reg * W
    return loss, dW
