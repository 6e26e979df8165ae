"""gunicorn settings for a deployed TuCluster API:

    gunicorn 'tucluster.app:get_app()' --config config/gunicorn.conf.py

The platform's own settings (database, broker, engines) come from TUCLUSTER_* variables or the file
named by TUCLUSTER_CONFIG, not from here. ``tucluster api`` uses the same defaults.
"""
from tucluster.cli.gunicorn_conf import *  # noqa: F401,F403  (timeouts, worker class, access log)

# Address and processes: one process per core is a good start; each holds `threads` request threads,
# and every open log or event stream keeps one of them.
bind = "127.0.0.1:8000"
workers = 2
threads = 8
