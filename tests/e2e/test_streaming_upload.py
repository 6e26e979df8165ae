"""The streaming GridFS writer: a committed file reads back through standard GridFS; an aborted one leaves nothing."""
import os

from tucluster.store.uploads import CHUNK_SIZE, StreamingUpload


def test_committed_upload_reads_back_through_gridfs(database):
    data = os.urandom(CHUNK_SIZE * 70 + 123)  # several batches and a short last chunk
    upload = StreamingUpload(database, "uploadtest", "x.bin", {"k": 1})
    for start in range(0, len(data), 100_000):
        upload.write(data[start:start + 100_000])
    file_id = upload.commit()
    stream = database.bucket("uploadtest").open_download_stream(file_id)
    assert stream.read() == data and stream.metadata == {"k": 1} and stream.filename == "x.bin"


def test_aborted_upload_leaves_no_chunk(database):
    upload = StreamingUpload(database, "uploadtest", "y.bin", {})
    upload.write(os.urandom(CHUNK_SIZE * 40))
    upload.abort()
    assert database.db["uploadtest.chunks"].count_documents({"files_id": upload.file_id}) == 0
    assert database.db["uploadtest.files"].count_documents({"_id": upload.file_id}) == 0
