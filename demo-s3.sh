#!/usr/bin/env bash
# The demo against a local S3-compatible server: starts moto (installed from
# PyPI into a virtualenv when missing) on a free loopback port, creates the
# bucket lakescore-demo, uploads the demo inputs to s3://lakescore-demo/input/,
# then runs ./demo.sh with the lake at s3://lakescore-demo/lake and the job
# jobs/s3/demo.toml, whose input is that S3 glob. moto keeps everything in
# memory: the lake is gone when the server stops (at the end, unless
# --keep-server is given; then its address is printed).
set -euo pipefail
cd "$(dirname "$0")"

venv="${LAKESCORE_CI_VENV:-/var/tmp/lakescore-ci-venv}"
if ! "$venv/bin/python" -c "import moto, boto3" >/dev/null 2>&1; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet -r .ci/requirements.txt
fi
port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
server=$!
if [ "${1:-}" != "--keep-server" ]; then
  trap 'kill $server 2>/dev/null || true' EXIT
fi

# Credentials a local server accepts; against AWS, the usual AWS_* chain applies.
export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=us-east-1 AWS_ALLOW_HTTP=true
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo-secret
"$venv/bin/python" - <<'PY'
import os, pathlib, time, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
for _ in range(100):
    try:
        s3.create_bucket(Bucket="lakescore-demo")
        break
    except Exception:
        time.sleep(0.1)
for f in sorted(pathlib.Path("fixtures/demo/data").glob("*/*.parquet")):
    s3.upload_file(str(f), "lakescore-demo", f"input/{f.parent.name}/{f.name}")
print(f"moto S3 server at {os.environ['AWS_ENDPOINT_URL']}, bucket lakescore-demo, inputs uploaded")
PY

LAKESCORE_LAKE=s3://lakescore-demo/lake DEMO_JOB=jobs/s3/demo.toml ./demo.sh
if [ "${1:-}" = "--keep-server" ]; then
  echo
  echo "The server keeps running (pid $server): export AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL AWS_REGION=us-east-1 AWS_ALLOW_HTTP=true AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo-secret LAKESCORE_LAKE=s3://lakescore-demo/lake"
fi
