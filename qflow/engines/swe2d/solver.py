"""Numerical core of the swe2d engine: 2-D shallow-water equations on a grid.

Conventions
-----------
Arrays are ``(ny, nx)``; row 0 is the NORTH edge (as in ESRI ASCII grids) and
column 0 the WEST edge.  ``hu`` is the eastward discharge per unit width and
``hv`` the NORTHWARD one, so ``hv > 0`` carries water towards row 0, against
the direction in which rows are numbered.

Scheme
------
Finite volumes with the Audusse et al. (2004) hydrostatic reconstruction,
MUSCL/van Leer in space, HLL fluxes (see :mod:`.numerics`) and Heun's method
(SSP-RK2) in time.  The time step obeys ``dt * max((|u|+c)/dx + (|v|+c)/dy)
<= cfl``; with ``cfl <= 0.5`` this is the positivity condition of the
second-order scheme, so depths never go negative beyond round-off (which is
clipped).  Manning friction is applied after each step, implicitly in the
discharge, so it can stop the flow but never reverse it.

The state lives in arrays padded by one ghost cell on every side; the public
``h``, ``hu``, ``hv`` and ``z`` are views of their interiors, updated in place
(copy them to keep a snapshot).  Work is done in strips of rows small enough
to stay in cache, which keeps both run time and memory down.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .layout import make_strips
from .numerics import friction_and_drying, hydrograph_volume, sweep

log = logging.getLogger(__name__)

# cells per strip: small enough for the strip's temporaries to stay in cache
# (16k..64k measured best on a 1000 x 1000 grid)
BLOCK_CELLS = 32768
_EDGES = ("N", "S", "W", "E")


@dataclass(frozen=True)
class EdgeBoundary:
    """Open stretch of the domain edge; uncovered edge cells are walls."""

    edge: str
    kind: str
    level: float | None = None
    start: int = 0
    stop: int | None = None


@dataclass(frozen=True)
class Inflow:
    """Hydrograph (m3/s, linear in time, zero outside ``times``) spread evenly
    over the listed cells."""

    rows: np.ndarray
    cols: np.ndarray
    times: np.ndarray
    flows: np.ndarray


@dataclass(frozen=True)
class AdvanceReport:
    steps: int
    dt_min: float
    dt_max: float


class Solver:
    """Shallow-water solver; see the module docstring for conventions."""

    def __init__(self, z, h, manning, dx, dy=None, *, active=None, boundaries=(), inflows=(),
                 order=2, cfl=0.45, g=9.81, dry_depth=1e-6, t0=0.0):
        """z: bed elevation (ny,nx); h: initial depth (ny,nx) >= 0; manning: n per cell
        (ny,nx) or scalar; active: bool mask (ny,nx), inactive cells are walls (no-data
        cells of a grid; they hold no water and ``self.z`` reads 0 there); order 1 or 2;
        dry_depth: below it a cell has no velocity and its discharge is dropped."""
        z = np.asarray(z, dtype=float)
        if z.ndim != 2:
            raise ValueError("z must be a 2-D array")
        ny, nx = z.shape
        h = np.asarray(h, dtype=float)
        if h.shape != z.shape:
            raise ValueError(f"h has shape {h.shape}, expected {z.shape}")
        if not np.all(np.isfinite(h)) or np.any(h < 0):
            raise ValueError("h must be finite and >= 0")
        if order not in (1, 2):
            raise ValueError("order must be 1 or 2")
        if not 0 < cfl <= 0.5:
            raise ValueError("cfl must be in (0, 0.5] for the scheme to keep depths positive")
        self.ny, self.nx = ny, nx
        self.dx = float(dx)
        self.dy = float(dx if dy is None else dy)
        self.order, self.cfl, self.g = order, float(cfl), float(g)
        self.dry_depth = float(dry_depth)
        self.t = float(t0)
        self.inflow_volume = 0.0
        self.outflow_volume = 0.0
        self._area = self.dx * self.dy

        act = np.ones((ny, nx), bool) if active is None else np.asarray(active, bool)
        if act.shape != z.shape:
            raise ValueError(f"active has shape {act.shape}, expected {z.shape}")
        self.active = act
        self._inactive = np.nonzero(~act) if not act.all() else None
        if not np.all(np.isfinite(z[act])):
            raise ValueError("z must be finite on active cells")

        shape = (ny + 2, nx + 2)
        zp = np.zeros(shape)
        zp[1:-1, 1:-1] = np.where(act, z, 0.0)  # no-data elevations never enter a flux
        zp[0, 1:-1], zp[-1, 1:-1] = zp[1, 1:-1], zp[-2, 1:-1]
        zp[:, 0], zp[:, -1] = zp[:, 1], zp[:, -2]
        self._zp = zp
        self._U = tuple(np.zeros(shape) for _ in range(3))   # h, hu, hv
        self._V = tuple(np.zeros(shape) for _ in range(3))   # Heun's intermediate state
        self._U[0][1:-1, 1:-1] = np.where(act, h, 0.0)
        self.h, self.hu, self.hv = (a[1:-1, 1:-1] for a in self._U)
        self.z = zp[1:-1, 1:-1]

        n = np.broadcast_to(np.asarray(manning, dtype=float), z.shape)
        gn2 = self.g * n * n
        self._gn2 = float(gn2.flat[0]) if np.all(gn2 == gn2.flat[0]) else np.ascontiguousarray(gn2)
        self._friction = np.any(gn2 > 0)

        open_cells = np.zeros(shape, bool)
        open_cells[1:-1, 1:-1] = act
        self._bounds = [self._boundary(b, open_cells) for b in boundaries]
        self._inflows = [self._inflow(f) for f in inflows]
        self._strips = make_strips(open_cells, BLOCK_CELLS)

    # -- set-up -------------------------------------------------------------
    def _boundary(self, b: EdgeBoundary, open_cells: np.ndarray):
        if b.edge not in _EDGES:
            raise ValueError(f"unknown edge {b.edge!r}; expected one of {_EDGES}")
        if b.kind not in ("transmissive", "level"):
            raise ValueError(f"unknown boundary kind {b.kind!r}")
        if b.kind == "level" and b.level is None:
            raise ValueError("a level boundary needs a level")
        length = self.nx if b.edge in "NS" else self.ny
        stop = length if b.stop is None else b.stop
        if not 0 <= b.start < stop <= length:
            raise ValueError(f"boundary range {b.start}:{stop} outside edge of {length} cells")
        along = slice(b.start + 1, stop + 1)
        ghost, inner = {"N": ((0, along), (1, along)),
                        "S": ((self.ny + 1, along), (self.ny, along)),
                        "W": ((along, 0), (along, 1)),
                        "E": ((along, self.nx + 1), (along, self.nx))}[b.edge]
        open_cells[ghost] = True
        return ghost, inner, b.kind, b.level

    def _inflow(self, f: Inflow):
        rows = np.atleast_1d(np.asarray(f.rows, dtype=np.intp))
        cols = np.atleast_1d(np.asarray(f.cols, dtype=np.intp))
        if not np.all(self.active[rows, cols]):
            raise ValueError("inflow cells must be active")
        times = np.asarray(f.times, dtype=float)
        if times.ndim != 1 or np.any(np.diff(times) <= 0):
            raise ValueError("inflow times must be increasing")
        idx = np.ravel_multi_index((rows + 1, cols + 1), self._zp.shape)
        return idx, times, np.asarray(f.flows, dtype=float)

    # -- time stepping ------------------------------------------------------
    def _fill_ghosts(self, state) -> None:
        h, qx, qy = state
        for ghost, inner, kind, level in self._bounds:
            if kind == "transmissive":
                for a in state:
                    a[ghost] = a[inner]
                continue
            hg = np.maximum(level - self._zp[ghost], 0.0)
            hi = h[inner]
            ratio = np.divide(hg, hi, out=np.zeros_like(hg), where=hi > self.dry_depth)
            h[ghost] = hg
            qx[ghost] = qx[inner] * ratio   # same velocity as the edge cell
            qy[ghost] = qy[inner] * ratio

    def _max_rate(self) -> float:
        """max over cells of (|u|+c)/dx + (|v|+c)/dy, ghosts included."""
        self._fill_ghosts(self._U)
        h, qx, qy = self._U
        kx, ky = 1.0 / self.dx, 1.0 / self.dy
        kc = np.sqrt(self.g) * (kx + ky)
        rate = 0.0
        step = max(1, BLOCK_CELLS // (self.nx + 2))
        for a in range(0, self.ny + 2, step):
            s = slice(a, a + step)
            r = np.abs(qx[s]) * kx
            r += np.abs(qy[s]) * ky
            r /= np.maximum(h[s], self.dry_depth)
            r += np.sqrt(h[s]) * kc
            rate = max(rate, float(r.max()))
        # a floor keeps dt finite on a dry grid (as for a 1 cm film)
        return max(rate, np.sqrt(self.g * 0.01) * (kx + ky))

    def _stage(self, src, dst, dt: float, final: bool) -> float:
        """dst <- src + dt L(src) (first stage) or (dst + src + dt L(src)) / 2.

        Returns the net rate (m3/s) at which mass leaves through the edges."""
        h, qx, qy = src
        self._fill_ghosts(src)
        g, dry, second = self.g, self.dry_depth, self.order == 2
        cx, cy = dt / self.dx, dt / self.dy
        out = 0.0
        for s in self._strips:
            hs, zs = h[s.lo:s.hi], self._zp[s.lo:s.hi]
            inv = np.divide(1.0, hs, out=np.zeros_like(hs), where=hs > dry)
            u = qx[s.lo:s.hi] * inv
            v = np.multiply(qy[s.lo:s.hi], inv, out=inv)
            eta = hs + zs
            b = slice(s.r0 - s.lo, s.r1 - s.lo)
            dh, dqx, dqy, fx = sweep(hs[b], eta[b], u[b], v[b], *s.walls_x, g, second)
            # y sweep runs southward (with the rows): its normal velocity is -v
            np.negative(v, out=v)
            c = slice(1, -1)
            gh, gqs, gqx, fy = sweep(hs[:, c].T, eta[:, c].T, v[:, c].T, u[:, c].T,
                                     *s.walls_y, g, second)
            yb = slice(b.start - 1, b.stop - 1)
            out += (fx[:, -1].sum() - fx[:, 0].sum()) * self.dy
            if s.r0 == 1:
                out -= fy[:, 0].sum() * self.dx
            if s.r1 == self.ny + 1:
                out += fy[:, -1].sum() * self.dx
            rows = (slice(s.r0, s.r1), c)
            for rate_x, rate_y, ky, k in ((dh, gh, cy, 0), (dqx, gqx, cy, 1), (dqy, gqs, -cy, 2)):
                rate_x *= cx
                rate_x += rate_y.T[yb] * ky
                rate_x += src[k][rows]
                if final:
                    rate_x += dst[k][rows]
                    rate_x *= 0.5
                if k == 0:
                    np.maximum(rate_x, 0.0, out=rate_x)
                dst[k][rows] = rate_x
            if final:
                gn2 = self._gn2 if np.isscalar(self._gn2) else self._gn2[s.r0 - 1:s.r1 - 1]
                friction_and_drying(*(a[rows] for a in dst), gn2 if self._friction else None,
                                    dt, dry)
        if self._inactive is not None:
            for a in dst:
                a[1:-1, 1:-1][self._inactive] = 0.0
        return out

    def _step(self, dt: float) -> None:
        vol_in = 0.0
        U, V = self._U, self._V
        out0 = self._stage(U, V, dt, final=False)
        for idx, times, flows in self._inflows:
            vol = hydrograph_volume(times, flows, self.t, self.t + dt)
            if vol:
                inc = vol / (idx.size * self._area)
                # Heun averages U and U + dt L: both get the whole source
                np.add.at(V[0].reshape(-1), idx, inc)
                np.add.at(U[0].reshape(-1), idx, inc)
                vol_in += vol
        out1 = self._stage(V, U, dt, final=True)
        self.inflow_volume += vol_in
        self.outflow_volume += 0.5 * dt * (out0 + out1)
        self.t += dt

    def step(self, dt: float | None = None) -> float:
        """One Heun step; ``dt`` is capped by the CFL limit. Returns the dt used."""
        dt_cfl = self.cfl / self._max_rate()
        dt = dt_cfl if dt is None else min(float(dt), dt_cfl)
        self._step(dt)
        return dt

    def advance_to(self, t_target: float, max_dt: float | None = None) -> AdvanceReport:
        """CFL-limited steps landing exactly on ``t_target``."""
        steps, dt_min, dt_max = 0, np.inf, 0.0
        eps = 1e-12 * max(1.0, abs(t_target))
        while t_target - self.t > eps:
            remaining = t_target - self.t
            dt = self.cfl / self._max_rate()
            if max_dt is not None:
                dt = min(dt, max_dt)
            if dt >= remaining:
                dt = remaining
            elif remaining < 2.0 * dt:
                dt = 0.5 * remaining   # two even steps rather than one sliver
            self._step(dt)
            if dt == remaining:
                self.t = float(t_target)
            steps += 1
            dt_min, dt_max = min(dt_min, dt), max(dt_max, dt)
        if steps == 0:
            dt_min = 0.0
        log.debug("advanced to t=%.3f s in %d steps (dt %.3g..%.3g s)", self.t, steps, dt_min, dt_max)
        return AdvanceReport(steps, float(dt_min), float(dt_max))

    # -- diagnostics --------------------------------------------------------
    def volume(self) -> float:
        """Stored water volume (m3); inactive cells hold no water."""
        return float(self.h.sum()) * self._area

    def velocity(self) -> tuple[np.ndarray, np.ndarray]:
        """(u, v) in m/s, v northward; zero where h <= dry_depth."""
        wet = self.h > self.dry_depth
        u = np.divide(self.hu, self.h, out=np.zeros_like(self.h), where=wet)
        v = np.divide(self.hv, self.h, out=np.zeros_like(self.h), where=wet)
        return u, v

    def wet_cells(self, threshold: float | None = None) -> int:
        """Number of cells deeper than ``threshold`` (default: ``dry_depth``)."""
        return int(np.count_nonzero(self.h > (self.dry_depth if threshold is None else threshold)))
