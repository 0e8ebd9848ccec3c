"""CS231n's image captioning model: ``CaptioningRNN`` (assignment 3), with a tanh RNN or an LSTM.

Architecture (training)::

    features (N, D) --affine--> h0 (N, H)
    captions_in (N, T) --word embedding--> (N, T, W) --RNN/LSTM from h0--> (N, T, H)
        --temporal affine--> scores (N, T, V) --temporal softmax vs captions_out, <NULL> masked--> loss

``captions_in`` is every word but the last and ``captions_out`` every word but the first: at step t
the network reads word t and is scored on predicting word t + 1. The layers are the fast twins of
``fast_layers/rnn.py`` (they agree with the references of ``layers/rnn.py``, and the checker's tests
say so). Initial weights are drawn from numpy's global generator (``np.random.randn``), in the
course's order, so ``np.random.seed(k)`` before building a model reproduces it.

As in the course, ``from classifiers.rnn import *`` also gives the recurrent layers (the names of
``rnn_layers``).

Notation
--------
N : batch size (captions, one per image)
D : image feature dimension (``input_dim``)
W : word vector dimension (``wordvec_dim``)
H : hidden state dimension (``hidden_dim``)
V : vocabulary size (``len(word_to_idx)``)
T : caption length as the network sees it (the captions array has T + 1 columns)
"""

from __future__ import annotations

import numpy as np

from _rules.geometry import check_index_range
from fast_layers import (
    lstm_backward_fast,
    lstm_forward_fast,
    rnn_backward_fast,
    rnn_forward_fast,
    temporal_affine_backward_fast,
    temporal_affine_forward_fast,
    temporal_softmax_loss_fast,
    word_embedding_backward_fast,
    word_embedding_forward_fast,
)
from layers import affine_backward, affine_forward, lstm_step_forward, rnn_step_forward
from rnn_layers import *  # noqa: F401,F403  (the course's module re-exports its layers)
from rnn_layers import __all__ as _RNN_LAYERS

from ._common import ParamsFile, check_dtype, check_positive_int

__all__ = ["CaptioningRNN", *_RNN_LAYERS]

_CELLS = {"rnn": (1, rnn_forward_fast, rnn_backward_fast), "lstm": (4, lstm_forward_fast, lstm_backward_fast)}


class CaptioningRNN(ParamsFile):
    """Caption images from their feature vectors with a recurrent network (no regularization).

    Parameters
    ----------
    word_to_idx : dict of str to int
        The vocabulary of V = ``len(word_to_idx)`` words, each mapped to an index (captions hold
        indices in [0, V)). Must contain ``'<NULL>'`` (the padding word); ``'<START>'`` is needed
        by :meth:`sample`, ``'<END>'`` is optional.
    input_dim : int
        D, the dimension of an image feature vector.
    wordvec_dim : int
        W, the dimension of a word vector.
    hidden_dim : int
        H, the dimension of the hidden state.
    cell_type : {'rnn', 'lstm'}
    dtype : np.float32 or np.float64
        dtype of the parameters and of the computation (float64 for gradient checks).

    Attributes
    ----------
    params : dict of ndarray
        ``W_embed`` (V, W), ``W_proj`` (D, H), ``b_proj`` (H,), ``Wx`` (W, G), ``Wh`` (H, G),
        ``b`` (G,), ``W_vocab`` (H, V), ``b_vocab`` (V,), with G = H for 'rnn' and 4H for 'lstm'.
    word_to_idx, idx_to_word : dict
    """

    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128, cell_type="rnn",
                 dtype=np.float32):
        if cell_type not in _CELLS:
            raise ValueError(f'Invalid cell_type "{cell_type}": expected "rnn" or "lstm"')
        _check_vocabulary(word_to_idx)
        self.cell_type = cell_type
        self.dtype = check_dtype(dtype)
        self.word_to_idx = word_to_idx
        self.idx_to_word = {i: w for w, i in word_to_idx.items()}
        self._null = word_to_idx["<NULL>"]
        self._start = word_to_idx.get("<START>", None)
        self._end = word_to_idx.get("<END>", None)
        D = check_positive_int(input_dim, "input_dim")
        W = check_positive_int(wordvec_dim, "wordvec_dim")
        H = check_positive_int(hidden_dim, "hidden_dim")
        V, G = len(word_to_idx), _CELLS[cell_type][0] * H
        # Drawn in the course's order, so np.random.seed(k) gives the course's initial weights.
        self.params = {
            "W_embed": np.random.randn(V, W) / 100,
            "W_proj": np.random.randn(D, H) / np.sqrt(D),
            "b_proj": np.zeros(H),
            "Wx": np.random.randn(W, G) / np.sqrt(W),
            "Wh": np.random.randn(H, G) / np.sqrt(H),
            "b": np.zeros(G),
            "W_vocab": np.random.randn(H, V) / np.sqrt(H),
            "b_vocab": np.zeros(V),
        }
        self.params = {k: v.astype(self.dtype) for k, v in self.params.items()}

    # --- training ------------------------------------------------------------------------------

    def loss(self, features, captions):
        """Loss and gradients of the network on a batch of (image features, caption) pairs.

        Parameters
        ----------
        features : ndarray, shape (N, D)
        captions : ndarray of int, shape (N, T + 1)
            Word indices in [0, V), starting with ``<START>`` and padded with ``<NULL>``.

        Returns
        -------
        loss : float
            The temporal softmax loss: summed over the non-<NULL> target words, averaged over N.
        grads : dict of ndarray
            The gradient of ``loss`` for every entry of ``params``, same keys, shapes and dtype.
        """
        features = self._features(features)
        captions = self._captions(captions)
        p = self.params
        captions_in, captions_out = captions[:, :-1], captions[:, 1:]
        mask = captions_out != self._null
        cell_forward, cell_backward = _CELLS[self.cell_type][1:]

        h0, proj_cache = affine_forward(features, p["W_proj"], p["b_proj"])
        words, embed_cache = word_embedding_forward_fast(captions_in, p["W_embed"])
        h, cell_cache = cell_forward(words, h0, p["Wx"], p["Wh"], p["b"])
        scores, vocab_cache = temporal_affine_forward_fast(h, p["W_vocab"], p["b_vocab"])
        loss, dscores = temporal_softmax_loss_fast(scores, captions_out, mask)

        grads = {}
        dh, grads["W_vocab"], grads["b_vocab"] = temporal_affine_backward_fast(dscores, vocab_cache)
        dwords, dh0, grads["Wx"], grads["Wh"], grads["b"] = cell_backward(dh, cell_cache)
        grads["W_embed"] = word_embedding_backward_fast(dwords, embed_cache)
        _, grads["W_proj"], grads["b_proj"] = affine_backward(dh0, proj_cache, input_grad=False)
        return float(loss), grads

    # --- test time -----------------------------------------------------------------------------

    def sample(self, features, max_length=30):
        """Caption images greedily: feed back the highest-scoring word at every step.

        The first input word is ``<START>``; the LSTM starts from a zero cell state. Generation
        does not stop at ``<END>`` (the course's convention): ``coco_utils.decode_captions``
        cuts each caption there.

        Parameters
        ----------
        features : ndarray, shape (N, D)
        max_length : int
            Number of words to generate.

        Returns
        -------
        captions : ndarray of int32, shape (N, max_length)
            The generated words, the first generated word first (not ``<START>``).
        """
        features = self._features(features)
        max_length = check_positive_int(max_length, "max_length")
        if self._start is None:
            raise ValueError("sample needs a '<START>' word in word_to_idx to begin every caption")
        p = self.params
        N, H = features.shape[0], p["Wh"].shape[0]
        captions = np.full((N, max_length), self._null, dtype=np.int32)
        h, _ = affine_forward(features, p["W_proj"], p["b_proj"])
        c = np.zeros_like(h)
        word = np.full(N, self._start)
        for t in range(max_length):
            x = p["W_embed"][word]
            if self.cell_type == "rnn":
                h, _ = rnn_step_forward(x, h, p["Wx"], p["Wh"], p["b"])
            else:
                h, c, _ = lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])
            word = np.argmax(h @ p["W_vocab"] + p["b_vocab"], axis=1)
            captions[:, t] = word
        return captions

    # --- argument checks ----------------------------------------------------------------------

    def _features(self, features):
        D = self.params["W_proj"].shape[0]
        if not isinstance(features, np.ndarray) or features.dtype.kind not in "biuf":
            raise TypeError(f"features must be a real numeric ndarray of shape (N, {D}), got "
                            f"{getattr(features, 'dtype', type(features).__name__)}")
        if features.ndim != 2 or features.shape[1] != D or features.shape[0] < 1:
            raise ValueError(f"features must have shape (N, input_dim) = (N, {D}) with N >= 1, got shape "
                             f"{features.shape}")
        return features.astype(self.dtype, copy=False)

    def _captions(self, captions):
        V = len(self.word_to_idx)
        if not isinstance(captions, np.ndarray) or captions.dtype.kind not in "iu":
            raise TypeError(f"captions must be an integer ndarray of word indices, shape (N, T + 1), got "
                            f"{getattr(captions, 'dtype', type(captions).__name__)}")
        if captions.ndim != 2 or captions.shape[1] < 2:
            raise ValueError(f"captions must have shape (N, T + 1) with T >= 1 (an input word and a word to "
                             f"predict), got shape {captions.shape}")
        check_index_range(captions, V, "captions", "word indices", "V")
        return captions


def _check_vocabulary(word_to_idx):
    # The course's own checks use {'<NULL>': 0, 'cat': 2, 'dog': 3}: V = 3 words whose indices need
    # not be 0 .. V-1, so only the padding word and integer indices are required here.
    if not isinstance(word_to_idx, dict) or not word_to_idx:
        raise TypeError(f"word_to_idx must be a non-empty dict mapping words to indices, got "
                        f"{type(word_to_idx).__name__}")
    if "<NULL>" not in word_to_idx:
        raise ValueError("word_to_idx must contain '<NULL>', the padding word the loss ignores")
    bad = [w for w, i in word_to_idx.items() if not isinstance(i, (int, np.integer)) or isinstance(i, bool) or i < 0]
    if bad:
        raise ValueError(f"word_to_idx must map words to indices >= 0; {bad[0]!r} maps to {word_to_idx[bad[0]]!r}")
