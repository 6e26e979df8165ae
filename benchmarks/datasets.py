"""Dataset storage benchmark: loading numeric columns from chunk documents (run by hand).

    .venv/bin/python -m benchmarks.datasets [--rows 1000000] [--repeat 5] [--mongo-uri URI]

Stores a rows x 8 float64 dataset through ``tucluster.store.datasets.create`` (SecantusDB in a
temporary directory unless ``--mongo-uri`` names a server), then times ``numeric_matrix`` for one
column and for all 8 as an (n, 8) float64 matrix. Anchors: the one-second budget for a 1M-row
column, and a bare ``find()`` of the same chunk documents (the wire and server cost our decoding
sits on). Also times a 100-row append, as an online push makes. Best of ``--repeat`` runs.
"""
import argparse
import sys
import tempfile
import time

import numpy as np

from tucluster.formats import tables
from tucluster.cli import embedded
from tucluster import settings as settings_module
from tucluster.store import Database
from tucluster.services import datasets as dataset_service
from tucluster.store import datasets as dataset_store

BUDGET_SECONDS = 1.0
COLUMNS = [f"x{i}" for i in range(8)]


def out(line):
    sys.stdout.write(line + "\n")


def best(repeat, action):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return min(times), result


def bare_find(database, name, columns):
    doc = database.db.datasets.find_one({"name": name})
    keys = [c["key"] for c in doc["columns"] if c["name"] in columns]
    return sum(len(chunk["data"]) for chunk in database.db.dataset_chunks.find(
        {"dataset": doc["_id"], "column": {"$in": keys}}, {"data": 1}))


def run(database, rows, repeat):
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(rows, len(COLUMNS)))
    table = tables.Table([{"name": c, "type": "double", "is_set": False} for c in COLUMNS],
                         {c: np.ascontiguousarray(matrix[:, j]) for j, c in enumerate(COLUMNS)}, rows=rows)
    name = f"bench_{rows}"
    if dataset_store.exists(database, name):
        dataset_store.delete(database, name)
    start = time.perf_counter()
    created = dataset_service.create(database, name, table)
    out(f"create {rows}x{len(COLUMNS)} double: {time.perf_counter() - start:.2f} s, {created['size'] / 2**20:.1f} MiB")

    one, column = best(repeat, lambda: dataset_store.numeric_matrix(database, name, ["x0"]))
    assert np.array_equal(column[:, 0], matrix[:, 0])
    wire_one, _ = best(repeat, lambda: bare_find(database, name, ["x0"]))
    out(f"numeric_matrix 1 column: {one * 1e3:.1f} ms (bare find {wire_one * 1e3:.1f} ms); "
        f"ratio to the {BUDGET_SECONDS:.0f} s budget {one / BUDGET_SECONDS:.3f}, to bare find {one / wire_one:.2f}")

    every, loaded = best(repeat, lambda: dataset_store.numeric_matrix(database, name, COLUMNS))
    assert np.array_equal(loaded, matrix)
    wire_all, _ = best(repeat, lambda: bare_find(database, name, COLUMNS))
    out(f"numeric_matrix {len(COLUMNS)} columns: {every * 1e3:.1f} ms (bare find {wire_all * 1e3:.1f} ms); "
        f"ratio to the budget {every / BUDGET_SECONDS:.3f}, to bare find {every / wire_all:.2f}")

    part, _ = best(repeat, lambda: dataset_store.numeric_matrix(database, name, COLUMNS, rows // 3, rows // 3 + 1000))
    out(f"numeric_matrix {len(COLUMNS)} columns, 1000 rows in the middle: {part * 1e3:.1f} ms")

    extra = rng.normal(size=(100, len(COLUMNS))).tolist()
    push, _ = best(repeat, lambda: dataset_service.append(database, name, extra))
    out(f"append 100 rows (rewrites the short last chunk): {push * 1e3:.1f} ms")
    dataset_store.delete(database, name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--mongo-uri", default=None)
    args = parser.parse_args()
    process = None
    with tempfile.TemporaryDirectory() as scratch:
        uri = args.mongo_uri
        if uri is None:
            process, uri = embedded.start_secantus(f"{scratch}/db")
        settings = settings_module.load(environ={}).replace(mongo_uri=uri, database="tucluster_benchmark")
        database = Database(settings)
        try:
            database.ensure_indexes()
            run(database, args.rows, args.repeat)
        finally:
            database.client.drop_database(settings.database)
            database.close()
            if process is not None:
                embedded.stop(process)


if __name__ == "__main__":
    main()
