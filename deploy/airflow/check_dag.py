"""Run the sharded DAG for real: `airflow dags test` (one process, no
scheduler) against a fresh local lake, then check the date with the Python
`deltalake` package.

    python deploy/airflow/check_dag.py PATH/TO/lakescore

Run it with a Python that has apache-airflow and deltalake (deploy/airflow/run.sh
makes one). The input is the demo's two days as four files of one date
(10,000 rows); the DAG plans 4 shards, maps one task per shard and commits.
Checks: every task succeeded, the date holds 10,000 rows from one run (the
attempt), and the runs table records the attempt with 4 shards, succeeded.
"""

import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from deltalake import DeltaTable

REPO = Path(__file__).resolve().parents[2]
DATE = "2024-01-01"

SPEC = """name = "churn_sharded"
[model]
uri = "models:/churn@champion"
[input]
format = "parquet"
path = "{data}/{{{{ ds }}}}/*.parquet"
keys = ["customer_id"]
[output]
table = "predictions/churn_sharded"
[drift]
metrics = ["psi", "ks"]
"""


def main():
    binary = str(Path(sys.argv[1]).resolve())
    work = Path(tempfile.mkdtemp(prefix="lakescore-airflow-"))
    try:
        lake = work / "lake"
        data = work / "data" / DATE
        data.mkdir(parents=True)
        parts = sorted((REPO / "fixtures/demo/data").glob("*/*.parquet"))
        for i, f in enumerate(parts):
            shutil.copy(f, data / f"part-{i}.parquet")
        spec = work / "job.toml"
        spec.write_text(SPEC.format(data=work / "data"))
        env = {**os.environ, "LAKESCORE_LAKE": str(lake)}
        run = lambda *a: subprocess.run([binary, *a], env=env, check=True, capture_output=True)
        run("registry", "register", "churn", "--flavor", "xgboost",
            "--artifact", str(REPO / "fixtures/demo/churn_model.json"),
            "--reference", str(REPO / "fixtures/demo/reference.parquet"))
        run("registry", "alias", "churn", "1", "champion")

        home = work / "airflow"
        env.update({
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "deploy/airflow"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "LAKESCORE_BIN": binary,
            "LAKESCORE_JOB": str(spec),
            "LAKESCORE_SHARDS": "4",
        })
        airflow = str(Path(sys.executable).parent / "airflow")
        subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
        test = subprocess.run([airflow, "dags", "test", "lakescore_sharded", DATE], env=env,
                              capture_output=True, text=True)
        output = test.stdout + test.stderr
        if test.returncode != 0:
            print(output[-4000:], file=sys.stderr)
            raise SystemExit(f"airflow dags test exited {test.returncode}")

        table = DeltaTable(str(lake / "predictions/churn_sharded")).to_pyarrow_table(
            filters=[("logical_date", "=", datetime.date.fromisoformat(DATE))], columns=["run_id"])
        run_ids = set(table.column("run_id").to_pylist())
        runs = DeltaTable(str(lake / "runs")).to_pyarrow_table().to_pylist()
        problems = []
        if table.num_rows != 10_000:
            problems.append(f"{table.num_rows} rows for {DATE}, expected 10000")
        if len(run_ids) != 1:
            problems.append(f"{len(run_ids)} run ids for {DATE}, expected one")
        attempt = [r for r in runs if r["run_id"] in run_ids]
        if len(attempt) != 1 or attempt[0]["status"] != "succeeded" or attempt[0]["shards"] != 4:
            problems.append(f"the runs table does not record one succeeded 4-shard attempt: {attempt}")
        # What Airflow ran: plan, one mapped task instance per shard, commit.
        ended = re.findall(r"\[DAG TEST\] end task task_id=(\w+) map_index=(-?\d+)", output)
        if sorted(int(i) for t, i in ended if t == "shard") != [0, 1, 2, 3]:
            problems.append(f"the shard task was not mapped over 4 shards: {ended}")
        if ("plan", "-1") not in ended or ("commit", "-1") not in ended:
            problems.append(f"plan or commit did not run: {ended}")
        if not re.search(r"DagRun Finished: dag_id=lakescore_sharded.*state=success", output):
            problems.append("the DAG run did not finish successfully")
        if problems:
            print(output[-4000:], file=sys.stderr)
            raise SystemExit("airflow DAG check failed: " + "; ".join(problems))
        print(f"airflow: lakescore_sharded ran plan -> 4 shards -> commit; {DATE} holds 10000 rows of one attempt")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
