"""gunicorn's settings for Plinth's web process.

gunicorn reads this file from its working directory, so every way Plinth starts
the web process uses it: docker-compose.yml, `make run` (scripts/run.py) and the
morning-peak benchmark (scripts/peak_stack.py).

Threads, not only processes: a therapist's page takes 100-500 ms of Python, and
with one request per process a patient's check-in (about 15 ms) waited behind
it in the queue. With threads a check-in is served beside the page; the
database calls release the interpreter lock.
"""

import os

#: Processes: WEB_CONCURRENCY (gunicorn's own variable), default 3.
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
worker_class = "gthread"
#: Requests each process serves at once.
threads = int(os.environ.get("PLINTH_WEB_THREADS", "4"))
