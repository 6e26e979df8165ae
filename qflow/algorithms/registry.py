"""Algorithm registry: names, parameter schemas and the ``build`` factory."""
import copy

from .base import Algorithm
from .kmeans import KMeans, MiniBatchKMeans
from .mcmc import MCMC
from .spaces import SPACES
from .streaming import Streaming

_CLASSES = {cls.name: cls for cls in (KMeans, MiniBatchKMeans, MCMC, Streaming)}

#: per algorithm, {param: {"type", "default", "help"}} in Cluserve's camelCase
ALGORITHMS = {name: copy.deepcopy(cls.SCHEMA) for name, cls in _CLASSES.items()}


def build(name, params=None, seed=None):
    """A fresh algorithm ``name`` configured with ``params`` (defaults fill
    the gaps); ValueError names any bad or unknown parameter."""
    if name not in _CLASSES:
        raise ValueError(f"unknown algorithm {name!r}; accepted: {', '.join(sorted(_CLASSES))}")
    if params is not None and not isinstance(params, dict):
        raise ValueError(f"params must be a dict, got {type(params).__name__}")
    return _CLASSES[name](params, seed)


def from_state(state):
    """Resume an algorithm from ``Algorithm.state()``."""
    return Algorithm.from_state(state)


__all__ = ["ALGORITHMS", "SPACES", "Algorithm", "build", "from_state"]
