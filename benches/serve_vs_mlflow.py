"""lakescore serve against mlflow models serve, on the same registered model.

The demo churn model (fixtures/demo/churn_model.json, a 200-tree-class
XGBoost booster) is registered twice: in an MLflow registry (SQLite, with a
signature inferred from the demo data, alias `champion`) and in a lakescore
lake (alias `champion`). Both servers are started on loopback:
`mlflow models serve -m models:/churn@champion --env-manager local` and
`lakescore serve --model models:/churn@champion` (inference log on).

    python benches/serve_vs_mlflow.py PATH/TO/lakescore --check
        a client written for MLflow's server (`requests`, every payload form
        and CSV) gets the same predictions from both within 1e-6, and the same
        status for MLflow's bad requests; exits non-zero otherwise (CI runs it)

    python benches/serve_vs_mlflow.py PATH/TO/lakescore [--seconds 10]
        requests/s, p50 and p99 of both, side by side, driven by the same load
        generator (wrk, from Debian's package): 1-row payloads at concurrency
        1 and 16, 100-row payloads at concurrency 1 and 16

Needs: pip install mlflow==3.17.2 xgboost==3.1.2 requests (benches/requirements-serve.txt);
for the benchmark, wrk on the PATH.
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import requests

REPO = Path(__file__).resolve().parent.parent
FEATURES = ["tenure_months", "monthly_charges", "support_calls", "contract_months", "late_payments"]


def fail(what):
    sys.exit(f"serve vs mlflow: {what}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_rows(n):
    table = pq.read_table(REPO / "fixtures/demo/data/2024-01-01").slice(0, n)
    return table.select(["customer_id", *FEATURES]).to_pylist()


def register_mlflow(tmp):
    """The demo booster in an MLflow registry (SQLite), alias champion."""
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp}/mlflow.db"
    # MLflow puts artifacts under ./mlruns: keep them in the temporary folder.
    os.chdir(tmp)
    import mlflow
    import pandas as pd
    import xgboost
    from mlflow.models import infer_signature

    booster = xgboost.Booster()
    booster.load_model(str(REPO / "fixtures/demo/churn_model.json"))
    example = pd.DataFrame(demo_rows(100))[FEATURES].astype("float64")
    signature = infer_signature(example, booster.predict(xgboost.DMatrix(example)))
    with mlflow.start_run():
        mlflow.xgboost.log_model(booster, name="model", registered_model_name="churn", signature=signature)
    mlflow.MlflowClient().set_registered_model_alias("churn", "champion", "1")


def register_lakescore(binary, lake):
    env = dict(os.environ, LAKESCORE_LAKE=str(lake), LAKESCORE_ACTOR="bench")
    for args in (
        ["registry", "register", "churn", "--flavor", "xgboost", "--artifact", "fixtures/demo/churn_model.json"],
        ["registry", "alias", "churn", "1", "champion"],
    ):
        done = subprocess.run([binary, *args], cwd=REPO, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            fail(f"lakescore {' '.join(args)}: {done.stderr}")


def wait_ready(base, proc, what, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            fail(f"{what} exited with {proc.returncode}")
        try:
            if requests.get(f"{base}/ping", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    fail(f"{what} did not answer /ping within {timeout} s")


def start_servers(binary, tmp, lake):
    venv_bin = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{venv_bin}:{os.environ.get('PATH', '')}")
    mlflow_port, lakescore_port = free_port(), free_port()
    mlflow = subprocess.Popen(
        [str(venv_bin / "mlflow"), "models", "serve", "-m", "models:/churn@champion",
         "--env-manager", "local", "-h", "127.0.0.1", "-p", str(mlflow_port)],
        env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=open(Path(tmp) / "mlflow.log", "w"),
    )
    lakescore = subprocess.Popen(
        [binary, "serve", "--model", "models:/churn@champion", "--port", str(lakescore_port)],
        env=dict(os.environ, LAKESCORE_LAKE=str(lake)), cwd=REPO,
        stdout=subprocess.DEVNULL, stderr=open(Path(tmp) / "lakescore.log", "w"),
    )
    servers = {
        "mlflow models serve": (f"http://127.0.0.1:{mlflow_port}", mlflow),
        "lakescore serve": (f"http://127.0.0.1:{lakescore_port}", lakescore),
    }
    for what, (base, proc) in servers.items():
        wait_ready(base, proc, what)
    return servers


def payloads(rows):
    records = [{f: r[f] for f in FEATURES} for r in rows]
    split = {"columns": FEATURES, "data": [[r[f] for f in FEATURES] for r in rows]}
    csv = ",".join(FEATURES) + "\n" + "".join(
        ",".join("" if r[f] is None else repr(r[f]) for f in FEATURES) + "\n" for r in rows
    )
    return {
        "dataframe_split": ("application/json", json.dumps({"dataframe_split": split})),
        "dataframe_records": ("application/json", json.dumps({"dataframe_records": records})),
        "instances": ("application/json", json.dumps({"instances": records})),
        "inputs (columns)": (
            "application/json",
            json.dumps({"inputs": {f: [r[f] for r in rows] for f in FEATURES}}),
        ),
        "text/csv": ("text/csv", csv),
    }


BAD = [
    ("malformed JSON", "application/json", "not,json"),
    ("not a dictionary", "application/json", "[1, 2, 3]"),
    ("no format key", "application/json", json.dumps({"not": "a serialized dataframe"})),
    ("two format keys", "application/json",
     json.dumps({"dataframe_split": {"columns": FEATURES, "data": [[1, 2, 3, 4, 5]]}, "instances": [[1, 2, 3, 4, 5]]})),
    ("records sent as split", "application/json", json.dumps({"dataframe_split": [{"tenure_months": 1}]})),
    ("index length", "application/json",
     json.dumps({"dataframe_split": {"columns": FEATURES, "index": [0, 1, 2], "data": [[1, 2, 3, 4, 5]] * 2}})),
    ("one row, longer index", "application/json",
     json.dumps({"dataframe_split": {"columns": FEATURES, "index": [0, 1], "data": [[1, 2, 3, 4, 5]]}})),
    ("missing column", "application/json", json.dumps({"dataframe_records": [{"tenure_months": 1.0}]})),
    ("non-numeric column", "application/json",
     json.dumps({"dataframe_split": {"columns": FEATURES, "data": [["x", 2, 3, 4, 5]]}})),
    ("text/plain", "text/plain", "x"),
    ("charset UTF-16", "application/json; charset=UTF-16", "{}"),
]


def check(servers):
    rows = demo_rows(100)
    expected = {r["customer_id"]: r["expected"] for r in pq.read_table(REPO / "fixtures/demo/expected.parquet").to_pylist()}
    (mlflow_base, _), (ours_base, _) = servers["mlflow models serve"], servers["lakescore serve"]
    worst = 0.0
    for form, (content_type, body) in payloads(rows).items():
        answers = {}
        for name, base in (("mlflow", mlflow_base), ("lakescore", ours_base)):
            r = requests.post(f"{base}/invocations", data=body, headers={"Content-Type": content_type}, timeout=60)
            if r.status_code != 200:
                fail(f"{form}: {name} answered {r.status_code}: {r.text[:500]}")
            answers[name] = [float(p) for p in r.json()["predictions"]]
        if len(answers["mlflow"]) != len(rows) or len(answers["lakescore"]) != len(rows):
            fail(f"{form}: {len(answers['mlflow'])} and {len(answers['lakescore'])} predictions for {len(rows)} rows")
        for row, a, b in zip(rows, answers["mlflow"], answers["lakescore"]):
            worst = max(worst, abs(a - b), abs(b - expected[row["customer_id"]]))
            if abs(a - b) > 1e-6:
                fail(f"{form}: customer {row['customer_id']}: mlflow {a}, lakescore {b}")
        print(f"  {form:18} {len(rows)} rows: the same predictions")
    # MLflow's own client (what `mlflow.pyfunc.scoring_server.client` users call) against both.
    import pandas as pd
    from mlflow.pyfunc.scoring_server.client import ScoringServerClient

    frame = pd.DataFrame(rows)[FEATURES]
    got = {}
    for name, base in (("mlflow", mlflow_base), ("lakescore", ours_base)):
        host, port = base.removeprefix("http://").split(":")
        client = ScoringServerClient(host=host, port=int(port))
        client.wait_server_ready(timeout=30)
        got[name] = client.invoke(frame).get_predictions().to_numpy()[:, 0].tolist()
        if not client.get_version():
            fail(f"{name}: /version is empty")
    if max(abs(a - b) for a, b in zip(got["mlflow"], got["lakescore"])) > 1e-6:
        fail("MLflow's ScoringServerClient gets other predictions from lakescore")
    print(f"  {'ScoringServerClient':18} {len(rows)} rows: the same predictions")
    for case, content_type, body in BAD:
        statuses = {}
        for name, base in (("mlflow", mlflow_base), ("lakescore", ours_base)):
            r = requests.post(f"{base}/invocations", data=body, headers={"Content-Type": content_type}, timeout=60)
            statuses[name] = r.status_code
            if r.status_code == 400 and r.json().get("error_code") != "BAD_REQUEST":
                fail(f"{case}: {name} answered 400 without error_code BAD_REQUEST: {r.text[:300]}")
        if statuses["mlflow"] != statuses["lakescore"]:
            fail(f"{case}: mlflow answered {statuses['mlflow']}, lakescore {statuses['lakescore']}")
        print(f"  {case:22} both {statuses['mlflow']}")
    print(f"serve vs mlflow: ok (largest difference {worst:.2e}, against each other and XGBoost's own)")


WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open(os.getenv("BODY_FILE"), "r")
wrk.body = f:read("*a")
f:close()
"""


def wrk(base, body_file, connections, seconds):
    threads = min(connections, 2)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(body_file) + ".lua",
         f"{base}/invocations"],
        env=dict(os.environ, BODY_FILE=str(body_file)), capture_output=True, text=True, check=True,
    ).stdout
    if "Non-2xx" in out:
        fail(f"wrk saw failed requests against {base}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p):
        value, unit = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    return rps, pct(50), pct(99)


def bench(servers, seconds, tmp):
    if shutil.which("wrk") is None:
        fail("wrk is not on the PATH (apt-get install wrk)")
    rows = demo_rows(100)
    results = []
    for n_rows in (1, 100):
        body = Path(tmp) / f"body_{n_rows}.json"
        body.write_text(payloads(rows[:n_rows])["dataframe_split"][1])
        Path(str(body) + ".lua").write_text(WRK_SCRIPT)
        for connections in (1, 16):
            figures = {}
            for name in ("mlflow models serve", "lakescore serve"):
                base, _ = servers[name]
                wrk(base, body, connections, 2)  # warm-up
                figures[name] = wrk(base, body, connections, seconds)
            results.append((n_rows, connections, figures))
    print()
    print("| payload | concurrency | server | requests/s | rows/s | p50 | p99 |")
    print("|---|---|---|---|---|---|---|")
    for n_rows, connections, figures in results:
        for name, (rps, p50, p99) in figures.items():
            print(f"| {n_rows} row{'s' if n_rows > 1 else ''} | {connections} | {name} | {rps:,.0f} | "
                  f"{rps * n_rows:,.0f} | {p50:.2f} ms | {p99:.2f} ms |")
        ratio = figures["lakescore serve"][0] / figures["mlflow models serve"][0]
        print(f"| | | **lakescore / mlflow** | **{ratio:.1f}x** | **{ratio:.1f}x** | | |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--check", action="store_true", help="compare answers only (CI)")
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    binary = str(Path(args.binary).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        lake = Path(tmp) / "lake"
        register_mlflow(tmp)
        register_lakescore(binary, lake)
        servers = start_servers(binary, tmp, lake)
        try:
            if args.check:
                check(servers)
            else:
                bench(servers, args.seconds, tmp)
        finally:
            for _, proc in servers.values():
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()


if __name__ == "__main__":
    main()
