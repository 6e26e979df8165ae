"""Dam break in a 200 m x 50 m flume with ANUGA: a 2 m reservoir behind a dam at x = 50 m is
released at t = 0 onto a dry bed sloping 1:200 towards a free outfall; a 10 m x 10 m block
stands in the flow path.

Run it alone (``python dambreak.py``) or through TuCluster's ``anuga`` engine, which sets
``TUCLUSTER_OUTPUT_DIR`` (where the .sww file goes) and ``TUCLUSTER_OVERRIDES`` (a JSON object:
``finaltime`` and ``yieldstep`` in seconds replace the defaults below).
"""
import json
import logging
import os

import numpy as np

import anuga

log = logging.getLogger("dambreak")

settings = {"finaltime": 180.0, "yieldstep": 18.0}
settings.update({key: float(value) for key, value in json.loads(os.environ.get("TUCLUSTER_OVERRIDES") or "{}").items()
                 if key in settings})

LENGTH, WIDTH, CELL = 200.0, 50.0, 5.0
DAM_X, RESERVOIR_LEVEL = 50.0, 2.0


def bed(x, y):
    """Sloping bed with a 1 m high block between x = 100 and 110 m, y = 15 and 25 m."""
    block = (x >= 100.0) & (x <= 110.0) & (y >= 15.0) & (y <= 25.0)
    return -x / 200.0 + np.where(block, 1.0, 0.0)


def initial_stage(x, y):
    return np.where(x < DAM_X, RESERVOIR_LEVEL, bed(x, y))


def main():
    domain = anuga.rectangular_cross_domain(int(LENGTH / CELL), int(WIDTH / CELL), len1=LENGTH, len2=WIDTH)
    domain.set_name("dambreak")  # the results are dambreak.sww and grids/dambreak_{d,h,V}_*.asc
    domain.set_datadir(os.environ.get("TUCLUSTER_OUTPUT_DIR", "."))
    domain.set_quantity("elevation", bed)
    domain.set_quantity("friction", 0.03)  # Manning's n
    domain.set_quantity("stage", initial_stage)
    wall, outfall = anuga.Reflective_boundary(domain), anuga.Transmissive_boundary(domain)
    domain.set_boundary({"left": wall, "right": outfall, "top": wall, "bottom": wall})
    log.info("dam break: %g s of model time, results every %g s", settings["finaltime"], settings["yieldstep"])
    for _ in domain.evolve(yieldstep=settings["yieldstep"], finaltime=settings["finaltime"]):
        log.info(domain.timestepping_statistics())


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    main()
