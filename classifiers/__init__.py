"""Classification models built from the toolkit's pure layer functions.

Each model keeps its learnable arrays in ``model.params`` (a dict of ndarrays) and exposes
``model.loss(X, y=None)``: class scores without labels, ``(loss, grads)`` with them. That is
all :class:`solver.Solver` needs. Assignment 1's linear classifiers (``LinearSVM``, ``Softmax``,
trained by their own ``train``), their losses and ``KNearestNeighbor`` live here too, and
assignment 3's ``CaptioningRNN``, whose ``loss(features, captions)`` is what
:class:`captioning_solver.CaptioningSolver` needs.
"""

from .cnn import ThreeLayerConvNet
from .fc_net import FullyConnectedNet, TwoLayerNet
from .k_nearest_neighbor import KNearestNeighbor
from .linear_classifier import LinearClassifier, LinearSVM, Softmax
from .linear_svm import svm_loss_naive, svm_loss_vectorized
from .rnn import CaptioningRNN
from .softmax import softmax_loss_naive, softmax_loss_vectorized

__all__ = ["CaptioningRNN", "FullyConnectedNet", "ThreeLayerConvNet", "TwoLayerNet", "KNearestNeighbor", "LinearClassifier",
           "LinearSVM", "Softmax", "svm_loss_naive", "svm_loss_vectorized", "softmax_loss_naive",
           "softmax_loss_vectorized"]
