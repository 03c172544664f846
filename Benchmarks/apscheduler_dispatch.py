"""The peer in make bench's dispatch scenario: APScheduler 3.x running COUNT jobs of /bin/true,
all added at once, on a thread pool of CONCURRENCY. Nothing is recorded (memory job store), so
it does less per run than Renkei does. Prints one JSON object of figures.

    python apscheduler_dispatch.py COUNT CONCURRENCY
"""
import json
import subprocess
import sys
import threading
import time

import apscheduler
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

count, concurrency = int(sys.argv[1]), int(sys.argv[2])
ended = {"executed": 0, "error": 0, "missed": 0}
lock = threading.Lock()
done = threading.Event()


def listener(event):
    kind = {EVENT_JOB_EXECUTED: "executed", EVENT_JOB_ERROR: "error", EVENT_JOB_MISSED: "missed"}[event.code]
    with lock:
        ended[kind] += 1
        if sum(ended.values()) == count:
            done.set()


def run_true():
    subprocess.run(["/bin/true"], check=True)


scheduler = BackgroundScheduler(
    executors={"default": ThreadPoolExecutor(concurrency)},
    # No run may be dropped as misfired however long the queue: every one must run.
    job_defaults={"misfire_grace_time": None, "coalesce": False, "max_instances": 1},
)
scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
scheduler.start()
started = time.monotonic()
for index in range(count):
    scheduler.add_job(run_true, "date", id=str(index))
done.wait()
seconds = time.monotonic() - started
scheduler.shutdown()
if ended["executed"] != count:
    sys.exit(f"APScheduler: {ended}")
print(json.dumps({"version": apscheduler.__version__, "seconds": seconds, "runs_per_second": count / seconds}))
