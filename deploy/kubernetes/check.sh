#!/usr/bin/env bash
# Render every manifest with sample values (as run-sharded.sh does) and check
# it against the Kubernetes API schema, strictly (unknown fields are errors).
#   deploy/kubernetes/check.sh [PYTHON]   (a Python with kubernetes-validate)
set -euo pipefail
cd "$(dirname "$0")"
python="${1:-python3}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
export DATE=2024-03-01 SHARDS=4 ATTEMPT=0f3c2a9e-0000-4000-8000-000000000000 RUN=20240301-1
source <(sed -n '/^render() {/,/^}/p' run-sharded.sh)
for f in *.yaml; do render "$f" > "$out/$f"; done
if grep -l '\${' "$out"/*.yaml; then echo "placeholders left unfilled" >&2; exit 1; fi
"$python" -m kubernetes_validate --strict --quiet "$out"/*.yaml
echo "kubernetes manifests: $(ls "$out" | wc -l) files valid"
