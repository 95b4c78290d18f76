"""Evaluation of G and E: the paper's Table 1 / Table 2 metrics (see eval.metrics)."""
