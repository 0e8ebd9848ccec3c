"""A FullyConnectedNet that builds the toolkit's model inside and hands every call to it.

BUG: the model is the toolkit's, wrapped: nothing of it is the student's.
GRADE: exit=1 error=FullyConnectedNet pass=TwoLayerNet message="toolkit's own implementation"
"""
import numpy as np

import classifiers.fc_net as _ref


class FullyConnectedNet(object):
    def __init__(self, hidden_dims, **kwargs):
        self._inner = _ref.FullyConnectedNet(hidden_dims, **kwargs)
        self.params = self._inner.params

    def loss(self, X, y=None):
        self._inner.params = self.params
        return self._inner.loss(X, y)


class TwoLayerNet(object):
    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0):
        self.reg = reg
        self.params = {"W1": weight_scale * np.random.randn(input_dim, hidden_dim), "b1": np.zeros(hidden_dim),
                       "W2": weight_scale * np.random.randn(hidden_dim, num_classes), "b2": np.zeros(num_classes)}

    def loss(self, X, y=None):
        p = self.params
        x = X.reshape(len(X), -1)
        h = np.maximum(x @ p["W1"] + p["b1"], 0)
        s = h @ p["W2"] + p["b2"]
        if y is None:
            return s
        n = len(x)
        e = np.exp(s - s.max(1, keepdims=True))
        pr = e / e.sum(1, keepdims=True)
        loss = -np.log(pr[np.arange(n), y]).mean() + 0.5 * self.reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        ds = pr.copy()
        ds[np.arange(n), y] -= 1
        ds /= n
        dh = ds @ p["W2"].T * (h > 0)
        return loss, {"W1": x.T @ dh + self.reg * p["W1"], "b1": dh.sum(0),
                      "W2": h.T @ ds + self.reg * p["W2"], "b2": ds.sum(0)}
