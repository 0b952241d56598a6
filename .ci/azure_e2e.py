"""lakescore against Azurite (Microsoft's Azure Storage emulator, from npm),
checked by the Python `deltalake` package reading az:// on its own.

    python .ci/azure_e2e.py PATH/TO/lakescore AZURITE_BLOB_BIN

Starts azurite-blob on a free loopback port, creates a container, uploads
the demo inputs, and puts the lake at az://lake/lakescore. Checks: register
(reference from az://), alias, a run whose input is an az:// glob, a second
run of the date (one copy), 4 concurrent runs of one date (one copy; the
attempts overlapped), and a sharded run (plan -> 2 shards -> commit).
Exits 1 on the first failed check.
"""

import datetime
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from azure.storage.blob import BlobServiceClient
from deltalake import DeltaTable

REPO = Path(__file__).resolve().parent.parent
# Azurite's well-known development account (public, documented by Microsoft).
ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

SPEC = """name = "churn_daily"
[model]
uri = "models:/churn@champion"
[input]
format = "parquet"
path = "az://lake/input/{{ ds }}/*.parquet"
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


def main():
    binary, azurite = str(Path(sys.argv[1]).resolve()), sys.argv[2]
    work = Path(tempfile.mkdtemp(prefix="lakescore-azure-"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([azurite, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location",
                               str(work / "azurite"), "--loose", "--skipApiVersionCheck", "--silent"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    env = {
        "AZURE_STORAGE_USE_EMULATOR": "true",
        "AZURITE_BLOB_STORAGE_URL": endpoint,
        "AZURE_STORAGE_ACCOUNT_NAME": ACCOUNT,
        "AZURE_STORAGE_ACCOUNT_KEY": KEY,
        "AZURE_ALLOW_HTTP": "true",
    }
    options = {"use_emulator": "true", "account_name": ACCOUNT, "account_key": KEY, "allow_http": "true"}
    # object_store reads the emulator's address from the environment only.
    os.environ["AZURITE_BLOB_STORAGE_URL"] = endpoint
    try:
        conn = (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
                f"BlobEndpoint={endpoint}/{ACCOUNT};")
        for _ in range(100):
            try:
                service = BlobServiceClient.from_connection_string(conn)
                container = service.create_container("lake")
                break
            except Exception:  # noqa: BLE001 (the server is starting)
                time.sleep(0.2)
        else:
            raise SystemExit("azurite did not start")
        for f in sorted((REPO / "fixtures/demo/data").glob("*/*.parquet")):
            with open(f, "rb") as data:
                container.upload_blob(f"input/{f.parent.name}/{f.name}", data)
        (work / "job.toml").write_text(SPEC)
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE", "LAKESCORE"))}
        lake_env = {**base, **env, "LAKESCORE_LAKE": "az://lake/lakescore"}

        def run(args, expect=(0,), failpoint=None):
            e = {**lake_env, **({"FAILPOINTS": failpoint} if failpoint else {})}
            p = subprocess.run([binary, *args], cwd=work, env=e, capture_output=True, text=True)
            if p.returncode not in expect:
                print(p.stdout, p.stderr, file=sys.stderr)
                raise SystemExit(f"lakescore {' '.join(args)}: exit {p.returncode}")
            return p

        def date_rows(date):
            t = DeltaTable("az://lake/lakescore/predictions/churn_daily", storage_options=options).to_pyarrow_table(
                filters=[("logical_date", "=", datetime.date.fromisoformat(date))], columns=["run_id"])
            return t.num_rows, set(t.column("run_id").to_pylist())

        run(["registry", "register", "churn", "--flavor", "xgboost",
             "--artifact", str(REPO / "fixtures/demo/churn_model.json"),
             "--reference", str(REPO / "fixtures/demo/reference.parquet")])
        run(["registry", "alias", "churn", "1", "champion"])
        run(["run", "job.toml", "--date", "2024-01-01"], expect=(0, 3))
        run(["run", "job.toml", "--date", "2024-01-01"], expect=(0, 3))
        rows, ids = date_rows("2024-01-01")
        check(rows == 5000 and len(ids) == 1, f"az:// run and rerun: one copy ({rows} rows, {len(ids)} run)")

        procs = [subprocess.Popen([binary, "run", "job.toml", "--date", "2024-01-02"], cwd=work,
                                  env={**lake_env, "FAILPOINTS": "run.before_commit=sleep(5000)"},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(4)]
        codes = [p.wait(timeout=300) for p in procs]
        check(sum(c in (0, 3) for c in codes) == 1, f"4 concurrent runs of one date on az://: one commit won ({codes})")
        rows, ids = date_rows("2024-01-02")
        check(rows == 5000 and len(ids) == 1, "4 concurrent runs of one date on az://: one copy")
        runs = DeltaTable("az://lake/lakescore/runs", storage_options=options).to_pyarrow_table().to_pylist()
        attempts = [r for r in runs if r["logical_date"] == datetime.date(2024, 1, 2)]
        check(len(attempts) == 4 and max(r["started_at"] for r in attempts) < min(r["finished_at"] for r in attempts),
              "4 concurrent runs of one date on az://: every attempt recorded, and they overlapped")

        attempt = json.loads(run(["--json", "plan", "job.toml", "--date", "2024-01-01", "--shards", "2"]).stdout)["attempt"]
        for i in (0, 1):
            run(["run", "job.toml", "--date", "2024-01-01", "--attempt", attempt, "--shard", str(i)])
        run(["commit", "job.toml", "--date", "2024-01-01", "--attempt", attempt], expect=(0, 3))
        rows, ids = date_rows("2024-01-01")
        check(rows == 5000 and ids == {attempt}, "a sharded run on az://: one copy, from the attempt")
        print("azure end-to-end: all checks passed")
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
