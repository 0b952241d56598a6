"""Kill lakescore at random moments and at every named crash point, then check
the lake with a reader that shares no code with it.

    python .ci/kill_harness.py PATH/TO/lakescore [--trials 100] [--seed 1] [--json]

The binary must have its crash points compiled in (the one `cargo test` builds).
One lake serves all trials, so damage would accumulate. Each trial picks an
operation (a run, a backfill of three dates, a registration, an alias move, a
promotion, or `maintain`) and a way to stop it: `kill -9` after a random delay
(uniform over the operation's measured duration), or a named crash point armed
with `FAILPOINTS` (the process aborts there, as `kill -9` would). A trial that
was armed must have died at its point (stderr says `crash point NAME reached`);
a random kill that came after the process ended counts as "finished first".

After every trial, the Python `deltalake` package reads the lake and checks:
- every predictions date holds exactly 5,000 rows from one run, or none;
- the `runs` table reads, each attempt once;
- registry versions are 1..N; each `registered` event names one of them, once
  (a registration killed between its two commits has its event recorded by
  the next registry write, so after a registry write that finished, every
  version has one); event `seq` is 1..M without gaps or repeats; aliases and
  stages name versions that exist;
- the next run of a date succeeds and leaves exactly one copy of it.
Prints a report per operation and kill mode; exits 1 on the first violation.
"""

import argparse
import collections
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from deltalake import DeltaTable

REPO = Path(__file__).resolve().parent.parent
DATES = [f"2024-05-0{d}" for d in range(1, 7)]
ROWS = 5000

SPEC = """name = "churn_daily"
[model]
uri = "models:/churn@champion"
[input]
format = "parquet"
path = "{data}/*.parquet"
keys = ["customer_id", "region"]
[drift]
metrics = ["psi", "ks"]
"""

# Crash points each operation passes (engine/src/failpoints.rs).
POINTS = {
    "run": ["run.after_start_row", "run.after_batch", "run.before_commit",
            "run.after_commit", "run.after_drift"],
    "backfill": ["run.before_commit", "run.after_commit"],
    "register": ["register.after_artifact", "register.after_version_row",
                 "registry.before_event_commit", "registry.after_event_commit"],
    "alias": ["registry.before_event_commit", "registry.after_event_commit"],
    "promote": ["registry.before_event_commit", "registry.after_event_commit"],
    "maintain": [],
}


class Violation(Exception):
    pass


def check(ok, what):
    if not ok:
        raise Violation(what)


class Harness:
    def __init__(self, binary, work):
        self.bin = binary
        self.lake = work / "lake"
        self.spec = work / "job.toml"
        self.spec.write_text(SPEC.format(data=REPO / "fixtures/demo/data/2024-01-01"))
        self.durations = {}

    def command(self, op, rng):
        artifact = str(REPO / "fixtures/demo/churn_model.json")
        if op == "run":
            return ["run", str(self.spec), "--date", rng.choice(DATES)]
        if op == "backfill":
            start = rng.randrange(len(DATES) - 2)
            return ["backfill", str(self.spec), "--from", DATES[start],
                    "--to", DATES[start + 2], "--rerun", "all"]
        if op == "register":
            return ["registry", "register", "churn", "--flavor", "xgboost",
                    "--artifact", artifact,
                    "--reference", str(REPO / "fixtures/demo/reference.parquet")]
        versions = self.versions()
        if op == "alias":
            return ["registry", "alias", "churn", str(rng.choice(versions)), "champion"]
        if op == "promote":
            return ["registry", "promote", "churn", str(rng.choice(versions)),
                    "--stage", "production", "--archive-existing"]
        return ["maintain"]

    def env(self, failpoint=None):
        env = dict(os.environ, LAKESCORE_LAKE=str(self.lake), LAKESCORE_ACTOR="harness")
        env.pop("FAILPOINTS", None)
        if failpoint:
            env["FAILPOINTS"] = f"{failpoint}=return"
        return env

    def run(self, args, failpoint=None, kill_after=None):
        """(exit code, stderr, killed by us)."""
        child = subprocess.Popen([self.bin, *args], env=self.env(failpoint),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        killed = False
        if kill_after is not None:
            try:
                child.wait(timeout=kill_after)
            except subprocess.TimeoutExpired:
                child.kill()
                killed = True
        _, err = child.communicate(timeout=600)
        return child.returncode, err.decode(errors="replace"), killed

    def setup(self):
        for args in (
            ["registry", "register", "churn", "--flavor", "xgboost",
             "--artifact", str(REPO / "fixtures/demo/churn_model.json"),
             "--reference", str(REPO / "fixtures/demo/reference.parquet")],
            ["registry", "alias", "churn", "1", "champion"],
            ["registry", "promote", "churn", "1", "--stage", "production"],
        ):
            code, err, _ = self.run(args)
            check(code == 0, f"setup {args}: {err}")
        # How long each operation takes here, to spread random kills over it.
        rng = random.Random(0)
        for op in POINTS:
            t0 = time.perf_counter()
            code, err, _ = self.run(self.command(op, rng))
            check(code in (0, 3), f"setup {op}: exit {code}: {err}")
            self.durations[op] = time.perf_counter() - t0

    def versions(self):
        t = DeltaTable(str(self.lake / "registry/model_versions")).to_pyarrow_table()
        return sorted(t.column("version").to_pylist())

    def invariants(self, complete):
        lake = self.lake
        preds = DeltaTable(str(lake / "predictions/churn_daily")).to_pyarrow_table(
            columns=["logical_date", "run_id"])
        per_date = collections.defaultdict(collections.Counter)
        for date, run in zip(preds.column("logical_date").to_pylist(),
                             preds.column("run_id").to_pylist()):
            per_date[str(date)][run] += 1
        for date, runs in per_date.items():
            check(len(runs) == 1 and sum(runs.values()) == ROWS,
                  f"predictions {date}: {dict(runs)} (want {ROWS} rows of one run)")

        runs = DeltaTable(str(lake / "runs")).to_pyarrow_table(columns=["run_id"])
        ids = runs.column("run_id").to_pylist()
        check(len(ids) == len(set(ids)), "runs: an attempt appears twice")

        versions = self.versions()
        check(versions == list(range(1, len(versions) + 1)),
              f"model_versions: versions {versions} are not 1..N")
        events = DeltaTable(str(lake / "registry/model_events")).to_pyarrow_table().to_pylist()
        seqs = sorted(e["seq"] for e in events)
        check(seqs == list(range(1, len(seqs) + 1)), f"model_events: seq {seqs[-5:]}... has gaps or repeats")
        registered = collections.Counter(e["version"] for e in events
                                         if e["event_type"] == "registered")
        # A registration killed between its two commits leaves a version whose
        # event the next registry write records (ARCHITECTURE.md): never an
        # event without a version, never two.
        check(set(registered) <= set(versions) and set(registered.values()) <= {1},
              f"registered events {dict(registered)} vs versions {versions}")
        if complete:
            check(sorted(registered) == versions,
                  f"after a registry write, versions {versions} lack registered events "
                  f"({sorted(registered)})")
        for e in events:
            if e["event_type"] in ("alias_set", "stage_transition"):
                check(e["version"] in versions, f"event {e['seq']} names version {e['version']}")

    def next_run_succeeds(self, rng):
        date = rng.choice(DATES)
        code, err, _ = self.run(["run", str(self.spec), "--date", date])
        check(code in (0, 3), f"the next run of {date} failed (exit {code}): {err}")
        preds = DeltaTable(str(self.lake / "predictions/churn_daily")).to_pyarrow_table(
            columns=["logical_date"])
        n = sum(1 for d in preds.column("logical_date").to_pylist() if str(d) == date)
        check(n == ROWS, f"after the next run, {date} has {n} rows")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bin")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="one JSON report on stdout")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="lakescore-kill-"))
    h = Harness(args.bin, work)
    outcomes = collections.Counter()
    started = time.time()
    try:
        h.setup()
        for trial in range(args.trials):
            op = rng.choice(list(POINTS))
            command = h.command(op, rng)
            if POINTS[op] and rng.random() < 0.5:
                point = rng.choice(POINTS[op])
                code, err, _ = h.run(command, failpoint=point)
                # A backfill may end before its last date reaches the point only if
                # every date was skipped; with --rerun all each date passes it.
                check(f"crash point {point} reached" in err,
                      f"trial {trial}: {op} armed at {point} did not die there "
                      f"(exit {code}): {err[-500:]}")
                mode = f"crash point {point}"
            else:
                delay = rng.uniform(0, h.durations[op])
                code, err, killed = h.run(command, kill_after=delay)
                check(killed or code in (0, 3),
                      f"trial {trial}: {op} failed on its own (exit {code}): {err[-500:]}")
                mode = "kill -9" if killed else "finished first"
            # A registry write that ran to its end completes the event log.
            complete = op in ("register", "alias", "promote") and mode == "finished first"
            try:
                h.invariants(complete)
                h.next_run_succeeds(rng)
            except Violation as v:
                raise Violation(f"trial {trial} ({op}, {mode}): {v}") from None
            outcomes[(op, mode)] += 1
    except Violation as v:
        print(f"kill harness: {v}", file=sys.stderr)
        print(f"lake kept for inspection: {h.lake}", file=sys.stderr)
        sys.exit(1)
    report = {
        "trials": args.trials,
        "seed": args.seed,
        "seconds": round(time.time() - started, 1),
        "violations": 0,
        "outcomes": {f"{op}: {mode}": n for (op, mode), n in sorted(outcomes.items())},
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for (op, mode), n in sorted(outcomes.items()):
            print(f"{n:4}  {op:9} {mode}")
        killed = sum(n for (op, mode), n in outcomes.items() if mode != "finished first")
        print(f"{args.trials} trials ({killed} stopped mid-way), 0 violations, "
              f"{report['seconds']} s")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
