"""Naive, loop-based reference layers (level 1) with the CS231n names and calling conventions.

Every layer is a pair of pure functions, ``out, cache = <op>_forward(...)`` and
``grads = <op>_backward(dout, cache)``; nothing is mutated and nothing is kept between calls.
This package is the oracle the fast layers are tested against, so it imports nothing of the
toolkit but the shared rules in ``_rules``; each module holds the rule as the course writes
it, and the optimised twins live in ``fast_layers``. The sandwich layers live in ``layer_utils``
and the object-style layers in ``layer_modules``.
"""

from .conv import conv_backward_naive, conv_forward_naive
from .dense import affine_backward, affine_forward, relu_backward, relu_forward
from .dropout import dropout_backward, dropout_forward
from .losses import softmax_loss, svm_loss
from .norm import (
    batchnorm_forward,
    batchnorm_backward,
    batchnorm_backward_alt,
    layernorm_forward,
    layernorm_backward,
    spatial_batchnorm_forward,
    spatial_batchnorm_backward,
    spatial_groupnorm_forward,
    spatial_groupnorm_backward,
)
from .pool import (
    max_pool_forward_naive,
    max_pool_backward_naive,
    avg_pool_forward_naive,
    avg_pool_backward_naive,
)
from .rnn import (
    rnn_step_forward,
    rnn_step_backward,
    rnn_forward,
    rnn_backward,
    word_embedding_forward,
    word_embedding_backward,
    lstm_step_forward,
    lstm_step_backward,
    lstm_forward,
    lstm_backward,
    temporal_affine_forward,
    temporal_affine_backward,
    temporal_softmax_loss,
)

__all__ = [
    "conv_forward_naive",
    "conv_backward_naive",
    "affine_forward",
    "affine_backward",
    "relu_forward",
    "relu_backward",
    "softmax_loss",
    "svm_loss",
    "dropout_forward",
    "dropout_backward",
    "batchnorm_forward",
    "batchnorm_backward",
    "batchnorm_backward_alt",
    "layernorm_forward",
    "layernorm_backward",
    "spatial_batchnorm_forward",
    "spatial_batchnorm_backward",
    "spatial_groupnorm_forward",
    "spatial_groupnorm_backward",
    "max_pool_forward_naive",
    "max_pool_backward_naive",
    "avg_pool_forward_naive",
    "avg_pool_backward_naive",
    "rnn_step_forward",
    "rnn_step_backward",
    "rnn_forward",
    "rnn_backward",
    "word_embedding_forward",
    "word_embedding_backward",
    "lstm_step_forward",
    "lstm_step_backward",
    "lstm_forward",
    "lstm_backward",
    "temporal_affine_forward",
    "temporal_affine_backward",
    "temporal_softmax_loss",
]
