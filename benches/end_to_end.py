"""A whole daily scoring job, three ways, on the same data: lakescore, the Python stack
tuned by hand, and the MLflow way.

    python benches/end_to_end.py make DIR [--rows 2000000] [--files 4]
    python benches/end_to_end.py lakescore DIR BIN [--repeat 3]
    python benches/end_to_end.py python DIR [--repeat 3]
    python benches/end_to_end.py mlflow DIR [--repeat 3]      (run with the MLflow venv's python)

The job, each way: read --rows rows of 20 float64 features (f0..f19, about 2% NaN in four
columns) plus an int64 `row_id` from --files Parquet files; score them with a 200-tree
depth-6 XGBoost binary model (benches/predict_python.py's xgb_200x6); append the
predictions with model-version lineage (`row_id`, `prediction`, `model_name`,
`model_version`, `run_id`, `logical_date`) to a Delta table partitioned by
`logical_date`, replacing that date's rows; compute PSI (10 reference-quantile bins) and
the two-sample KS test (statistic and p-value) for the 20 features against a 200,000-row
reference.

- `lakescore`: a fresh lake per repeat; the model is registered with its reference (the
  profile is built then, not timed) and aliased `champion`; timed is
  `BIN run DIR/job.toml --date 2024-01-01 --json` under `/usr/bin/time -v` (wall, CPU,
  peak RSS). Its own per-phase timings are printed too.
- `python`: what a careful engineer writes: pyarrow reads the files into one float32
  matrix, `xgboost.Booster.inplace_predict` (all cores), `deltalake.write_deltalake` with a
  `logical_date` predicate, `scipy.stats.ks_2samp` plus a numpy PSI per feature (the
  reference read from Parquet each run, as the job would).
- `mlflow`: the model logged with `mlflow.xgboost` and registered in a local SQLite
  registry (not timed); timed is `mlflow.pyfunc.load_model("models:/e2e/1")`, pandas
  reading the files, `model.predict(df)`, then the same write and drift as `python`.

Each timed job runs in its own process under `/usr/bin/time -v`; one JSON line per run
(`way`, `wall_s`, `cpu_s`, `max_rss_mb`, and lakescore's `timings`). Run the three in one
session and compare medians: absolute times on shared machines are noise.

Needs, for `make` and `python`: numpy, pyarrow, scipy, xgboost, deltalake (and lightgbm for
predict_python's make); for `mlflow`: the above plus mlflow and pandas 2
(benches/requirements-serve.txt plus deltalake and scipy).
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATE = "2024-01-01"
REFERENCE_ROWS = 200_000
REFERENCE_SEED = 5
INPUT_SEED = 7
BINS = 10

JOB = """name = "e2e"
[model]
uri = "models:/e2e@champion"
[input]
format = "parquet"
path = "input/*.parquet"
keys = ["row_id"]
[output]
table = "predictions/e2e"
[drift]
metrics = ["psi", "ks"]
"""


def emit(obj):
    print(json.dumps(obj), flush=True)


def make(d, rows, files):
    sys.path.insert(0, str(Path(__file__).parent))
    import numpy as np
    import predict_python as pp
    import pyarrow as pa
    import pyarrow.parquet as pq

    d.mkdir(parents=True, exist_ok=True)
    if not (d / "xgb_200x6.json").exists():
        pp.make(d, 10_000)
    x = pp.features(rows, INPUT_SEED)
    (d / "input").mkdir(exist_ok=True)
    for i, part in enumerate(np.array_split(np.arange(rows), files)):
        cols = {"row_id": part.astype(np.int64)}
        cols.update({name: x[part, j] for j, name in enumerate(pp.FEATURES)})
        pq.write_table(pa.table(cols), d / "input" / f"part-{i}.parquet", row_group_size=131_072)
    ref = pp.features(REFERENCE_ROWS, REFERENCE_SEED)
    pp.write_table({name: ref[:, j] for j, name in enumerate(pp.FEATURES)}, d / "reference.parquet", 131_072)
    (d / "job.toml").write_text(JOB)
    emit({"made": str(d), "rows": rows, "files": files, "reference_rows": REFERENCE_ROWS})


def timed(cmd, env=None):
    """Run cmd under /usr/bin/time -v: (stdout, wall seconds, cpu seconds, max RSS in MB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        start = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-v", "-o", t.name, *cmd], capture_output=True, text=True, env=env)
        wall = time.perf_counter() - start
        if p.returncode not in (0, 3):
            sys.exit(f"{cmd[0]} failed ({p.returncode}):\n{p.stderr[-3000:]}")
        report = t.read()
    field = lambda name: float(re.search(rf"{re.escape(name)}: ([0-9.]+)", report).group(1))
    cpu = field("User time (seconds)") + field("System time (seconds)")
    return p.stdout, wall, cpu, field("Maximum resident set size (kbytes)") / 1024


def run_lakescore(d, binary, repeat):
    for _ in range(repeat):
        lake = d / "lake-lakescore"
        shutil.rmtree(lake, ignore_errors=True)
        env = {**os.environ, "LAKESCORE_LAKE": str(lake)}
        for args in (
            ["registry", "register", "e2e", "--flavor", "xgboost", "--artifact", str(d / "xgb_200x6.json"),
             "--reference", str(d / "reference.parquet")],
            ["registry", "alias", "e2e", "1", "champion"],
        ):
            subprocess.run([binary, *args], check=True, capture_output=True, env=env)
        out, wall, cpu, rss = timed([binary, "run", str(d / "job.toml"), "--date", DATE, "--json"], env)
        report = json.loads(out)
        emit({"way": "lakescore", "rows": report["rows"], "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
              "max_rss_mb": round(rss, 1), "timings": report["timings"],
              "drift_alerts": len(report["drift_alerts"])})


def run_python(d, way, repeat):
    for _ in range(repeat):
        out, wall, cpu, rss = timed([sys.executable, __file__, f"{way}-job", str(d)])
        emit({"way": way, **json.loads(out), "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
              "max_rss_mb": round(rss, 1)})


def drift(reference_path, features):
    """PSI and KS per feature, as the lakescore job computes them."""
    import numpy as np
    import pyarrow.parquet as pq
    from scipy import stats

    ref = pq.read_table(reference_path)
    out = {}
    for j, name in enumerate(ref.column_names):
        r = ref.column(name).to_numpy(zero_copy_only=False)
        r = r[~np.isnan(r)]
        c = features[:, j]
        c = c[~np.isnan(c)]
        edges = np.unique(np.quantile(r, np.arange(1, BINS) / BINS))
        rb = np.bincount(np.searchsorted(edges, r, side="left"), minlength=len(edges) + 1) / len(r)
        cb = np.bincount(np.searchsorted(edges, c, side="left"), minlength=len(edges) + 1) / len(c)
        rb, cb = np.maximum(rb, 1e-4), np.maximum(cb, 1e-4)
        psi = float(np.sum((cb - rb) * np.log(cb / rb)))
        ks = stats.ks_2samp(r, c)
        out[name] = (psi, float(ks.statistic), float(ks.pvalue))
    return out


def write(d, table, row_id, prediction, run_id):
    import numpy as np
    import pyarrow as pa
    from deltalake import write_deltalake

    n = len(prediction)
    batch = pa.table({
        "row_id": row_id,
        "prediction": pa.array(prediction, type=pa.float64()),
        "model_name": pa.array(["e2e"] * n),
        "model_version": pa.array(np.ones(n, dtype=np.int64)),
        "run_id": pa.array([run_id] * n),
        "logical_date": pa.array(np.full(n, np.datetime64(DATE, "D"))),
    })
    write_deltalake(str(table), batch, mode="overwrite", partition_by=["logical_date"],
                    predicate=f"logical_date = '{DATE}'")


def python_job(d):
    """The hand-tuned job (one process, timed from outside)."""
    import uuid

    import numpy as np
    import pyarrow.parquet as pq
    import xgboost as xgb

    booster = xgb.Booster(model_file=str(d / "xgb_200x6.json"))
    booster.set_param({"nthread": os.cpu_count()})
    data = pq.read_table(sorted((d / "input").glob("*.parquet")))
    names = [f"f{j}" for j in range(20)]
    x = np.column_stack([data.column(n).to_numpy(zero_copy_only=False) for n in names])
    p = booster.inplace_predict(np.ascontiguousarray(x, dtype=np.float32)).astype(np.float64)
    write(d, d / "lake-python", data.column("row_id"), p, str(uuid.uuid4()))
    metrics = drift(d / "reference.parquet", x)
    print(json.dumps({"rows": len(p), "alerts": sum(ks[2] < 0.01 for ks in metrics.values())}))


def mlflow_setup(d):
    import mlflow
    import xgboost as xgb

    mlflow.set_tracking_uri(f"sqlite:///{d / 'mlflow.db'}")
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    if client.search_registered_models("name = 'e2e'"):
        return
    booster = xgb.Booster(model_file=str(d / "xgb_200x6.json"))
    with mlflow.start_run():
        mlflow.xgboost.log_model(booster, name="model", registered_model_name="e2e")


def mlflow_job(d):
    """The MLflow way (one process, timed from outside)."""
    import uuid

    import mlflow
    import numpy as np
    import pandas as pd

    mlflow.set_tracking_uri(f"sqlite:///{d / 'mlflow.db'}")
    model = mlflow.pyfunc.load_model("models:/e2e/1")
    df = pd.concat([pd.read_parquet(f) for f in sorted((d / "input").glob("*.parquet"))], ignore_index=True)
    names = [f"f{j}" for j in range(20)]
    p = np.asarray(model.predict(df[names]), dtype=np.float64)
    write(d, d / "lake-mlflow", df["row_id"].to_numpy(), p, str(uuid.uuid4()))
    metrics = drift(d / "reference.parquet", df[names].to_numpy())
    print(json.dumps({"rows": len(p), "alerts": sum(ks[2] < 0.01 for ks in metrics.values())}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["make", "lakescore", "python", "mlflow", "python-job", "mlflow-job"])
    ap.add_argument("dir", type=Path)
    ap.add_argument("binary", nargs="?")
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    d = a.dir.resolve()
    if a.what == "make":
        make(d, a.rows, a.files)
    elif a.what == "lakescore":
        run_lakescore(d, a.binary or sys.exit("lakescore needs BIN"), a.repeat)
    elif a.what == "python":
        run_python(d, "python", a.repeat)
    elif a.what == "mlflow":
        mlflow_setup(d)
        run_python(d, "mlflow", a.repeat)
    elif a.what == "python-job":
        python_job(d)
    else:
        mlflow_job(d)


if __name__ == "__main__":
    main()
