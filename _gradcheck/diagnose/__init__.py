"""Why a gradient is wrong, in one line a student can act on.

``patterns`` reads the analytic/numeric pair of any layer (a factor, a sign, the batch size, the
border, overwritten or misrouted elements); ``known_bugs`` and ``known_bugs_rnn`` reproduce each
layer family's classic mistakes on the same inputs and name the one the student's array equals;
``assignment1`` covers structures the general patterns miss (a linear classifier's regularization
convention, group norm's channel grouping, a norm's dx term by term); ``phase`` is the diagnose step of
``check_layer``. A diagnosis carries its kind as a :class:`~_gradcheck.core.findings.Finding` where code
acts on it (the patterns' factor, sign, batch-size and border phrases; a known mistake right for N = 1
only); the others are plain sentences. Reads the core, never the grader.
"""
