"""lakescore against a real S3-compatible server (moto), checked by a reader
that shares no code with it (the Python `deltalake` package, over S3).

    python .ci/s3_e2e.py PATH/TO/lakescore [--keep]

Starts `moto_server` on a free loopback port, creates a
bucket, uploads the demo inputs and reference under it, and puts the lake at
s3://BUCKET/lake. Then, each case checked by `deltalake` reading S3:
- register (the reference profiled from S3), alias, promote;
- a run whose input is an S3 glob with {{ ds }}; `lakescore rerun` of it;
- 8 concurrent runs of one date: one copy, every attempt recorded, and the
  attempts overlapped (every one started before any finished);
- 8 concurrent runs of 8 dates: all land;
- 6 concurrent registrations: versions 1..6, each once;
- a crash at run.before_commit and a real `kill -9` while a run waits before
  its commit, after its files were uploaded (asserted: the uploaded objects
  are there): nothing partial is visible, the rerun leaves one copy;
- the store unreachable in the middle of a run (moto paused with SIGSTOP,
  past the client's timeouts): exit 1 with a message naming the store;
  after SIGCONT nothing partial is visible and a retried run leaves one copy;
- a sharded run (plan -> 3 shards -> commit): one copy, the predictions and
  drift of the single-process run of the same date, the attempt in `runs`;
- an incremental Delta input on S3 (written and appended by `deltalake`),
  time travel (`sql --version`), `maintain` and `report` on an S3 lake;
- two schedulers on one S3 lake racing for a fire: the job's lease (an S3
  create-if-absent) turns one away, and the date runs once;
- unsafe configurations refused with exit 2 (a DynamoDB locking provider),
  and a bucket that does not exist (exit 2, named);
- the secret key, in the environment and on command lines, appears in no
  output, log (-vv), table or object of the bucket.
The binary must have its crash points compiled in (the one `cargo test` builds).
Exits 1 on the first failed check.
"""

import argparse
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from deltalake import DeltaTable

REPO = Path(__file__).resolve().parent.parent
BUCKET = "lakescore-e2e"
ROWS = 5000  # rows of one demo date
DATES = [f"2024-06-0{d}" for d in range(1, 9)]

SPEC = """name = "churn_daily"
[model]
uri = "models:/churn@champion"
[input]
format = "parquet"
path = "s3://{bucket}/input/{{{{ ds }}}}/*.parquet"
keys = ["customer_id", "region"]
[output]
table = "predictions/churn_daily"
[drift]
metrics = ["psi", "ks"]
"""


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    """A moto S3 server on loopback, started and stopped by this script."""

    def __init__(self):
        self.port = free_port()
        exe = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
        self.proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.endpoint = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("moto_server did not start")

    def stop(self):
        self.proc.send_signal(signal.SIGCONT)
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Lake:
    def __init__(self, binary, endpoint, work):
        self.bin = binary
        self.work = work
        self.creds = {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "lakescore-e2e",
            "AWS_SECRET_ACCESS_KEY": "lakescore-e2e-secret",
            "AWS_REGION": "us-east-1",
            "AWS_ALLOW_HTTP": "true",
        }
        self.s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                               aws_access_key_id="lakescore-e2e",
                               aws_secret_access_key="lakescore-e2e-secret")
        self.root = f"s3://{BUCKET}/lake"

    def env(self, failpoint=None, extra=None):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AWS_", "LAKESCORE_")) and k != "FAILPOINTS"}
        env.update(self.creds)
        env["LAKESCORE_LAKE"] = self.root
        if failpoint:
            env["FAILPOINTS"] = failpoint
        env.update(extra or {})
        return env

    def spawn(self, args, failpoint=None, extra=None):
        return subprocess.Popen([self.bin, *args], cwd=self.work, env=self.env(failpoint, extra),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def run(self, args, failpoint=None, extra=None, expect=(0,)):
        p = self.spawn(args, failpoint, extra)
        out, err = p.communicate(timeout=300)
        if expect is not None and p.returncode not in expect:
            print(out, err, file=sys.stderr)
            raise SystemExit(f"lakescore {' '.join(args)}: exit {p.returncode}, expected {expect}")
        return p.returncode, out, err

    def table(self, rel):
        return DeltaTable(f"{self.root}/{rel}", storage_options=self.creds)

    def date_rows(self, date):
        """(rows, distinct run ids) of one predictions date."""
        t = self.table("predictions/churn_daily").to_pyarrow_table(
            filters=[("logical_date", "=", datetime.date.fromisoformat(date))], columns=["run_id"])
        return t.num_rows, set(t.column("run_id").to_pylist())

    def runs(self):
        return self.table("runs").to_pyarrow_table().to_pylist()

    def keys(self, prefix):
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return {o["Key"] for page in pages for o in page.get("Contents", [])}


def one_copy(lake, date, what):
    rows, run_ids = lake.date_rows(date)
    check(rows == ROWS and len(run_ids) == 1, f"{what}: {date} holds one copy ({rows} rows, {len(run_ids)} run)")


def overlapped(rows, what):
    last_start = max(r["started_at"] for r in rows)
    first_end = min(r["finished_at"] for r in rows)
    check(last_start < first_end, f"{what}: the {len(rows)} attempts overlapped")


def setup(lake):
    lake.s3.create_bucket(Bucket=BUCKET)
    day = sorted((REPO / "fixtures/demo/data/2024-01-01").glob("*.parquet"))
    for date in DATES:
        for f in day:
            lake.s3.upload_file(str(f), BUCKET, f"input/{date}/{f.name}")
    lake.s3.upload_file(str(REPO / "fixtures/demo/reference.parquet"), BUCKET, "reference/reference.parquet")
    (lake.work / "job.toml").write_text(SPEC.format(bucket=BUCKET))


def case_registry_and_run(lake):
    lake.run(["registry", "register", "churn", "--flavor", "xgboost",
              "--artifact", str(REPO / "fixtures/demo/churn_model.json"),
              "--reference", f"s3://{BUCKET}/reference/reference.parquet"])
    lake.run(["registry", "alias", "churn", "1", "champion"])
    lake.run(["registry", "promote", "churn", "1", "--stage", "production"])
    versions = lake.table("registry/model_versions").to_pyarrow_table().to_pylist()
    check([v["version"] for v in versions] == [1], "register: version 1 in registry/model_versions on S3")
    check(any(k.startswith("lake/registry/artifacts/churn/") for k in lake.keys("lake/registry/")),
          "register: the artifact is an object under the lake")
    code, _, _ = lake.run(["run", "job.toml", "--date", DATES[0]], expect=(0, 3))
    one_copy(lake, DATES[0], "run")
    run_id = lake.runs()[-1]["run_id"]
    lake.run(["rerun", run_id], expect=(0, 3))
    one_copy(lake, DATES[0], "rerun")
    reruns = [r for r in lake.runs() if r["rerun_of"] == run_id]
    check(len(reruns) == 1 and reruns[0]["status"] == "succeeded", "rerun: recorded as a rerun of the first run")


def case_concurrent_one_date(lake):
    before = {r["run_id"] for r in lake.runs()}
    # Each attempt waits 6 s before its commit, so all eight are in flight at once.
    procs = [lake.spawn(["run", "job.toml", "--date", DATES[1]], failpoint="run.before_commit=sleep(6000)")
             for _ in range(8)]
    codes = []
    for p in procs:
        _, err = p.communicate(timeout=300)
        codes.append(p.returncode)
        if p.returncode not in (0, 3):
            check(p.returncode == 1 and "another run of the same job and date" in err,
                  f"8 runs of one date: a losing attempt says why ({err.strip()[-200:]})")
    check(sum(c in (0, 3) for c in codes) == 1, f"8 runs of one date: exactly one commit won ({codes})")
    one_copy(lake, DATES[1], "8 runs of one date")
    attempts = [r for r in lake.runs() if r["run_id"] not in before]
    check(len(attempts) == 8, "8 runs of one date: every attempt recorded")
    overlapped(attempts, "8 runs of one date")


def case_concurrent_dates(lake):
    before = {r["run_id"] for r in lake.runs()}
    procs = [lake.spawn(["run", "job.toml", "--date", d], failpoint="run.before_commit=sleep(6000)")
             for d in DATES]
    codes = [p.wait(timeout=300) for p in procs]
    check(all(c in (0, 3) for c in codes), f"8 runs of 8 dates: all succeeded ({codes})")
    for d in DATES:
        one_copy(lake, d, "8 runs of 8 dates")
    overlapped([r for r in lake.runs() if r["run_id"] not in before], "8 runs of 8 dates")


def case_concurrent_registrations(lake):
    procs = [lake.spawn(["registry", "register", "twin", "--flavor", "xgboost",
                         "--artifact", str(REPO / "fixtures/demo/churn_model.json"),
                         "--description", f"attempt {i}"]) for i in range(6)]
    codes = [p.wait(timeout=300) for p in procs]
    check(codes == [0] * 6, f"6 registrations: all succeeded ({codes})")
    rows = [v for v in lake.table("registry/model_versions").to_pyarrow_table().to_pylist()
            if v["name"] == "twin"]
    check(sorted(v["version"] for v in rows) == list(range(1, 7)), "6 registrations: versions 1..6")
    check(len({v["description"] for v in rows}) == 6, "6 registrations: each attempt has its own version")


def uncommitted(lake, date):
    """Data objects of the date's partition that the table does not reference."""
    committed = {u.removeprefix(f"s3://{BUCKET}/") for u in lake.table("predictions/churn_daily").file_uris()}
    return lake.keys(f"lake/predictions/churn_daily/logical_date={date}/") - committed


def wait_for(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def case_crash_and_kill(lake):
    date = DATES[2]
    _, _, err = lake.run(["run", "job.toml", "--date", date], failpoint="run.before_commit=return", expect=None)
    check("crash point run.before_commit reached" in err, "crash: the run died at run.before_commit")
    one_copy(lake, date, "crash at run.before_commit")
    lake.run(["run", "job.toml", "--date", date], expect=(0, 3))
    one_copy(lake, date, "rerun after the crash")

    date = DATES[3]
    already = uncommitted(lake, date)
    p = lake.spawn(["run", "job.toml", "--date", date], failpoint="run.before_commit=sleep(20000)")
    wait_for(lambda: uncommitted(lake, date) - already, 60, "the run's upload")
    p.send_signal(signal.SIGKILL)
    p.wait()
    check(p.returncode == -signal.SIGKILL, "kill -9: the run was killed after uploading, before its commit")
    one_copy(lake, date, "kill -9 mid-run")
    lake.run(["run", "job.toml", "--date", date], expect=(0, 3))
    one_copy(lake, date, "rerun after kill -9")


def case_store_unreachable(lake, moto):
    date = DATES[4]
    already = uncommitted(lake, date)
    # Short client timeouts and few retries, so the run gives up while the store is paused.
    options = ["--storage-option", "timeout=2s", "--storage-option", "connect_timeout=1s",
               "--storage-option", "max_retries=1", "--storage-option", "retry_timeout=3s"]
    p = lake.spawn([*options, "run", "job.toml", "--date", date], failpoint="run.before_commit=sleep(3000)")
    wait_for(lambda: uncommitted(lake, date) - already, 60, "the run's upload")
    moto.proc.send_signal(signal.SIGSTOP)
    try:
        _, err = p.communicate(timeout=240)
    finally:
        moto.proc.send_signal(signal.SIGCONT)
    check(p.returncode == 1, f"store unreachable: exit 1 (got {p.returncode})")
    check(f"s3://{BUCKET}/lake" in err, f"store unreachable: the message names the store ({err.strip()[-300:]})")
    one_copy(lake, date, "store unreachable mid-run")
    lake.run(["run", "job.toml", "--date", date], expect=(0, 3))
    one_copy(lake, date, "retried run after the store came back")


def case_unsafe_configuration(lake):
    code, _, err = lake.run(["runs"], extra={"AWS_S3_LOCKING_PROVIDER": "dynamodb"}, expect=None)
    check(code == 2 and "AWS_S3_LOCKING_PROVIDER" in err, "unsafe configuration: a DynamoDB locking provider is refused (exit 2)")
    code, _, err = lake.run(["--lake", "s3://no-such-bucket/lake", "runs"], expect=None)
    check(code == 2 and "no-such-bucket" in err, f"a bucket that does not exist: exit 2 naming it (exit {code})")


def case_sharded(lake):
    """plan -> 3 shards (one has no file) -> commit, on S3: one copy, the same
    predictions and drift as the single-process run of the same input."""
    date = DATES[7]
    before = lake.table("predictions/churn_daily").to_pyarrow_table(
        filters=[("logical_date", "=", datetime.date.fromisoformat(date))], columns=["customer_id", "prediction"])
    single = sorted((r["customer_id"], r["prediction"]) for r in before.to_pylist())
    _, out, _ = lake.run(["--json", "plan", "job.toml", "--date", date, "--shards", "3"])
    attempt = json.loads(out)["attempt"]
    procs = [lake.spawn(["run", "job.toml", "--date", date, "--attempt", attempt, "--shard", str(i)])
             for i in range(3)]
    check([p.wait(timeout=300) for p in procs] == [0, 0, 0], "sharded: 3 shards scored")
    lake.run(["commit", "job.toml", "--date", date, "--attempt", attempt], expect=(0, 3))
    one_copy(lake, date, "sharded run")
    after = lake.table("predictions/churn_daily").to_pyarrow_table(
        filters=[("logical_date", "=", datetime.date.fromisoformat(date))], columns=["customer_id", "prediction", "run_id"])
    check(set(after.column("run_id").to_pylist()) == {attempt}, "sharded: the date's rows carry the attempt id")
    check(sorted((r["customer_id"], r["prediction"]) for r in after.select(["customer_id", "prediction"]).to_pylist())
          == single, "sharded: the predictions equal the single-process run's")
    drift = lake.table("drift_metrics").to_pyarrow_table().to_pylist()
    by_run = lambda run: sorted((d["feature"], d["metric"], d["value"], d["p_value"]) for d in drift if d["run_id"] == run)
    single_run = [r for r in lake.runs() if r["logical_date"] == datetime.date.fromisoformat(date)
                  and r["run_id"] != attempt and r["status"] == "succeeded"][-1]["run_id"]
    check(by_run(attempt) == by_run(single_run) and by_run(attempt), "sharded: drift equals the single-process run's")
    rows = [r for r in lake.runs() if r["run_id"] == attempt]
    check(len(rows) == 1 and rows[0]["shards"] == 3 and rows[0]["status"] == "succeeded",
          "sharded: the runs table records the attempt with its shards")


def case_delta_input_and_time_travel(lake):
    """An incremental Delta input on S3 (written by deltalake, appended to),
    time travel over the lake's tables, and the lake-wide commands."""
    import pyarrow.parquet as pq
    from deltalake import write_deltalake

    source = f"s3://{BUCKET}/raw/customers"
    day = pq.read_table(sorted((REPO / "fixtures/demo/data/2024-01-01").glob("*.parquet"))[0])
    write_deltalake(source, day.slice(0, 1000), storage_options=lake.creds)
    spec = (lake.work / "job.toml").read_text().replace(
        f'format = "parquet"\npath = "s3://{BUCKET}/input/{{{{ ds }}}}/*.parquet"',
        f'format = "delta"\nmode = "incremental"\npath = "{source}"').replace(
        'name = "churn_daily"', 'name = "churn_incremental"').replace(
        'predictions/churn_daily', 'predictions/churn_incremental')
    (lake.work / "incremental.toml").write_text(spec)
    _, out, _ = lake.run(["--json", "run", "incremental.toml", "--date", "2024-07-01"], expect=(0, 3))
    check(json.loads(out)["rows"] == 1000, "incremental Delta input on S3: the first run scores the table")
    write_deltalake(source, day.slice(1000, 500), mode="append", storage_options=lake.creds)
    _, out, _ = lake.run(["--json", "run", "incremental.toml", "--date", "2024-07-02"], expect=(0, 3))
    check(json.loads(out)["rows"] == 500, "incremental Delta input on S3: the next run scores only the appended rows")
    _, out, _ = lake.run(["--json", "sql", "--version", "churn_daily=1",
                          "SELECT count(*) AS n FROM churn_daily"])
    check(json.loads(out)["rows"][0]["n"] == ROWS, "time travel on S3: version 1 of the predictions holds one date")
    _, out, _ = lake.run(["--json", "maintain"])
    check(len(json.loads(out)["tables"]) >= 6, "maintain on S3: every table of the lake")
    lake.run(["report", "--out", str(lake.work / "report.html")])
    check((lake.work / "report.html").stat().st_size > 10_000, "report from an S3 lake")


def case_scheduler_lease(lake):
    """Two schedulers on one S3 lake: the job's lease (create-if-absent on S3)
    lets one of them run each fire."""
    jobs = lake.work / "jobs"
    jobs.mkdir(exist_ok=True)
    (jobs / "every_minute.toml").write_text((lake.work / "job.toml").read_text().replace(
        'name = "churn_daily"', 'name = "leased"\nschedule = "* * * * *"').replace(
        f"s3://{BUCKET}/input/{{{{ ds }}}}/*.parquet", f"s3://{BUCKET}/input/{DATES[0]}/*.parquet").replace(
        'predictions/churn_daily', 'predictions/leased'))
    procs = [lake.spawn(["--json", "schedule", str(jobs)]) for _ in range(2)]
    deadline = time.time() + 150
    while time.time() < deadline and not [r for r in lake.runs() if r["job_name"] == "leased"
                                          and r["status"] in ("succeeded", "failed")]:
        time.sleep(2)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    outs = [p.communicate(timeout=60)[0] for p in procs]
    codes = [p.returncode for p in procs]
    leased = [r for r in lake.runs() if r["job_name"] == "leased"]
    fired = {r["logical_date"] for r in leased}
    check(leased and all(sum(1 for r in leased if r["logical_date"] == d) == 1 for d in fired),
          f"two schedulers on S3: each fire ran once ({len(leased)} runs)")
    check(codes == [0, 0], f"two schedulers on S3: both stopped cleanly on SIGTERM ({codes})")
    check(sum("another process" in o for o in outs) == 1,
          "two schedulers on S3: they raced for the fire, and the lease turned one away")


def case_secrets(lake):
    """The secret key is in the environment of every command and on one command
    line: no output, log, table or object may hold it."""
    secret = lake.creds["AWS_SECRET_ACCESS_KEY"]
    outputs = []
    for args in (["-vv", "--storage-option", f"AWS_SECRET_ACCESS_KEY={secret}", "run", "job.toml",
                  "--date", DATES[5]],
                 ["--json", "-vv", "run", "job.toml", "--date", DATES[6]],
                 ["-vv", "runs", "--json"], ["-vv", "status", "job.toml"],
                 ["--storage-option", f"AWS_SECRET_ACCESS_KEY={secret}", "--storage-option",
                  "AWS_S3_LOCKING_PROVIDER=dynamodb", "runs"]):
        _, out, err = lake.run(args, expect=None)
        outputs.append(out + err)
    check(not any(secret in o for o in outputs), "secrets: no output or log holds the secret key")
    leaked = [k for k in lake.keys("") if secret.encode() in lake.s3.get_object(Bucket=BUCKET, Key=k)["Body"].read()]
    check(not leaked, f"secrets: no object of the bucket holds the secret key ({leaked[:3]})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args()
    binary = str(Path(args.binary).resolve())
    work = Path(tempfile.mkdtemp(prefix="lakescore-s3-"))
    moto = Moto()
    start = time.time()
    try:
        lake = Lake(binary, moto.endpoint, work)
        setup(lake)
        case_registry_and_run(lake)
        case_concurrent_one_date(lake)
        case_concurrent_dates(lake)
        case_concurrent_registrations(lake)
        case_crash_and_kill(lake)
        case_store_unreachable(lake, moto)
        case_sharded(lake)
        case_delta_input_and_time_travel(lake)
        case_scheduler_lease(lake)
        case_unsafe_configuration(lake)
        case_secrets(lake)
    finally:
        moto.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"s3 end-to-end: all checks passed in {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
