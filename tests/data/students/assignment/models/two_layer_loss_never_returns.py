"""A TwoLayerNet whose loss never returns (an endless loop): the item's time limit ends it, the report
says so, and the update rule next to it is still graded in a fresh worker.

BUG: loss() loops forever.
GRADE: exit=1 error=TwoLayerNet pass=sgd message="time limit"
ARGS: --time-limit 5
"""
import numpy as np


class TwoLayerNet:
    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0):
        self.params = {"W1": weight_scale * np.random.randn(input_dim, hidden_dim), "b1": np.zeros(hidden_dim),
                       "W2": weight_scale * np.random.randn(hidden_dim, num_classes), "b2": np.zeros(num_classes)}

    def loss(self, X, y=None):
        while True:
            pass


def sgd(w, dw, config=None):
    config = config if config is not None else {}
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw, config
