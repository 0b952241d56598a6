"""The Python stack lakescore's drift replaces, on the data `cargo bench --bench drift -- --write DIR` wrote.

    python benches/drift_scipy.py DIR

Times, per feature, scipy.stats.ks_2samp (statistic and p-value), a numpy PSI
with lakescore's conventions (10 type-7 quantile bins of the reference,
right-closed, floor 1e-4) and the null rate, loading the columns first (not
timed; one `.npy` row per feature, NaN for missing). With `--wasserstein`,
scipy.stats.wasserstein_distance too. Needs numpy and scipy (pinned in
fixtures/requirements.txt).
"""

import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats


def psi(ref, cur):
    edges = np.unique(np.quantile(ref, np.arange(1, 10) / 10))
    r = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=len(edges) + 1) / len(ref)
    c = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=len(edges) + 1) / len(cur)
    r, c = np.maximum(r, 1e-4), np.maximum(c, 1e-4)
    return float(np.sum((c - r) * np.log(c / r)))


def main():
    d = Path(sys.argv[1])
    ref = np.load(d / "reference.npy")
    cur = np.load(d / "current.npy")
    cols = list(zip(ref, cur))
    start = time.perf_counter()
    for r_all, c_all in cols:
        r, c = r_all[~np.isnan(r_all)], c_all[~np.isnan(c_all)]
        psi(r, c)
        stats.ks_2samp(r, c)
        if "--wasserstein" in sys.argv:
            stats.wasserstein_distance(r, c)
        np.isnan(c_all).mean() - np.isnan(r_all).mean()
    secs = time.perf_counter() - start
    print(f"scipy/numpy drift: {len(cols)} features, reference {ref.shape[1]} rows, current {cur.shape[1]} rows")
    what = "psi, ks, wasserstein, null_rate" if "--wasserstein" in sys.argv else "psi, ks, null_rate"
    print(f"  drift ({what}): {secs:.3f} s")


if __name__ == "__main__":
    main()
