"""gunicorn settings for the TuCluster API (``tucluster api`` passes them; see config/gunicorn.conf.py)."""
# Uploads are streamed to a spool file, so a long request timeout is needed for big archives.
timeout = 3600
graceful_timeout = 10
# Log and event streams each hold a thread for their duration.
worker_class = "gthread"
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(L)ss'
