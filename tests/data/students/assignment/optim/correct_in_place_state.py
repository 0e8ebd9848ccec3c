"""Update rules that keep their state arrays and update them in place (np.multiply(..., out=)), with
elementwise loops for Adam: the course's results written another way.

GRADE: exit=0 pass=sgd pass=sgd_momentum pass=rmsprop pass=adam
"""
import numpy as np


def sgd(w, dw, config=None):
    if config is None:
        config = {}
    lr = config.setdefault("learning_rate", 1e-2)
    next_w = w.copy()
    next_w -= lr * dw
    return next_w, config


def sgd_momentum(w, dw, config=None):
    if config is None:
        config = {}
    lr = config.setdefault("learning_rate", 1e-2)
    mu = config.setdefault("momentum", 0.9)
    if config.get("velocity") is None:
        config["velocity"] = np.zeros_like(w)
    v = config["velocity"]
    np.multiply(v, mu, out=v)
    v -= lr * dw
    return w + v, config


def rmsprop(w, dw, config=None):
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    cache = config.setdefault("cache", np.zeros_like(w))
    cache *= config["decay_rate"]
    cache += (1 - config["decay_rate"]) * dw * dw
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


def adam(w, dw, config=None):
    if config is None:
        config = {}
    for key, value in (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8), ("t", 0)):
        config.setdefault(key, value)
    m = config.setdefault("m", np.zeros_like(w))
    v = config.setdefault("v", np.zeros_like(w))
    config["t"] = t = config["t"] + 1
    b1, b2, eps, lr = config["beta1"], config["beta2"], config["epsilon"], config["learning_rate"]
    next_w = np.empty_like(w)
    for i in np.ndindex(w.shape):
        m[i] = b1 * m[i] + (1 - b1) * dw[i]
        v[i] = b2 * v[i] + (1 - b2) * dw[i] ** 2
        mh = m[i] / (1 - b1 ** t)
        vh = v[i] / (1 - b2 ** t)
        next_w[i] = w[i] - lr * mh / (np.sqrt(vh) + eps)
    return next_w, config
