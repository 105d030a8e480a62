"""Analysis of trained models: held-out metrics (projections, P̂(Z) and gap maps come with the explorer)."""

from latentlab.analysis.metrics import held_out_metrics

__all__ = ["held_out_metrics"]
