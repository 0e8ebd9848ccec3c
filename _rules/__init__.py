"""Shared rules (level 0): geometry, input validation, cache unpacking and allocation budgets.

Every level of the toolkit imports these downward: the reference layers (``layers``), the fast
layers and the compiled kernels (``fast_layers``, ``im2col_cython``), the sandwiches and the
models. Keeping them in a package of their own, which imports nothing from the project, lets
``fast_layers`` and the kernels validate exactly as the references do without importing the
``layers`` package (before, importing ``layers._geometry`` from a kernel ran all of
``layers/__init__.py``).

Modules
-------
geometry     output sizes, normalized stride / pad / dilation, array and dtype checks
kernel_args  the argument checks of the compiled kernels and their numpy twins
cache        unpacking a cache tuple by name, with a clear error for a wrong cache
resources    refusing an allocation the machine cannot hold, before it is made
tolerances   the one tolerance table per dtype (fast vs reference, and the gradient checker's rule)
"""
