"""Benchmark of the swe2d solver (run by hand: ``python benchmarks/swe2d.py``).

1. Stoker's wet-bed dam break (2000 m x 50 m, 5 m cells) side by side with
   ANUGA's default flow algorithm, if ANUGA is importable: L1 depth error at
   36 s and 72 s and wall time of the time loop.
2. Cell updates per second on a 1000 x 1000 wet grid, against a first-order
   Rusanov step in plain vectorised numpy on the same grid.
3. Peak memory of the 1000 x 1000 case, in arrays of the grid's size.

Both codes run single-threaded (OMP_NUM_THREADS=1 is set before numpy loads).
"""
import os

os.environ["OMP_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy.optimize import brentq  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from qflow.engines.swe2d.solver import Solver  # noqa: E402

G = 9.81
X0, LENGTH, WIDTH, DX = 1000.0, 2000.0, 50.0, 5.0
TIMES = (36.0, 72.0)


def stoker(x, t, h_left=10.0, h_right=1.0):
    """Exact depth of the wet-bed dam break at x, with the disturbed reach."""
    cl = np.sqrt(G * h_left)
    hm = brentq(lambda hm: 2.0 * (cl - np.sqrt(G * hm)) - (hm - h_right) * np.sqrt(
        0.5 * G * (hm + h_right) / (hm * h_right)), h_right, h_left, xtol=1e-14)
    um = 2.0 * (cl - np.sqrt(G * hm))
    speed = hm * um / (hm - h_right)
    xi = (x - X0) / t
    h = np.where(xi < -cl, h_left, np.where(xi < um - np.sqrt(G * hm), (2 * cl - xi) ** 2 / (9 * G),
                                            np.where(xi < speed, hm, h_right)))
    return h, X0 - cl * t, X0 + speed * t


def l1(x, h, t):
    exact, head, front = stoker(x, t)
    reach = (x > head - 50.0) & (x < front + 50.0)
    return np.abs(h[reach] - exact[reach]).sum() / np.abs(exact[reach]).sum()


def stoker_swe2d():
    nx, ny = int(LENGTH / DX), int(WIDTH / DX)
    x = (np.arange(nx) + 0.5) * DX
    h0 = np.repeat(np.where(x < X0, 10.0, 1.0)[None, :], ny, axis=0)
    s = Solver(np.zeros_like(h0), h0, 0.0, DX)
    errors, steps, wall = [], 0, 0.0
    for t in TIMES:
        start = time.perf_counter()
        steps += s.advance_to(t).steps
        wall += time.perf_counter() - start
        errors.append(l1(np.tile(x, ny), s.h.ravel(), t))
    return errors, wall, steps, nx * ny


def stoker_anuga():
    try:
        import anuga
    except ImportError as exc:
        return None, f"ANUGA not importable ({exc})"
    d = anuga.rectangular_cross_domain(int(LENGTH / DX), int(WIDTH / DX), len1=LENGTH, len2=WIDTH)
    d.set_store(False)
    d.set_quantity("elevation", 0.0)
    d.set_quantity("friction", 0.0)
    d.set_quantity("stage", lambda x, y: np.where(x < X0, 10.0, 1.0))
    wall = anuga.Reflective_boundary(d)
    d.set_boundary({"left": wall, "right": wall, "top": wall, "bottom": wall})
    x = d.centroid_coordinates[:, 0]
    errors, start = [], time.perf_counter()
    for t in d.evolve(yieldstep=TIMES[0], finaltime=TIMES[-1]):
        if t > 0:
            stop = time.perf_counter()
            h = d.quantities["stage"].centroid_values - d.quantities["elevation"].centroid_values
            errors.append(l1(x, h, t))
            start += time.perf_counter() - stop    # error evaluation is not solver time
    wall = time.perf_counter() - start
    return (errors, wall, d.number_of_elements, d.get_flow_algorithm()), None


def wet_grid(n):
    y, x = np.mgrid[0:n, 0:n] / n
    h = 1.0 + 0.5 * np.exp(-((x - 0.4) ** 2 + (y - 0.55) ** 2) / 0.02)
    z = 0.1 * np.sin(6 * x) * np.cos(5 * y)
    return z, h - z.min() + z.max() - z


def rusanov_step(h, hu, hv, dx, cfl=0.45):
    """First-order Rusanov step on a closed box, the simplest honest baseline."""
    u, v = hu / h, hv / h
    c = np.sqrt(G * h)
    dt = cfl / np.max((np.abs(u) + c) / dx + (np.abs(v) + c) / dx)
    p = 0.5 * G * h * h
    new = [h.copy(), hu.copy(), hv.copy()]
    for axis, (qn, un) in enumerate(((hv, v), (hu, u))):
        lo = (slice(None, -1), slice(None)) if axis == 0 else (slice(None), slice(None, -1))
        hi = (slice(1, None), slice(None)) if axis == 0 else (slice(None), slice(1, None))
        a = np.maximum((np.abs(un) + c)[lo], (np.abs(un) + c)[hi])
        fluxes = (qn, qn * un + p, (hu if axis == 0 else hv) * un)
        for k, (q, f) in enumerate(zip((h, qn, hu if axis == 0 else hv), fluxes)):
            k = {0: 0, 1: 2 - axis, 2: 1 + axis}[k]
            flux = 0.5 * (f[lo] + f[hi]) - 0.5 * a * (q[hi] - q[lo])
            flux *= dt / dx
            new[k][lo] -= flux
            new[k][hi] += flux
    # wall pressure on the box edges (rows are y, columns are x)
    new[1][:, 0] += dt / dx * p[:, 0]
    new[1][:, -1] -= dt / dx * p[:, -1]
    new[2][0, :] += dt / dx * p[0, :]
    new[2][-1, :] -= dt / dx * p[-1, :]
    return new, dt


def best_step_time(step, steps):
    """Fastest of ``steps`` timed steps: the least disturbed by other load."""
    step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return min(times)


def throughput(n, steps, manning):
    z, h = wet_grid(n)
    s = Solver(z, h, manning, 1.0)
    return n * n / best_step_time(s.step, steps)


def throughput_rusanov(n, steps):
    _, h = wet_grid(n)
    state = [h, np.zeros_like(h), np.zeros_like(h)]

    def step():
        state[:] = rusanov_step(*state, 1.0)[0]
    return n * n / best_step_time(step, steps)


def peak_arrays(n, steps=3):
    z, h = wet_grid(n)
    tracemalloc.start()
    s = Solver(z, h, 0.03, 1.0)
    for _ in range(steps):
        s.step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / (n * n * 8)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="grid side for parts 2 and 3")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--skip-anuga", action="store_true")
    args = ap.parse_args()

    print("== 1. Stoker dam break, 2000 m x 50 m, 5 m cells ==")
    errs, wall, steps, cells = stoker_swe2d()
    print(f"swe2d : L1 {errs[0]:.3%} @36 s, {errs[1]:.3%} @72 s; time loop {wall:.2f} s "
          f"({steps} steps, {cells} cells)")
    result, why = (None, "skipped") if args.skip_anuga else stoker_anuga()
    if result is None:
        print(f"ANUGA : {why}")
    else:
        a_errs, a_wall, a_cells, algo = result
        print(f"ANUGA : L1 {a_errs[0]:.3%} @36 s, {a_errs[1]:.3%} @72 s; time loop {a_wall:.2f} s "
              f"({algo}, {a_cells} triangles)")
        print(f"ratios swe2d/ANUGA: L1 {errs[0] / a_errs[0]:.2f} @36 s, {errs[1] / a_errs[1]:.2f} @72 s; "
              f"time {wall / a_wall:.2f}")

    n = args.n
    print(f"\n== 2. Throughput, {n} x {n} wet grid ==")
    base = throughput_rusanov(n, args.steps)
    for manning in (0.0, 0.03):
        rate = throughput(n, args.steps, manning)
        print(f"swe2d second order, manning {manning}: {rate / 1e6:.2f} M cell updates/s; "
              f"cost per update vs first-order Rusanov: {base / rate:.2f}x")
    print(f"Rusanov first order (numpy baseline): {base / 1e6:.2f} M cell updates/s")

    print(f"\n== 3. Peak memory, {n} x {n} ==")
    print(f"construction + 3 steps: {peak_arrays(n):.1f} arrays of the grid's size")


if __name__ == "__main__":
    main()
