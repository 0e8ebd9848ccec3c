"""CS231n's ``rnn_layers`` module (assignment 3): the recurrent layers under the course's names.

``from rnn_layers import *`` gives what the course's ``cs231n/rnn_layers.py`` defines: the affine
layer, the numerically stable ``sigmoid``, the tanh RNN and LSTM (one step and whole sequences),
the word embedding and the temporal affine and softmax layers. These are the readable references
of ``layers/rnn.py`` (the oracle the checker compares a student's functions with); the fast twins,
which ``classifiers.rnn.CaptioningRNN`` uses, are in ``fast_layers/rnn.py`` under ``*_fast`` names.

Level 3 (compositions), beside ``layer_utils``: it only gathers references under the course's
module name.
"""

from __future__ import annotations

from layers import (
    affine_backward,
    affine_forward,
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
    word_embedding_backward,
    word_embedding_forward,
)
from layers.rnn import sigmoid

__all__ = [
    "affine_forward",
    "affine_backward",
    "rnn_step_forward",
    "rnn_step_backward",
    "rnn_forward",
    "rnn_backward",
    "word_embedding_forward",
    "word_embedding_backward",
    "sigmoid",
    "lstm_step_forward",
    "lstm_step_backward",
    "lstm_forward",
    "lstm_backward",
    "temporal_affine_forward",
    "temporal_affine_backward",
    "temporal_softmax_loss",
]
