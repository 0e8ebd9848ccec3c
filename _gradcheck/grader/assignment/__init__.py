"""Grading the rest of an assignment: models, update rules, kNN, linear classifiers, stateful layers, captioning.

Each grader is an ``AssignmentJob`` (``common``) whose ``run`` calls the student's code through the
worker (``remote`` builds a student's object there) and returns report rows; ``grade`` lists the jobs
a module calls for and runs them.
"""
