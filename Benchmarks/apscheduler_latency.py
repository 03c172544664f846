"""The peer in make bench's schedule-latency scenario: APScheduler 3.x holding JOBS jobs, job i
due at FIRST + i by a cron trigger of that one second (as Renkei's job i is by its calendar),
each spawning the same stamp child Renkei's step is: `renkei-bench-stamp SLOT OUTPUT`, which
writes the wall clock at its start. Runs until the SLOTS-th slot has fired, on a thread pool of
CONCURRENCY, then prints one JSON object: the version and how many slots ran.

    python apscheduler_latency.py JOBS FIRST SLOTS STAMP OUTPUT CONCURRENCY
"""
import datetime
import json
import subprocess
import sys
import threading

import apscheduler
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

jobs, first, slots, stamp, output, concurrency = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5],
                                                   int(sys.argv[6]))
ended = {"executed": 0, "error": 0, "missed": 0}
lock = threading.Lock()
done = threading.Event()


def listener(event):
    kind = {EVENT_JOB_EXECUTED: "executed", EVENT_JOB_ERROR: "error", EVENT_JOB_MISSED: "missed"}[event.code]
    with lock:
        ended[kind] += 1
        if sum(ended.values()) == slots:
            done.set()


def stamp_slot(slot):
    subprocess.run([stamp, str(slot), output], check=True)


scheduler = BackgroundScheduler(
    executors={"default": ThreadPoolExecutor(concurrency)},
    job_defaults={"misfire_grace_time": None, "coalesce": False, "max_instances": 1},
    timezone=datetime.timezone.utc,
)
scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
for index in range(jobs):
    at = datetime.datetime.fromtimestamp(first + index, datetime.timezone.utc)
    trigger = CronTrigger(year=at.year, month=at.month, day=at.day, hour=at.hour, minute=at.minute, second=at.second,
                          timezone=datetime.timezone.utc)
    scheduler.add_job(stamp_slot, trigger, args=[first + index], id=str(index))
scheduler.start()
done.wait(timeout=slots + 60)
scheduler.shutdown()
if ended["executed"] < slots or ended["error"] or ended["missed"]:
    sys.exit(f"APScheduler: {ended}")
print(json.dumps({"version": apscheduler.__version__, "slots": slots}))
