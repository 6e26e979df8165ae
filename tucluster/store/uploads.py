"""Write a GridFS file while its bytes arrive, and make it visible only once it is accepted.

Chunks are inserted in small batches on a background thread as the upload streams in, so storing
overlaps receiving and memory stays bounded (pymongo's GridIn buffers up to 48 MB before it
writes). The files document, which makes the file exist for GridFS readers, is written by
``commit``; ``abort`` removes the chunks of a rejected upload.
"""
from __future__ import annotations

import concurrent.futures
from collections import deque

from bson import Binary, ObjectId

from tucluster.store import Database, utcnow

CHUNK_SIZE = 255 * 1024
BATCH_CHUNKS = 32  # about 8 MB per insert
IN_FLIGHT = 2


class StreamingUpload:
    def __init__(self, database: Database, bucket: str, filename: str, metadata: dict):
        self.files = database.db[f"{bucket}.files"]
        self.chunks = database.db[f"{bucket}.chunks"]
        self.file_id = ObjectId()
        self.filename, self.metadata = filename, metadata
        self.length, self.index = 0, 0
        self.pending = bytearray()
        self.batch: list[dict] = []
        self.inserts: deque = deque()
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="gridfs-upload")

    def write(self, data: bytes) -> None:
        self.pending += data
        self.length += len(data)
        while len(self.pending) >= CHUNK_SIZE:
            self._chunk(bytes(self.pending[:CHUNK_SIZE]))
            del self.pending[:CHUNK_SIZE]

    def _chunk(self, data: bytes) -> None:
        self.batch.append({"files_id": self.file_id, "n": self.index, "data": Binary(data)})
        self.index += 1
        if len(self.batch) >= BATCH_CHUNKS:
            self._flush()

    def _flush(self) -> None:
        if self.batch:
            self.inserts.append(self.executor.submit(self.chunks.insert_many, self.batch, ordered=False))
            self.batch = []
        while len(self.inserts) > IN_FLIGHT:
            self.inserts.popleft().result()

    def _drain(self) -> None:
        while self.inserts:
            self.inserts.popleft().result()

    def commit(self) -> ObjectId:
        if self.pending:
            self._chunk(bytes(self.pending))
            self.pending = bytearray()
        self._flush()
        self._drain()
        self.executor.shutdown()
        self.files.insert_one({"_id": self.file_id, "length": self.length, "chunkSize": CHUNK_SIZE,
                               "uploadDate": utcnow(), "filename": self.filename, "metadata": self.metadata})
        return self.file_id

    def abort(self) -> None:
        for insert in self.inserts:
            insert.cancel()
        concurrent.futures.wait(self.inserts)
        self.executor.shutdown(wait=True)
        self.chunks.delete_many({"files_id": self.file_id})


def abandoned(database: Database, bucket: str, idle_since) -> list:
    """Files of ``bucket`` with chunks but no files document whose last chunk was written before
    ``idle_since``: uploads cut off (a killed API process, a failed result upload), never committed.
    A chunk's ObjectId says when it was written, so an upload still arriving is never among them."""
    chunks, files = database.db[f"{bucket}.chunks"], database.db[f"{bucket}.files"]
    found = []
    for group in chunks.aggregate([{"$group": {"_id": "$files_id", "last": {"$max": "$_id"}}}]):
        if group["last"].generation_time < idle_since and files.count_documents({"_id": group["_id"]}, limit=1) == 0:
            found.append(group["_id"])
    return found


def discard(database: Database, bucket: str, file_id) -> None:
    """Remove the chunks of a file that has no files document."""
    database.db[f"{bucket}.chunks"].delete_many({"files_id": file_id})
