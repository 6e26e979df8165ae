"""Common machinery of the clustering algorithms: parameter schemas,
validation, seeding and JSON-able snapshots.

An algorithm is driven from outside one iteration at a time (the task may
pause, push data or reconfigure between two calls), so every piece of state
needed to continue lives on the instance and can be dumped by ``state()``.
"""
import logging
import os

import numpy as np

from .spaces import SPACES, make_space

log = logging.getLogger(__name__)

_TYPES = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
    "array": (list, tuple, np.ndarray),
}

# Parameters shared by every algorithm: the metric space and the threading.
SPACE_PARAMS = {
    "space": {"type": "str", "default": "euclid",
              "help": "distance space: " + " | ".join(sorted(SPACES))},
    "window": {"type": "int", "default": None,
               "help": "dtw only: Sakoe-Chiba band half-width (none = unconstrained)"},
    "innerSpace": {"type": "str", "default": "euclid",
                   "help": "dtw only: distance between two points of a series (euclid | cosinus)"},
    "numCPU": {"type": "int", "default": 0,
               "help": "threads for the assignment step (0 = all cores)"},
    "parallel": {"type": "bool", "default": True,
                 "help": "split the assignment step over numCPU threads"},
}

# Cluserve spells a few names differently across versions.
ALIASES = {"kInit": "initK"}


def _check_type(name, value, spec):
    kind = spec["type"]
    if value is None:
        if spec["default"] is None:
            return None
        raise ValueError(f"parameter {name!r} must be a {kind}, got None")
    if kind in ("int", "float") and isinstance(value, bool):
        raise ValueError(f"parameter {name!r} must be a {kind}, got a bool")
    if kind == "int" and isinstance(value, float) and value.is_integer():
        value = int(value)
    if kind == "int" and isinstance(value, np.integer):
        value = int(value)
    if kind == "float" and isinstance(value, (np.floating, np.integer)):
        value = float(value)
    if not isinstance(value, _TYPES[kind]):
        raise ValueError(f"parameter {name!r} must be a {kind}, got {type(value).__name__} {value!r}")
    if kind == "float":
        value = float(value)
        if not np.isfinite(value):
            raise ValueError(f"parameter {name!r} must be finite, got {value!r}")
    if kind == "array":
        try:
            value = np.asarray(value, dtype=float).tolist()
        except (TypeError, ValueError):
            raise ValueError(f"parameter {name!r} must be a numeric array") from None
    return value


def validate(algo_name, schema, params, base=None):
    """Return the effective parameters: ``base`` (or the defaults) updated
    with ``params``; unknown names and wrong types raise ValueError."""
    params = dict(params or {})
    for alias, target in ALIASES.items():
        if alias in params and target in schema:
            params.setdefault(target, params.pop(alias))
    unknown = sorted(set(params) - set(schema))
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for algorithm {algo_name!r}; "
            f"accepted: {', '.join(sorted(schema))}")
    out = dict(base) if base is not None else {k: s["default"] for k, s in schema.items()}
    for name, value in params.items():
        out[name] = _check_type(name, value, schema[name])
    if out.get("space") not in SPACES:
        raise ValueError(f"parameter 'space' must be one of {sorted(SPACES)}, got {out.get('space')!r}")
    if out.get("innerSpace") not in ("euclid", "cosinus"):
        raise ValueError(f"parameter 'innerSpace' must be euclid or cosinus, got {out.get('innerSpace')!r}")
    if out.get("window") is not None and out["window"] < 0:
        raise ValueError(f"parameter 'window' must be >= 0, got {out['window']}")
    if out.get("numCPU", 0) < 0:
        raise ValueError(f"parameter 'numCPU' must be >= 0, got {out['numCPU']}")
    return out


def positive(params, *names, strict=True):
    for name in names:
        value = params[name]
        if value is None:
            continue
        if value < 0 or (strict and value == 0):
            bound = "> 0" if strict else ">= 0"
            raise ValueError(f"parameter {name!r} must be {bound}, got {value}")


class Algorithm:
    """Base class; subclasses define ``name``, ``SCHEMA``, ``_check``,
    ``_iterate`` and the extra state they need in ``_extra_state``."""

    name = "base"
    SCHEMA = {}
    _registry = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        Algorithm._registry.setdefault(cls.name, cls)

    def __init__(self, params=None, seed=None):
        self.params = self._check(validate(self.name, self.SCHEMA, params))
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.centers = np.empty((0, 0))
        self.counts = np.zeros(0, dtype=np.int64)
        self.figures = {"iterations": 0, "loss": None}
        self.converged = False
        self._pending = None
        self._apply_params()

    # -- parameters -------------------------------------------------------
    def _check(self, params):
        return params

    def _apply_params(self):
        p = self.params
        self.space = make_space(p["space"], window=p.get("window"), inner=p.get("innerSpace", "euclid"))
        ncpu = p.get("numCPU") or os.cpu_count() or 1
        self.n_threads = int(ncpu) if p.get("parallel", True) else 1

    def reconfigure(self, params):
        # validated now so that the caller gets the error, applied later so
        # that an iteration never sees half of a configuration
        self._pending = self._check(validate(self.name, self.SCHEMA, params, base=self.params))

    def _take_pending(self):
        if self._pending is not None:
            log.debug("%s: applying new parameters", self.name)
            self.params, self._pending = self._pending, None
            self._apply_params()
            self.converged = False
            return True
        return False

    # -- iteration --------------------------------------------------------
    def iterate(self, data, new_from=0):
        self._take_pending()
        data = np.ascontiguousarray(data, dtype=np.float64)
        if data.ndim < 2:
            raise ValueError(f"data must be 2-d (n, d) (or a batch of series), got shape {data.shape}")
        self._iterate(data, int(new_from))
        self.figures["iterations"] += 1

    def _iterate(self, data, new_from):
        raise NotImplementedError

    def predict(self, data):
        data = np.ascontiguousarray(data, dtype=np.float64)
        if len(self.centers) == 0:
            raise ValueError("no centres yet: call iterate() first")
        return self.space.assign(data, self.centers, self.n_threads)[0]

    # -- snapshots --------------------------------------------------------
    def _extra_state(self):
        return {}

    def _load_extra(self, extra):
        pass

    def state(self):
        return _jsonable({
            "name": self.name, "params": self.params, "seed": self.seed,
            "rng": self.rng.bit_generator.state,
            "centers": self.centers, "counts": self.counts,
            "figures": self.figures, "converged": self.converged,
            "pending": self._pending, "extra": self._extra_state(),
        })

    @classmethod
    def from_state(cls, state):
        klass = Algorithm._registry[state["name"]] if cls is Algorithm else cls
        algo = klass(state["params"], state.get("seed"))
        algo.rng.bit_generator.state = state["rng"]
        centers = np.asarray(state["centers"], dtype=float)
        algo.centers = centers if centers.size else np.empty((0, 0))
        algo.counts = np.asarray(state["counts"], dtype=np.int64)
        algo.figures = dict(state["figures"])
        algo.converged = bool(state["converged"])
        algo._pending = state.get("pending")
        algo._load_extra(state.get("extra") or {})
        return algo


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj
