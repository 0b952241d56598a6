"""One process against N shard processes, on a local S3 server (moto), on the
same data and the same lake layout.

    python benches/scale.py make DIR [--rows 20000000] [--files 10]
    python benches/scale.py run DIR BIN [--shards 4]

`make` writes the input (--rows rows of 20 float64 features in --files Parquet
files), the 200-tree depth-6 XGBoost model and a 200,000-row reference, as
benches/end_to_end.py does. `run` starts moto_server on loopback, uploads the
input to s3://scale/input/, and scores it twice with the job of
end_to_end.py (PSI and KS on the 20 features), the input read from S3:
- single: `BIN run` in one process, lake s3://scale/single;
- sharded: `BIN plan --shards N`, the N `BIN run --attempt --shard I` at once,
  then `BIN commit`, lake s3://scale/sharded.
Each process runs under /usr/bin/time -v. Printed, as JSON lines: wall time,
CPU and peak RSS of every process, rows/s per worker, the sharded run's
wall (plan + slowest shard + commit), and whether the two results are
identical (predictions per row_id, and every drift row), read back over S3
with the Python `deltalake` package. Needs numpy, pyarrow, scipy, xgboost,
deltalake, boto3 and moto[server] (benches/requirements.txt plus
.ci/requirements.txt).
"""

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import end_to_end as e2e  # noqa: E402

BUCKET = "scale"
DATE = e2e.DATE

JOB = """name = "scale"
[model]
uri = "models:/scale@champion"
[input]
format = "parquet"
path = "s3://scale/input/*.parquet"
keys = ["row_id"]
[output]
table = "predictions/scale"
[drift]
metrics = ["psi", "ks"]
"""


def emit(obj):
    print(json.dumps(obj), flush=True)


def start_moto():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = Path(sys.executable).parent / "moto_server"
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    sys.exit("moto_server did not start")


def spawn_timed(cmd, env):
    tfile = f"/tmp/lakescore-scale-{os.getpid()}-{time.monotonic_ns()}.time"
    p = subprocess.Popen(["/usr/bin/time", "-v", "-o", tfile, *cmd], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return p, tfile


def finish_timed(p, tfile, start):
    stdout, stderr = p.communicate()
    wall = time.perf_counter() - start
    if p.returncode not in (0, 3):
        sys.exit(f"failed ({p.returncode}):\n{stderr[-3000:]}")
    report = Path(tfile).read_text()
    Path(tfile).unlink()
    field = lambda name: float(re.search(rf"{name}: ([0-9.]+)", report).group(1))  # noqa: E731
    cpu = field(r"User time \(seconds\)") + field(r"System time \(seconds\)")
    return stdout, {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                    "max_rss_mb": round(field(r"Maximum resident set size \(kbytes\)") / 1024, 1)}


def timed(cmd, env):
    start = time.perf_counter()
    p, tfile = spawn_timed(cmd, env)
    return finish_timed(p, tfile, start)


def run(d, binary, shards):
    import boto3
    from deltalake import DeltaTable

    moto, endpoint = start_moto()
    creds = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "scale", "AWS_SECRET_ACCESS_KEY": "scale",
             "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="scale", aws_secret_access_key="scale")
        s3.create_bucket(Bucket=BUCKET)
        files = sorted((d / "input").glob("*.parquet"))
        start = time.perf_counter()
        for f in files:
            # One PUT per file: moto answers parallel multipart parts with errors.
            with open(f, "rb") as body:
                s3.put_object(Bucket=BUCKET, Key=f"input/{f.name}", Body=body)
        emit({"uploaded": len(files), "bytes": sum(f.stat().st_size for f in files),
              "seconds": round(time.perf_counter() - start, 1)})
        (d / "scale.toml").write_text(JOB)
        job = str(d / "scale.toml")
        results = {}
        for way in ("single", "sharded"):
            env = {**os.environ, **creds, "LAKESCORE_LAKE": f"s3://{BUCKET}/{way}"}
            for args in (["registry", "register", "scale", "--flavor", "xgboost",
                          "--artifact", str(d / "xgb_200x6.json"), "--reference", str(d / "reference.parquet")],
                         ["registry", "alias", "scale", "1", "champion"]):
                subprocess.run([binary, *args], check=True, capture_output=True, env=env)
            if way == "single":
                out, t = timed([binary, "--json", "run", job, "--date", DATE], env)
                report = json.loads(out)
                emit({"way": "single", **t, "rows": report["rows"],
                      "rows_per_s": round(report["rows"] / t["wall_s"]), "timings": report["timings"]})
                results[way] = t["wall_s"]
                continue
            out, plan_t = timed([binary, "--json", "plan", job, "--date", DATE, "--shards", str(shards)], env)
            attempt = json.loads(out)["attempt"]
            start = time.perf_counter()
            procs = [spawn_timed([binary, "--json", "run", job, "--date", DATE, "--attempt", attempt,
                                  "--shard", str(i)], env) for i in range(shards)]
            workers = []
            for i, (p, tfile) in enumerate(procs):
                out, t = finish_timed(p, tfile, start)
                r = json.loads(out)
                workers.append({"shard": i, **t, "rows": r["rows"], "rows_per_s": round(r["rows"] / t["wall_s"])})
            shards_wall = time.perf_counter() - start
            out, commit_t = timed([binary, "--json", "commit", job, "--date", DATE, "--attempt", attempt], env)
            commit = json.loads(out)
            total = plan_t["wall_s"] + shards_wall + commit_t["wall_s"]
            emit({"way": "sharded", "shards": shards, "plan": plan_t, "workers": workers,
                  "shards_wall_s": round(shards_wall, 2), "commit": commit_t, "wall_s": round(total, 2),
                  "rows": commit["rows"], "output_version": commit["output_version"]})
            results[way] = total

        def table(way, name, columns):
            t = DeltaTable(f"s3://{BUCKET}/{way}/{name}", storage_options=creds).to_pyarrow_table(columns=columns)
            return t.sort_by([(c, "ascending") for c in columns])

        same_predictions = table("single", "predictions/scale", ["row_id", "prediction"]).equals(
            table("sharded", "predictions/scale", ["row_id", "prediction"]))
        drift_cols = ["feature", "metric", "value", "p_value"]
        same_drift = table("single", "drift_metrics", drift_cols).equals(table("sharded", "drift_metrics", drift_cols))
        emit({"identical_predictions": same_predictions, "identical_drift": same_drift,
              "single_over_sharded": round(results["single"] / results["sharded"], 2)})
        if not (same_predictions and same_drift):
            sys.exit("the sharded result differs from the single process's")
    finally:
        moto.send_signal(signal.SIGTERM)
        moto.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("dir", type=Path)
    m.add_argument("--rows", type=int, default=20_000_000)
    m.add_argument("--files", type=int, default=10)
    r = sub.add_parser("run")
    r.add_argument("dir", type=Path)
    r.add_argument("binary")
    r.add_argument("--shards", type=int, default=4)
    args = ap.parse_args()
    if args.cmd == "make":
        e2e.make(args.dir, args.rows, args.files)
    else:
        run(args.dir.resolve(), str(Path(args.binary).resolve()), args.shards)


if __name__ == "__main__":
    main()
