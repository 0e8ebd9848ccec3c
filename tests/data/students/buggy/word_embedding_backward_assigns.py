"""A word embedding whose backward assigns instead of accumulating.

BUG: word_embedding_backward writes dW[x] = dout: a word that occurs several times in the batch
keeps the gradient of one occurrence instead of the sum (np.add.at(dW, x, dout)).
EXPECT: layer=word_embedding_backward diagnosis="np.add.at"
"""
import numpy as np


def word_embedding_forward(x, W):
    out = W[x, :]
    return out, (x, W.shape)


def word_embedding_backward(dout, cache):
    x, shape = cache
    dW = np.zeros(shape, dtype=dout.dtype)
    dW[x] = dout
    return dW
