"""Does a run's cost grow with the lake's history? One small job, run once a date for
--runs dates on one lake, each run timed as its own process.

    python benches/growth.py BIN [--runs 1000] [--samples 15] [--lake DIR] [--maintain-every 0]

The job is the demo's (fixtures/demo: the churn XGBoost model with its reference profile,
PSI and KS on every feature), reading the 2024-01-01 demo files for every date, so each
run scores the same rows and only the lake's history differs. Each run is
`BIN run JOB --date D --json`, its own process. Every date adds a commit to the
predictions table, `runs` (two: start and finish), `drift_metrics` and
`drift_histograms`.

Two lakes are grown: a young one with 10 runs and an old one with --runs runs (--lake
keeps the old one, and a later call with the same --lake continues it). Then a run of a
new date on each lake is timed, alternating young and old, --samples times, so both
medians come from the same minutes of a shared machine. Printed (one JSON object): both
medians and their ratio, and per table of the old lake the number of commit files,
checkpoints and data files. With `--maintain-every K`, `BIN maintain` runs after every K
runs of the old lake (as a scheduler would). Needs only the standard library.
"""

import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

JOB = """name = "growth"
[model]
uri = "models:/churn@champion"
[input]
format = "parquet"
path = "{data}/*.parquet"
keys = ["customer_id", "region"]
[output]
table = "predictions/growth"
[drift]
metrics = ["psi", "ks"]
"""


def lakescore(bin_path, lake, *args, check=True):
    env = dict(os.environ, LAKESCORE_LAKE=str(lake))
    out = subprocess.run([bin_path, *args], env=env, capture_output=True, text=True)
    if check and out.returncode not in (0, 3):
        sys.exit(f"{' '.join(args)}: exit {out.returncode}\n{out.stderr}")
    return out


def table_stats(lake):
    stats = {}
    for log in sorted(Path(lake).rglob("_delta_log")):
        names = [p.name for p in log.iterdir()]
        table = str(log.parent.relative_to(lake))
        data = [p for p in log.parent.rglob("*.parquet") if "_delta_log" not in p.parts]
        stats[table] = {
            "commits": sum(n.endswith(".json") and n[0].isdigit() for n in names),
            "checkpoints": sum(".checkpoint." in n for n in names),
            "parquet_files_on_disk": len(data),
        }
    return stats


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bin", help="the lakescore binary")
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=15)
    parser.add_argument("--lake", help="the old lake's folder, kept (default: a temporary one)")
    parser.add_argument("--maintain-every", type=int, default=0)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="lakescore-growth-"))
    demo = REPO / "fixtures" / "demo"
    job = work / "growth.toml"
    job.write_text(JOB.format(data=demo / "data" / "2024-01-01"))
    start = datetime.date(2000, 1, 1)

    def date(i):
        return (start + datetime.timedelta(days=i)).isoformat()

    def grow(lake, runs, maintain_every=0):
        log = lake / "predictions" / "growth" / "_delta_log"
        if not log.is_dir():
            lakescore(
                args.bin, lake, "registry", "register", "churn", "--flavor", "xgboost",
                "--artifact", str(demo / "churn_model.json"),
                "--reference", str(demo / "reference.parquet"),
            )
            lakescore(args.bin, lake, "registry", "alias", "churn", "1", "champion")
            done = 0
        else:
            done = sum(1 for p in log.iterdir() if p.name.endswith(".json")) - 1
        for i in range(done, runs):
            lakescore(args.bin, lake, "run", str(job), "--date", date(i), "--json")
            if maintain_every and (i + 1) % maintain_every == 0:
                lakescore(args.bin, lake, "maintain")
            if (i + 1) % 100 == 0:
                print(f"{lake.name}: {i + 1} runs", file=sys.stderr)

    young = work / "young"
    old = Path(args.lake) if args.lake else work / "old"
    grow(young, 10)
    grow(old, args.runs, args.maintain_every)

    times = {"young": [], "old": []}
    for k in range(args.samples):
        for name, lake in (("young", young), ("old", old)):
            t0 = time.perf_counter()
            lakescore(args.bin, lake, "run", str(job), "--date", date(100_000 + k), "--json")
            times[name].append(time.perf_counter() - t0)
    young_ms = statistics.median(times["young"]) * 1000
    old_ms = statistics.median(times["old"]) * 1000
    report = {
        "runs": args.runs,
        "median_ms_after_10_runs": round(young_ms, 1),
        f"median_ms_after_{args.runs}_runs": round(old_ms, 1),
        "ratio": round(old_ms / young_ms, 2),
        "tables": table_stats(old),
    }
    print(json.dumps(report, indent=2))
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
