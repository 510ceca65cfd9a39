"""Pipeline steps after training: evaluation on held-out data and the quality gate."""
