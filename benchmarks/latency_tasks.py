"""The anchor for the submit-to-running benchmark: a raw Celery task that notes when it starts."""
import os
import time

import pymongo
from celery import Celery

app = Celery("bench", broker=os.environ["TUCLUSTER_BROKER_URL"])
app.conf.update(task_ignore_result=True, task_acks_late=True, worker_prefetch_multiplier=1,
                worker_hijack_root_logger=False)
_client = None


@app.task(name="bench.started")
def started(key: str, sent: float) -> None:
    global _client
    now = time.time()
    _client = _client or pymongo.MongoClient(os.environ["TUCLUSTER_MONGO_URI"])
    _client.bench.raw.insert_one({"_id": key, "delay": now - sent})
