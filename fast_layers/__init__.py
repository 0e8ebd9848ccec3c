"""Fast layers: the optimised twins of the ``layers`` references, which they agree with.

``HAVE_CYTHON`` tells whether the compiled ``im2col_cython`` kernels are in use (otherwise the
numpy twins in ``fast_layers._kernels_numpy`` are, after one warning at import).
``fast_layers.tuning`` holds the machine-tuning knobs (block budgets, thread thresholds).
"""

from . import tuning
from ._kernels import FALLBACK_REASON, HAVE_CYTHON
from .conv import (
    conv_backward_fast,
    conv_backward_im2col,
    conv_backward_strides,
    conv_forward_fast,
    conv_forward_im2col,
    conv_forward_strides,
)
from .dense import relu_backward_fast, relu_forward_fast
from .norm import (
    batchnorm_backward_fast,
    batchnorm_forward_fast,
    spatial_batchnorm_backward_fast,
    spatial_batchnorm_forward_fast,
)
from .pool_variants import (
    max_pool_forward_reshape,
    max_pool_backward_reshape,
    max_pool_forward_im2col,
    max_pool_backward_im2col,
)
from .pool import (
    max_pool_forward_fast,
    max_pool_backward_fast,
    avg_pool_forward_fast,
    avg_pool_backward_fast,
)
from .rnn import (
    rnn_forward_fast,
    rnn_backward_fast,
    lstm_forward_fast,
    lstm_backward_fast,
    word_embedding_forward_fast,
    word_embedding_backward_fast,
    temporal_affine_forward_fast,
    temporal_affine_backward_fast,
    temporal_softmax_loss_fast,
)

__all__ = [
    "HAVE_CYTHON",
    "FALLBACK_REASON",
    "tuning",
    "conv_forward_im2col",
    "conv_backward_im2col",
    "conv_forward_strides",
    "conv_backward_strides",
    "conv_forward_fast",
    "conv_backward_fast",
    "relu_forward_fast",
    "relu_backward_fast",
    "batchnorm_forward_fast",
    "batchnorm_backward_fast",
    "spatial_batchnorm_forward_fast",
    "spatial_batchnorm_backward_fast",
    "max_pool_forward_fast",
    "max_pool_backward_fast",
    "avg_pool_forward_fast",
    "avg_pool_backward_fast",
    "max_pool_forward_reshape",
    "max_pool_backward_reshape",
    "max_pool_forward_im2col",
    "max_pool_backward_im2col",
    "rnn_forward_fast",
    "rnn_backward_fast",
    "lstm_forward_fast",
    "lstm_backward_fast",
    "word_embedding_forward_fast",
    "word_embedding_backward_fast",
    "temporal_affine_forward_fast",
    "temporal_affine_backward_fast",
    "temporal_softmax_loss_fast",
]
