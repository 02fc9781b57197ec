"""Scale and speed runs; each prints its figures beside a baseline measured in the same run."""
