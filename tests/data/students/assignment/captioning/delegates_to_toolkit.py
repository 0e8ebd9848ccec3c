"""A CaptioningRNN that builds the toolkit's model inside and hands every call to it.

BUG: the model is the toolkit's, wrapped: nothing of it is the student's.
"""
import classifiers.rnn as _ref


class CaptioningRNN(object):
    def __init__(self, word_to_idx, **kwargs):
        self._inner = _ref.CaptioningRNN(word_to_idx, **kwargs)
        self.params = self._inner.params

    def loss(self, features, captions):
        self._inner.params = self.params
        return self._inner.loss(features, captions)

    def sample(self, features, max_length=30):
        self._inner.params = self.params
        return self._inner.sample(features, max_length)
