"""Data-parallel scaling over MPI: samples/s at 1, 2 and 4 ranks, and parallel efficiency.

The driver launches ``mpiexec -n N python bench/bench_mpi.py --worker ...`` for each
rank count and workload; each worker trains with ``ranvier.distributed.DataParallel``
(the global batch is fixed: strong scaling), times every epoch after a warm-up one
(epochs start together on every rank: the shuffling seed is broadcast) and rank 0
reports the median epoch time, plus the median time of one allreduce of the gradient
buffer measured separately in the same job.

Workloads (synthetic data, Adam, softmax cross-entropy):

- compute:   256-1024-1024-10 MLP (1.3M params), global batch 1024: ~16 GFLOP per step
             against a 5 MB allreduce.
- bandwidth: 64-2048-2048-10 MLP (4.3M params, 17 MB of gradients), global batch 16:
             little compute per step, a large allreduce (communication-bound).
- latency:   32-64-64-10 MLP (7K params), global batch 64: microseconds of compute per
             step, so the per-step allreduce latency and the Python hook dominate.

Baselines measured in the same run: 1 rank with 1 thread (the per-rank unit that
efficiency is counted against: efficiency(N) = samples/s(N) / (N * samples/s(1 rank,
1 thread))), and 1 rank with every core (what one process gets from this machine).
Ranks get cores // ranks threads each (at least 1). With more ranks than cores the run
is oversubscribed (MPICH ranks poll while they wait): that row is marked and measures
overhead, not scaling.

    python bench/bench_mpi.py                       # all workloads, 1/2/4 ranks
    python bench/bench_mpi.py --workloads compute --ranks 1 2 --epochs 5
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

WORKLOADS = {
    # name: (features, hidden layers, classes, global batch, samples)
    "compute": (256, (1024, 1024), 10, 1024, 8192),
    "bandwidth": (64, (2048, 2048), 10, 16, 512),
    "latency": (32, (64, 64), 10, 64, 16384),
}


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


# --------------------------------------------------------------------- worker
def worker(args) -> None:
    import ranvier
    from ranvier import distributed as dist

    threads = args.threads
    rank, size = dist.init(num_threads=threads)
    f, hidden, k, batch, n = WORKLOADS[args.workload]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, f)).astype(np.float32)
    y = rng.integers(0, k, n)
    ranvier.utils.set_random_seed(1)
    layers = [ranvier.Input(shape=(f,))] + [ranvier.layers.Dense(h, activation="relu") for h in hidden]
    model = ranvier.Sequential(layers + [ranvier.layers.Dense(k, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")

    times = []

    class Clock(ranvier.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t0)

    dp = dist.DataParallel(model, check_data=False)
    dp.fit(x, y, batch_size=batch, epochs=args.epochs + 1, verbose=0, callbacks=[Clock()])
    epoch_s = statistics.median(times[1:])  # the first epoch warms up

    # One allreduce of the gradient buffer alone (what each step adds), median of repeats.
    comm = dist.comm()
    from mpi4py import MPI
    g = np.zeros(int(model._net.grads().size), np.float32)
    ar = []
    for _ in range(30):
        comm.Barrier()
        t0 = time.perf_counter()
        comm.Allreduce(MPI.IN_PLACE, g, op=MPI.SUM)
        ar.append(time.perf_counter() - t0)
    ar_s = comm.allreduce(statistics.median(ar), op=MPI.MAX) if size > 1 else 0.0
    if rank == 0:
        print("RESULT " + json.dumps({
            "workload": args.workload, "ranks": size, "threads": ranvier.get_num_threads(),
            "samples_per_s": n / epoch_s, "step_ms": 1e3 * epoch_s / -(-n // batch),
            "allreduce_ms": 1e3 * ar_s, "params": int(model.count_params()),
            "epochs_timed": len(times) - 1}), flush=True)


# --------------------------------------------------------------------- driver
def _mpiexec() -> str:
    beside = Path(sys.executable).with_name("mpiexec")
    return str(beside) if beside.exists() else "mpiexec"


def launch(workload: str, ranks: int, threads: int, epochs: int, timeout: float) -> dict:
    cmd = [_mpiexec()]
    version = subprocess.run(cmd + ["--version"], capture_output=True, text=True).stdout
    if "Open MPI" in version:
        cmd += ["--oversubscribe", "--allow-run-as-root"]
    cmd += ["-n", str(ranks), sys.executable, str(Path(__file__).resolve()), "--worker",
            "--workload", workload, "--threads", str(threads), "--epochs", str(epochs)]
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{' '.join(cmd)} failed (rc {out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--workload", default="compute", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    ap.add_argument("--ranks", nargs="+", type=int, default=[1, 2, 4])
    ap.add_argument("--epochs", type=int, default=5, help="timed epochs (after one warm-up)")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args()
    if args.worker:
        worker(args)
        return

    cores = _cores()
    try:
        load = os.getloadavg()[0]
    except OSError:  # pragma: no cover
        load = float("nan")
    print(f"# {cores} cores, load average {load:.1f} at start; MPI: {_mpiexec()}; "
          f"{args.epochs} timed epochs per run (median)")
    rows = []
    hdr = (f"{'workload':<10} {'ranks':>5} {'thr/rank':>8} {'params':>9} {'samples/s':>11} {'step ms':>8} "
           f"{'allreduce ms':>12} {'speedup':>8} {'vs all-core':>11} {'efficiency':>10}  note")
    print(hdr)
    print("-" * len(hdr))
    for wl in args.workloads:
        base1 = launch(wl, 1, 1, args.epochs, args.timeout)            # efficiency baseline
        base_all = launch(wl, 1, cores, args.epochs, args.timeout) if cores > 1 else base1
        runs = [(base1, "1 rank, 1 thread: baseline")]
        if cores > 1:
            runs.append((base_all, f"1 rank, {cores} threads"))
        for n in args.ranks:
            if n == 1:
                continue
            r = launch(wl, n, max(1, cores // n), args.epochs, args.timeout)
            runs.append((r, "oversubscribed: more ranks than cores" if n > cores else ""))
        for r, note in runs:
            sp = r["samples_per_s"] / base1["samples_per_s"]
            vs_all = r["samples_per_s"] / base_all["samples_per_s"]
            eff = sp / r["ranks"]
            r.update(speedup=sp, vs_all_core=vs_all, efficiency=eff, note=note)
            rows.append(r)
            print(f"{wl:<10} {r['ranks']:>5} {r['threads']:>8} {r['params']:>9,} {r['samples_per_s']:>11,.0f} "
                  f"{r['step_ms']:>8.3f} {r['allreduce_ms']:>12.3f} {sp:>8.2f} {vs_all:>11.2f} "
                  f"{eff:>10.2f}  {note}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
