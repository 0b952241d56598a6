"""The library predict calls lakescore's scoring has to beat: XGBoost and LightGBM scoring a Parquet file.

    python benches/predict_python.py make DIR [--rows 1000000]
    python benches/predict_python.py time DIR [--threads 1,2] [--repeat 5]

Compare with `cargo bench --bench predict -- DIR`.

`make` is deterministic (fixed seeds). It draws 20 float64 features f0..f19 (normal
and uniform columns, about 2% NaN in f3, f7, f12 and f18) and a binary label from a
nonlinear function of them plus logistic noise, trains on 100,000 rows and writes to DIR:

    xgb_200x6.json       XGBoost binary:logistic, 200 trees, max_depth 6, hist, eta 0.1
    lgb_500x255.txt      LightGBM binary, 500 trees, num_leaves 255, min_data_in_leaf 20,
                         learning_rate 0.05
    score.parquet        --rows scoring rows, the same 20 float64 columns (NaN stays NaN,
                         never null), row groups of 131,072 rows
    expected.parquet     float64 columns `xgb` and `lgb`: each library's probability for the
                         first 10,000 scoring rows (XGBoost's are float32 values, widened)

The scoring rows are drawn column by column from per-column seeds, so the first rows do
not depend on --rows. `make` prints one JSON line per trained model (training seconds and
the size of its trees, parsed back from the saved file) and one per file written.

`time` loads the models and score.parquet (not timed) into a C-contiguous float32 array
for XGBoost (what inplace_predict takes without a copy) and a C-contiguous float64 array
for LightGBM. For each thread count it times `booster.inplace_predict(X)` after
`booster.set_param({"nthread": n})` and LightGBM's `booster.predict(X, num_threads=n)`:
one warm-up call, then --repeat calls timed with time.perf_counter. It prints one JSON line
per (library, threads) with the median.

Needs numpy, pyarrow, scipy, xgboost and lightgbm (pinned in benches/requirements.txt).
XGBoost 3.1 does not take pandas 3 DataFrames, so everything goes through numpy.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

N_FEATURES = 20
FEATURES = [f"f{j}" for j in range(N_FEATURES)]
NAN_COLUMNS = (3, 7, 12, 18)
NAN_RATE = 0.02
TRAIN_ROWS = 100_000
TRAIN_SEED = 1
SCORE_SEED = 2
NOISE_SEED = 3
EXPECTED_ROWS = 10_000
ROW_GROUP = 131_072
XGB_NAME = "xgb_200x6"
LGB_NAME = "lgb_500x255"
TRAIN_THREADS = 2


def features(n, seed):
    """n rows of f0..f19 as a C-contiguous float64 array; column j's values come from seed
    (seed, j) and its NaN mask from (seed, j, 1), so the first rows do not depend on n."""
    x = np.empty((n, N_FEATURES), dtype=np.float64)
    for j in range(N_FEATURES):
        rng = np.random.default_rng([seed, j])
        if j < 10:
            # normal columns with assorted locations and scales
            col = rng.normal(loc=0.25 * (j % 3), scale=1.0 + 0.5 * (j % 4), size=n)
        else:
            # uniform columns on assorted ranges
            lo = -1.0 * (j % 3)
            col = rng.uniform(lo, lo + 2.0 + (j % 5), size=n)
        if j in NAN_COLUMNS:
            # the mask has its own stream, so a row's values do not depend on n
            col[np.random.default_rng([seed, j, 1]).random(n) < NAN_RATE] = np.nan
        x[:, j] = col
    return x


def logit(x):
    """The nonlinear function of the features behind the label (NaN counts as 0)."""
    z = np.nan_to_num(x, nan=0.0)
    f = [z[:, j] for j in range(N_FEATURES)]
    return (
        1.2 * np.sin(1.5 * f[0])
        + 0.6 * f[1] * f[2]
        + 0.8 * (f[3] > 0.5)
        - 0.5 * (f[10] - 0.3) ** 2
        + 1.0 * (f[11] > 1.0) * np.tanh(f[4])
        + 0.4 * f[12] * f[13]
        + 0.5 * np.abs(f[5]) - 1.85
        - 0.4 * np.log1p(np.abs(f[6]))
        + 0.3 * np.cos(2.0 * f[14]) * f[7]
        + 0.25 * f[15]
        - 0.6 * np.isnan(x[:, 18])
        + 0.2 * f[8] * (f[16] > 0.0)
    )


def label(x, seed):
    """Binary label: the logit plus logistic noise, thresholded at 0."""
    noise = np.random.default_rng(seed).logistic(size=len(x))
    return (logit(x) + noise > 0).astype(np.float64)


def write_table(columns, path, row_group_size):
    table = pa.table({name: pa.array(col, type=pa.float64()) for name, col in columns.items()})
    pq.write_table(table, path, row_group_size=row_group_size)


def xgb_stats(path):
    """Node, leaf and depth counts of a saved XGBoost JSON model."""
    model = json.loads(Path(path).read_text())
    trees = model["learner"]["gradient_booster"]["model"]["trees"]
    nodes = leaves = max_depth = 0
    depths = []
    for t in trees:
        left, right = t["left_children"], t["right_children"]
        nodes += len(left)
        depth_of = {0: 0}
        stack = [0]
        tree_depth = 0
        while stack:
            i = stack.pop()
            if left[i] == -1:
                leaves += 1
                tree_depth = max(tree_depth, depth_of[i])
            else:
                for c in (left[i], right[i]):
                    depth_of[c] = depth_of[i] + 1
                    stack.append(c)
        depths.append(tree_depth)
        max_depth = max(max_depth, tree_depth)
    return {
        "trees": len(trees),
        "nodes": nodes,
        "internal_nodes": nodes - leaves,
        "leaves": leaves,
        "max_depth": max_depth,
        "mean_depth": round(statistics.fmean(depths), 2),
        "base_score": model["learner"]["learner_model_param"]["base_score"],
    }


def lgb_stats(path):
    """Leaf and depth counts of a saved LightGBM text model (depth = edges root to leaf)."""
    trees = []
    cur = None
    for line in Path(path).read_text().splitlines():
        if line.startswith("Tree="):
            cur = {}
            trees.append(cur)
        elif line == "end of trees":
            break
        elif cur is not None and "=" in line:
            k, v = line.split("=", 1)
            if k in ("num_leaves", "left_child", "right_child"):
                cur[k] = v
    leaves = max_depth = 0
    depths = []
    for t in trees:
        n_leaves = int(t["num_leaves"])
        leaves += n_leaves
        if n_leaves == 1:
            depths.append(0)
            continue
        left = [int(v) for v in t["left_child"].split()]
        right = [int(v) for v in t["right_child"].split()]
        tree_depth = 0
        stack = [(0, 0)]
        while stack:
            i, d = stack.pop()
            for c in (left[i], right[i]):
                if c < 0:  # leaf ~c
                    tree_depth = max(tree_depth, d + 1)
                else:
                    stack.append((c, d + 1))
        depths.append(tree_depth)
        max_depth = max(max_depth, tree_depth)
    return {
        "trees": len(trees),
        "nodes": 2 * leaves - len(trees),
        "internal_nodes": leaves - len(trees),
        "leaves": leaves,
        "max_depth": max_depth,
        "mean_depth": round(statistics.fmean(depths), 2),
    }


def emit(obj):
    print(json.dumps(obj), flush=True)


def make(d, rows):
    import lightgbm as lgb
    import xgboost as xgb

    d.mkdir(parents=True, exist_ok=True)
    x_train = features(TRAIN_ROWS, TRAIN_SEED)
    y_train = label(x_train, NOISE_SEED)

    xgb_path = d / f"{XGB_NAME}.json"
    start = time.perf_counter()
    dtrain = xgb.DMatrix(x_train, label=y_train, feature_names=FEATURES, nthread=TRAIN_THREADS)
    xgb_booster = xgb.train(
        {
            "objective": "binary:logistic",
            "tree_method": "hist",
            "max_depth": 6,
            "eta": 0.1,
            "seed": 0,
            "nthread": TRAIN_THREADS,
        },
        dtrain,
        num_boost_round=200,
    )
    xgb_seconds = time.perf_counter() - start
    xgb_booster.save_model(str(xgb_path))
    emit({"model": XGB_NAME, "train_rows": TRAIN_ROWS, "train_seconds": round(xgb_seconds, 2),
          "positive_rate": float(y_train.mean()), **xgb_stats(xgb_path)})

    lgb_path = d / f"{LGB_NAME}.txt"
    start = time.perf_counter()
    dtrain = lgb.Dataset(x_train, label=y_train, feature_name=FEATURES, free_raw_data=False)
    lgb_booster = lgb.train(
        {
            "objective": "binary",
            "num_leaves": 255,
            "min_data_in_leaf": 20,
            "learning_rate": 0.05,
            "seed": 0,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": TRAIN_THREADS,
            "verbose": -1,
        },
        dtrain,
        num_boost_round=500,
    )
    lgb_seconds = time.perf_counter() - start
    lgb_booster.save_model(str(lgb_path))
    emit({"model": LGB_NAME, "train_rows": TRAIN_ROWS, "train_seconds": round(lgb_seconds, 2),
          **lgb_stats(lgb_path)})

    x_score = features(rows, SCORE_SEED)
    write_table({name: x_score[:, j] for j, name in enumerate(FEATURES)}, d / "score.parquet", ROW_GROUP)

    head = x_score[:EXPECTED_ROWS]
    xgb_booster.set_param({"nthread": TRAIN_THREADS})
    expected = {
        "xgb": xgb_booster.inplace_predict(np.ascontiguousarray(head, dtype=np.float32)).astype(np.float64),
        "lgb": np.asarray(lgb_booster.predict(head, num_threads=TRAIN_THREADS), dtype=np.float64),
    }
    # the saved files must score as the in-memory boosters do
    reloaded_xgb = xgb.Booster(model_file=str(xgb_path))
    reloaded_lgb = lgb.Booster(model_file=str(lgb_path))
    assert np.array_equal(reloaded_xgb.inplace_predict(np.ascontiguousarray(head, dtype=np.float32)),
                          expected["xgb"].astype(np.float32))
    assert np.array_equal(reloaded_lgb.predict(head), expected["lgb"])
    write_table(expected, d / "expected.parquet", ROW_GROUP)

    for name in (xgb_path.name, lgb_path.name, "score.parquet", "expected.parquet"):
        emit({"file": str(d / name), "bytes": (d / name).stat().st_size})


def load_matrix(path, dtype):
    table = pq.read_table(path, columns=FEATURES)
    x = np.empty((table.num_rows, N_FEATURES), dtype=dtype, order="C")
    for j, name in enumerate(FEATURES):
        x[:, j] = table.column(name).to_numpy()
    return x


def timed(fn, repeat):
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_predict(d, threads, repeat):
    import lightgbm as lgb
    import xgboost as xgb

    xgb_booster = xgb.Booster(model_file=str(d / f"{XGB_NAME}.json"))
    lgb_booster = lgb.Booster(model_file=str(d / f"{LGB_NAME}.txt"))
    x32 = load_matrix(d / "score.parquet", np.float32)
    x64 = load_matrix(d / "score.parquet", np.float64)
    rows = x32.shape[0]

    for n in threads:
        xgb_booster.set_param({"nthread": n})
        seconds = timed(lambda: xgb_booster.inplace_predict(x32), repeat)
        emit({"library": "xgboost", "model": XGB_NAME, "threads": n, "rows": rows,
              "seconds_median": seconds, "rows_per_second": rows / seconds})
        seconds = timed(lambda: lgb_booster.predict(x64, num_threads=n), repeat)
        emit({"library": "lightgbm", "model": LGB_NAME, "threads": n, "rows": rows,
              "seconds_median": seconds, "rows_per_second": rows / seconds})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("make", help="train the models and write the scoring data to DIR")
    p.add_argument("dir", type=Path)
    p.add_argument("--rows", type=int, default=1_000_000, help="scoring rows (default 1000000)")
    p = sub.add_parser("time", help="time XGBoost's and LightGBM's predict on DIR")
    p.add_argument("dir", type=Path)
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    p.add_argument("--repeat", type=int, default=5, help="timed calls per measurement (default 5)")
    args = parser.parse_args(argv)

    if args.command == "make":
        if args.rows < EXPECTED_ROWS:
            parser.error(f"--rows must be at least {EXPECTED_ROWS}")
        make(args.dir, args.rows)
    else:
        threads = [int(t) for t in args.threads.split(",") if t.strip()]
        if not threads or min(threads) < 1 or args.repeat < 1:
            parser.error("--threads needs positive integers and --repeat at least 1")
        time_predict(args.dir, threads, args.repeat)


if __name__ == "__main__":
    sys.exit(main())
