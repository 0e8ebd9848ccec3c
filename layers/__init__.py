"""Naive, loop-based reference layers with the CS231n names and calling conventions.

Every layer is a pair of pure functions, ``out, cache = <op>_forward(...)`` and
``grads = <op>_backward(dout, cache)``; nothing is mutated and nothing is kept between calls.
"""

from .conv import conv_backward_naive, conv_forward_naive

__all__ = [
    "conv_forward_naive",
    "conv_backward_naive",
]
