"""A sharded lakescore run as an Airflow DAG: plan -> shard.expand(...) -> commit.

Dynamic task mapping gives one task instance per shard, so Airflow retries,
logs and shows each shard on its own. lakescore's exit codes map to Airflow's:
    0  success
    1  failure at run time (storage, a missing shard): retried (task retries)
    2  bad input (spec, model, data): failed at once, never retried
    3  committed, with a drift alert: success, with a warning in the log
       (the alert is in the lake's runs and drift_metrics tables)

Settings (environment of the workers; the lake's credentials come from theirs):
    LAKESCORE_BIN     the lakescore binary (default: lakescore on the PATH)
    LAKESCORE_JOB     the job spec (TOML)
    LAKESCORE_SHARDS  how many shards (default 4)
    LAKESCORE_LAKE    the lake (a path or s3://, az://, gs:// URI)
"""

import json
import logging
import os
import subprocess
from datetime import datetime, timedelta

from airflow.exceptions import AirflowException, AirflowFailException
from airflow.sdk import dag, task

log = logging.getLogger(__name__)


def lakescore(*args):
    """Run lakescore; returns (exit code, stdout), raising as the code says."""
    cmd = [os.environ.get("LAKESCORE_BIN", "lakescore"), *args]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.stderr:
        log.info("%s", done.stderr.strip())
    if done.returncode == 2:
        raise AirflowFailException(f"lakescore refused the input (exit 2): {done.stderr.strip()[-500:]}")
    if done.returncode not in (0, 3):
        raise AirflowException(f"lakescore failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    return done.returncode, done.stdout


@dag(
    dag_id="lakescore_sharded",
    schedule="0 2 * * *",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    tags=["lakescore"],
)
def lakescore_sharded():
    @task
    def plan(ds=None):
        shards = os.environ.get("LAKESCORE_SHARDS", "4")
        _, out = lakescore("--json", "plan", os.environ["LAKESCORE_JOB"], "--date", ds, "--shards", shards)
        planned = json.loads(out)
        log.info("attempt %s: %s shards, %s version %s", planned["attempt"], planned["shards"],
                 planned["model_name"], planned["model_version"])
        return [{"attempt": planned["attempt"], "shard": i} for i in range(planned["shards"])]

    @task
    def shard(work, ds=None):
        _, out = lakescore("run", os.environ["LAKESCORE_JOB"], "--date", ds,
                           "--attempt", work["attempt"], "--shard", str(work["shard"]))
        log.info("%s", out.strip())
        return work["attempt"]

    @task
    def commit(attempts, ds=None):
        attempt = sorted(set(attempts))
        if len(attempt) != 1:
            raise AirflowFailException(f"the shards report different attempts: {attempt}")
        code, out = lakescore("--json", "commit", os.environ["LAKESCORE_JOB"], "--date", ds,
                              "--attempt", attempt[0])
        report = json.loads(out)
        if code == 3:
            log.warning("drift alert for %s: %s", ds, report["drift_alerts"])
        log.info("committed %s rows of %s (Delta version %s)", report["rows"], ds, report["output_version"])
        return {"rows": report["rows"], "alerts": len(report["drift_alerts"])}

    commit(shard.expand(work=plan()))


lakescore_sharded()
