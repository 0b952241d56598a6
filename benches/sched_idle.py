"""Where a run's cores sat idle, from a scheduler trace.

    perf sched record -o sched.data -- target/release/lakescore run DIR/job.toml --date 2024-01-01
    python benches/sched_idle.py sched.data [--bucket-ms 50]

Reads `perf sched timehist --state` (needs `perf` and permission to trace the
scheduler) and prints, for the traced process's lifetime:

- its utilization in buckets (1.0 = one core busy with its threads), so the
  start, the middle and the end of a run can be told apart;
- the idle core time, and how much of it fell while one of its threads was
  runnable but waiting in the other core's run queue: time the kernel's load
  balancer, not the program, left idle (a thread preempted while runnable
  waits from its switch-out; a woken thread from its wake-up).

Kernel threads and `perf` itself are not counted as the process's.
"""

import argparse
import bisect
import collections
import subprocess

NOT_OURS = ("perf", "migration", "kworker", "ksoftirqd", "rcu_", "swapper", "kcompactd", "kdamond", "memfd")


def slices(trace):
    """(start, end, cpu, task, sched delay, state at switch-out) per run slice."""
    out = subprocess.run(["perf", "sched", "timehist", "-i", trace, "--state"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    for line in out[3:]:
        p = line.split()
        if len(p) < 7:
            continue
        try:
            end, delay, run = float(p[0]), float(p[-3]) / 1000, float(p[-2]) / 1000
        except ValueError:
            continue
        yield end - run, end, p[1], p[2], delay, p[-1]


def merged(intervals):
    out = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


def overlap(spans, union):
    starts = [u[0] for u in union]
    total = 0.0
    for a, b in spans:
        i = max(0, bisect.bisect_right(starts, a) - 1)
        while i < len(union) and union[i][0] < b:
            total += max(0.0, min(b, union[i][1]) - max(a, union[i][0]))
            i += 1
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace")
    ap.add_argument("--bucket-ms", type=float, default=50)
    args = ap.parse_args()
    idle, ours, queued, last_out = [], [], [], {}
    cpus = set()
    for start, end, cpu, task, delay, state in slices(args.trace):
        cpus.add(cpu)
        if task.startswith("<idle>"):
            idle.append((start, end))
            continue
        if task.startswith(NOT_OURS):
            continue
        ours.append((start, end, task.split("[")[0]))
        prev = last_out.get(task)
        if prev is not None and prev[1] == "R":
            queued.append((prev[0], start))
        elif delay > 0:
            queued.append((start - delay, start))
        last_out[task] = (end, state)
    t0 = min(s for s, _, _ in ours)
    t1 = max(e for _, e, _ in ours)
    bucket = args.bucket_ms / 1000
    busy = [collections.Counter() for _ in range(int((t1 - t0) / bucket) + 1)]
    for s, e, name in ours:
        b = int((s - t0) / bucket)
        while s < e:
            # The bucket's end, past `s` whatever the rounding of `b`.
            cut = min(e, t0 + (b + 1) * bucket)
            if cut > s:
                busy[min(b, len(busy) - 1)][name] += cut - s
                s = cut
            b += 1
    for b, names in enumerate(busy):
        top = ", ".join(f"{n} {v / bucket:.2f}" for n, v in names.most_common(3))
        print(f"{b * args.bucket_ms:7.0f} ms  {sum(names.values()) / bucket:4.2f}  {top}")
    idle = [(max(a, t0), min(b, t1)) for a, b in idle if b > t0 and a < t1]
    idle_s = sum(b - a for a, b in idle)
    cpu_s = sum(e - s for s, e, _ in ours)
    waiting = overlap(idle, merged(queued))
    wall = t1 - t0
    print(f"wall {wall:.3f} s, CPU {cpu_s:.3f} s, CPU/wall {cpu_s / wall:.2f} on {len(cpus)} cores")
    print(f"idle {idle_s * 1000:.0f} core-ms; while a thread of the process waited in a run queue: "
          f"{waiting * 1000:.0f} core-ms ({100 * waiting / max(idle_s, 1e-9):.0f}%)")


if __name__ == "__main__":
    main()
