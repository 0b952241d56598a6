#!/usr/bin/env bash
# Plan, score and commit one date as three Kubernetes Jobs, in order:
#   ./run-sharded.sh DATE SHARDS
# Exits 0 when the date is committed (a drift alert included: it is in the
# lake), 2 when lakescore refused the input, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")"
export DATE="$1" SHARDS="$2"
export RUN="$(echo "$DATE" | tr -d -)-$(date +%s)"
# The manifests' ${DATE}, ${SHARDS}, ${ATTEMPT} and ${RUN}, filled in.
render() {
  sed -e "s/\${DATE}/$DATE/g" -e "s/\${SHARDS}/$SHARDS/g" \
      -e "s/\${ATTEMPT}/${ATTEMPT:-}/g" -e "s/\${RUN}/$RUN/g" "$1"
}
apply() { render "$1" | kubectl apply -f - >/dev/null; }
wait_job() {
  # Complete, or Failed (kubectl wait has no "either": poll both).
  while true; do
    if kubectl get job "$1" -o jsonpath='{.status.conditions[?(@.type=="Complete")].status}' | grep -q True; then return 0; fi
    if kubectl get job "$1" -o jsonpath='{.status.conditions[?(@.type=="Failed")].status}' | grep -q True; then
      kubectl logs "job/$1" --tail=20 >&2 || true
      return 1
    fi
    sleep 5
  done
}
apply plan-job.yaml
wait_job "lakescore-plan-$RUN" || exit 2
export ATTEMPT="$(kubectl logs "job/lakescore-plan-$RUN" | tail -n 1 | sed -n 's/.*"attempt":"\([^"]*\)".*/\1/p')"
[ -n "$ATTEMPT" ] || { echo "no attempt id in the plan's log" >&2; exit 1; }
echo "attempt $ATTEMPT: $SHARDS shards"
apply shards-job.yaml
wait_job "lakescore-shards-$RUN" || exit 1
apply commit-job.yaml
wait_job "lakescore-commit-$RUN" || exit 1
echo "committed $DATE (attempt $ATTEMPT)"
