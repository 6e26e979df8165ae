"""Clustering algorithms of the platform (k-means, MCMC, streaming), their
metric spaces and the optimal-transport assembly of successive results."""
from .assembly import Assembly
from .base import Algorithm
from .control import CONTROL, split
from .registry import ALGORITHMS, SPACES, build, from_state

__all__ = ["ALGORITHMS", "CONTROL", "SPACES", "Algorithm", "Assembly", "build", "from_state", "split"]
