"""The anchor for the status-polling benchmark: the least an API can do to answer a run by id."""
import datetime
import os

import falcon
import pymongo

client = pymongo.MongoClient(os.environ["TUCLUSTER_MONGO_URI"], connect=False, tz_aware=True)
runs = client[os.environ.get("TUCLUSTER_DATABASE", "bench")].runs


class Ping:
    def on_get(self, req, resp):
        resp.media = {"pong": True}


class Run:
    def on_get(self, req, resp, run_id):
        doc = runs.find_one({"_id": run_id})
        if doc is None:
            raise falcon.HTTPNotFound()
        resp.media = {key: value.isoformat() if isinstance(value, datetime.datetime) else value
                      for key, value in doc.items() if key != "results"}


app = falcon.App()
app.add_route("/ping", Ping())
app.add_route("/runs/{run_id}", Run())
