"""The demo lake, as ./demo.sh builds it, made by a given lakescore binary:
shared by the CI scripts that check what the binary wrote.

The churn model with its reference profile, alias champion, stage Production,
then jobs/demo.toml scored for two dates (the second drifts: exit code 3 after
its predictions are written).
"""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATES = ["2024-01-01", "2024-01-02"]


def lakescore(binary, lake, *args, codes=(0,)):
    """Run the binary on `lake`; exit naming the command if its code is not in `codes`."""
    env = dict(os.environ, LAKESCORE_LAKE=str(lake), LAKESCORE_ACTOR="ci")
    done = subprocess.run([binary, *args], cwd=REPO, env=env, capture_output=True, text=True)
    if done.returncode not in codes:
        sys.exit(f"lakescore {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done.stdout


def build_lake(binary, lake):
    """Register with a reference profile, alias, promote, score two days."""
    lakescore(binary, lake, "registry", "register", "churn", "--flavor", "xgboost",
              "--artifact", "fixtures/demo/churn_model.json",
              "--reference", "fixtures/demo/reference.parquet", "--tag", "team=growth")
    lakescore(binary, lake, "registry", "alias", "churn", "1", "champion",
              "--comment", "demo champion")
    lakescore(binary, lake, "registry", "promote", "churn", "1", "--stage", "production",
              "--comment", "demo promotion")
    for ds in DATES:
        lakescore(binary, lake, "run", "jobs/demo.toml", "--date", ds, codes=(0, 3))
