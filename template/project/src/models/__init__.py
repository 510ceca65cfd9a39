"""Models: the estimator, its metrics and how it is saved."""
