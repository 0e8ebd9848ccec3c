"""A linear classifier whose train loop computes the loss but never updates W.

BUG: the SGD step is missing.
GRADE: exit=1 fail="LinearSVM:train step" diagnosis="leaves W unchanged" pass=svm_loss_vectorized
"""
import numpy as np


def svm_loss_vectorized(W, X, y, reg):
    n = X.shape[0]
    scores = X @ W
    margins = np.maximum(0, scores - scores[np.arange(n), y][:, None] + 1)
    margins[np.arange(n), y] = 0
    loss = margins.sum() / n + reg * np.sum(W * W)
    mask = (margins > 0).astype(float)
    mask[np.arange(n), y] = -mask.sum(axis=1)
    return loss, X.T @ mask / n + 2 * reg * W


def softmax_loss_vectorized(W, X, y, reg):
    n = X.shape[0]
    s = X @ W
    s -= s.max(axis=1, keepdims=True)
    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(n), y]).mean() + reg * np.sum(W * W)
    p[np.arange(n), y] -= 1
    return loss, X.T @ p / n + 2 * reg * W


class LinearClassifier(object):
    def __init__(self):
        self.W = None

    def train(self, X, y, learning_rate=1e-3, reg=1e-5, num_iters=100, batch_size=200, verbose=False):
        num_train, dim = X.shape
        num_classes = np.max(y) + 1
        if self.W is None:
            self.W = 0.001 * np.random.randn(dim, num_classes)
        loss_history = []
        for it in range(num_iters):
            idx = np.random.choice(num_train, batch_size, replace=True)
            loss, grad = self.loss(X[idx], y[idx], reg)
            loss_history.append(loss)
        return loss_history

    def predict(self, X):
        return np.argmax(X.dot(self.W), axis=1)

    def loss(self, X_batch, y_batch, reg):
        pass


class LinearSVM(LinearClassifier):
    def loss(self, X_batch, y_batch, reg):
        return svm_loss_vectorized(self.W, X_batch, y_batch, reg)


class Softmax(LinearClassifier):
    def loss(self, X_batch, y_batch, reg):
        return softmax_loss_vectorized(self.W, X_batch, y_batch, reg)
