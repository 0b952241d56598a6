#!/usr/bin/env bash
# Check the DAG for real: install apache-airflow (from PyPI, into a
# virtualenv, once) and run check_dag.py with it against BIN.
#   deploy/airflow/run.sh PATH/TO/lakescore
set -euo pipefail
cd "$(dirname "$0")"
venv="${LAKESCORE_AIRFLOW_VENV:-/var/tmp/lakescore-airflow-venv}"
if ! "$venv/bin/python" -c "import airflow, deltalake, pyarrow" >/dev/null 2>&1; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet -r requirements.txt
fi
"$venv/bin/python" check_dag.py "$1"
