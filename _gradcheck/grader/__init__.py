"""The grader: ``cnnkit-check`` / ``python -m gradient_check`` and everything around a student's module.

``specs`` (with ``specs_rnn``) declares every layer once; ``grid`` checks one layer on every layout
of its spec and turns the checks into report rows (``rows``); ``cli`` is the command line and
``check_module``; student code runs only in a disposable worker process (``worker``, started and
limited by ``isolate``, talking through ``wire``: JSON and raw arrays, never pickle); ``student``
knows the toolkit's own modules and what would shadow them; ``reports`` writes Gradescope's and
JUnit's formats, ``batch`` grades a folder of submissions into a gradebook, ``starter`` writes
files to fill in, and ``assignment`` grades the rest of an assignment (models, update rules, kNN,
stateful layers, captioning). Reads the core, the diagnoses and ``check_layer``.
"""
