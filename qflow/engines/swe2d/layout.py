"""Strips of rows processed in turn by the swe2d solver, and their walls.

Each strip updates padded rows ``r0 .. r1-1`` and reads rows ``lo .. hi-1``:
the y-direction MUSCL stencil needs two rows either side.  Wall interfaces
(an open cell facing a closed one: inactive cells, walls on the domain edge)
are listed per strip as index tuples into the sweep's interface arrays, so
the kernels touch them with cheap sparse assignments.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Strip:
    r0: int          # first padded row updated by the strip
    r1: int          # one past the last
    lo: int          # first padded row read (the y stencil needs two more)
    hi: int
    walls_x: tuple   # (all walls, walls on the right, walls on the left)
    walls_y: tuple


def _nonzero(mask: np.ndarray):
    return np.nonzero(mask) if mask.any() else None


def _walls(open_cells: np.ndarray) -> tuple:
    a, b = open_cells[:, :-1], open_cells[:, 1:]
    return _nonzero(a ^ b), _nonzero(a & ~b), _nonzero(~a & b)


def make_strips(open_cells: np.ndarray, block_cells: int) -> list[Strip]:
    """Cut the padded grid (True = cell that carries water, ghosts of open
    boundaries included) into strips of about ``block_cells`` cells."""
    ny, nxp = open_cells.shape[0] - 2, open_cells.shape[1]
    rows = max(1, block_cells // nxp)
    strips = []
    for r0 in range(1, ny + 1, rows):
        r1 = min(r0 + rows, ny + 1)
        lo, hi = max(r0 - 2, 0), min(r1 + 2, ny + 2)
        strips.append(Strip(r0, r1, lo, hi, _walls(open_cells[r0:r1]),
                             _walls(open_cells[lo:hi, 1:-1].T)))
    return strips
