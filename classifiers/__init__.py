"""Classification models built from the toolkit's pure layer functions.

Each model keeps its learnable arrays in ``model.params`` (a dict of ndarrays) and exposes
``model.loss(X, y=None)``: class scores without labels, ``(loss, grads)`` with them. That is
all :class:`solver.Solver` needs.
"""

from .cnn import ThreeLayerConvNet
from .fc_net import FullyConnectedNet

__all__ = ["FullyConnectedNet", "ThreeLayerConvNet"]
