"""cnnkit's tests: tests/<package>/ checks <package>/, tests at the top check top-level modules and the cross-package matrices."""
