"""mixed_bfloat16 benchmark: ranvier float32 vs ranvier mixed_bfloat16 vs PyTorch
torch.autocast("cpu", dtype=torch.bfloat16) vs Keras 3 with the mixed_bfloat16 policy, in one run.

    python bench/bench_bf16.py                      # W1 and W3, 1 and 2 threads, GEMM A/B
    python bench/bench_bf16.py --quick              # smoke test on small data (< 2 min)
    python bench/bench_bf16.py --threads 1 --workloads W1 --repeats 5
    python bench/bench_bf16.py --gemm-only          # only the interleaved GEMM A/B

Two parts.

1. GEMM A/B, in this process: the GEMMs of W1 and W3's training steps (forward x@W,
   dX = dZ@W^T, dW = X^T@dZ) through ranvier's float32 sgemm, the bf16 GEMM on the
   avx512bf16 tier (vdpbf16ps), and the bf16 GEMM emulated on the avx512 tier (rounding,
   then the float32 kernels). The three variants run interleaved, round by round (the
   order rotates each round), so a busy machine slows them alike. Each round keeps the
   fastest of several calls of a shape (one the scheduler did not interrupt: on a shared
   machine most slow calls are preemptions, not the kernel); the table shows the median
   over rounds of those, in GFLOP/s, and the step line sums the shapes' times.
2. Training: the workers of bench/bench_train.py (one process per framework, the same
   data, initial weights and thread count; epochs round-robin, the order rotating; one
   warm-up epoch then --repeats timed ones; medians), with BENCH_PRECISION telling each
   worker to train under mixed_bfloat16 (see bench/train_worker.py). Ratios are computed
   within the run. Held-out accuracy is printed next to each speed: mixed precision must
   not buy its speed with a worse model.

Targets (issue: "Past the float32 limit"), on a CPU with AVX512_BF16: W1 and W3 under
mixed_bfloat16 at least 1.6x ranvier's own float32, and ahead of torch autocast and of
Keras mixed_bfloat16. The CPU model, its bf16 flags and its L2 size are printed with the
tables. Results: bench/results/bf16-<date>.json (gitignored).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bench_train as BT  # noqa: E402
import train_workloads as TW  # noqa: E402

VARIANTS = [("ranvier", "float32"), ("ranvier", "mixed_bfloat16"), ("torch", "mixed_bfloat16"),
            ("keras", "mixed_bfloat16")]
F32_PEERS = [("torch", "float32"), ("keras", "float32")]


def cpu_info():
    info = BT.machine_info()
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = line
                    break
    except OSError:
        pass
    info["avx512_bf16"] = " avx512_bf16" in flags
    info["avx512f"] = " avx512f" in flags
    l2 = None
    try:
        with open("/sys/devices/system/cpu/cpu0/cache/index2/size") as f:
            l2 = f.read().strip()
    except OSError:
        pass
    info["l2_per_core"] = l2
    return info


# ============================================================================ GEMM A/B
def gemm_shapes(name):
    """(label, ta, tb, m, n, k) of the GEMMs of one training step of a workload."""
    w = TW.WORKLOADS[name]
    dims, b = w["dims"], w["batch"]
    out = []
    for i in range(len(dims) - 1):
        fin, fout = dims[i], dims[i + 1]
        out.append((f"L{i + 1} x@W", False, False, b, fout, fin))
        out.append((f"L{i + 1} X^T@dZ", True, False, fin, fout, b))
        if i > 0:
            out.append((f"L{i + 1} dZ@W^T", False, True, b, fin, fout))
    return out


def run_gemm_ab(workloads, threads, rounds, log):
    import numpy as np

    import ranvier
    from ranvier import _core, _runtime
    ranvier.set_num_threads(threads)
    best = ranvier.isa()
    variants = [("f32", _core._sgemm_full, best)]
    if best == "avx512bf16":
        variants += [("bf16 native", _core._bgemm_full, "avx512bf16"), ("bf16 emulated", _core._bgemm_full, "avx512")]
    else:
        log(f"  (this CPU/build has no avx512bf16 tier: only the emulated bf16 GEMM, on {best})")
        variants += [("bf16 emulated", _core._bgemm_full, best)]
    rng = np.random.default_rng(0)
    rows = []
    try:
        for name in workloads:
            shapes = gemm_shapes(name)
            flops = {s[0]: 2.0 * s[3] * s[4] * s[5] for s in shapes}
            ops = {}
            for label, ta, tb, m, n, k in shapes:
                a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
                bb = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
                ops[label] = (a, bb, np.zeros((m, n), np.float32), ta, tb)
            times = {(lab, v[0]): [] for lab in ops for v in variants}
            total = {v[0]: [] for v in variants}
            reps = max(5, int(4e8 // max(flops.values())))  # calls of each shape per round
            for rnd in range(rounds):
                k0 = rnd % len(variants)
                for vname, fn, isa in variants[k0:] + variants[:k0]:
                    _runtime._force_isa(isa)
                    step = 0.0
                    for lab, (a, bb, c, ta, tb) in ops.items():
                        fn(a, bb, c, ta, tb, 1.0, 0.0, None, False, threads)  # warm
                        dt = float("inf")
                        for _ in range(reps):  # the fastest call of the round: a call the
                            t0 = time.perf_counter()  # scheduler did not interrupt
                            fn(a, bb, c, ta, tb, 1.0, 0.0, None, False, threads)
                            dt = min(dt, time.perf_counter() - t0)
                        times[(lab, vname)].append(dt)
                        step += dt
                    total[vname].append(step)
            for lab in ops:
                r = [f"{name} {lab}", f"{ops[lab][0].shape}x{ops[lab][1].shape}"]
                for vname, _, _ in variants:
                    r.append(flops[lab] / statistics.median(times[(lab, vname)]) / 1e9)
                rows.append(r)
            step_flops = sum(flops.values())
            r = [f"{name} step (all GEMMs)", ""]
            for vname, _, _ in variants:
                r.append(step_flops / statistics.median(total[vname]) / 1e9)
            rows.append(r)
    finally:
        _runtime._force_isa(best)
    header = ["GEMM", "A x B"] + [f"{v[0]} GFLOP/s" for v in variants]
    if len(variants) == 3:
        header.append("native/f32")
        header.append("emulated/f32")
        for r in rows:
            r.append(r[3] / r[2])
            r.append(r[4] / r[2])
    return header, rows


# ============================================================================ training
def run_training_ab(workloads, threads, repeats, quick, rows, with_f32_peers, log_dir, timeout, log):
    variants = VARIANTS + (F32_PEERS if with_f32_peers else [])
    workers = []
    for fw, prec in variants:
        workers.append(BT.Worker(fw, False, threads, log_dir, timeout, precision=prec,
                                 tag="+bf16" if prec == "mixed_bfloat16" else ""))
    for w in workers:
        w.info = w.recv(timeout=300)
        if not w.info.get("ready"):
            w.error = w.info.get("error") or w.error
            log(f"  [skip] {w.label}: {w.error}")
            w.close()
    live = [w for w in workers if w.alive]
    results = {}
    try:
        for name in workloads:
            n, n_test = (TW.QUICK_N[name] if quick else (TW.WORKLOADS[name]["n"], TW.WORKLOADS[name]["n_test"]))
            if name in rows:
                n = rows[name]
            res = {}
            BT.run_training(live, name, n, n_test, repeats, res, log)
            results[name] = res
    finally:
        for w in workers:
            w.close()
    return results


def training_table(results, threads):
    rows = []
    for name, res in results.items():
        base = res.get("ranvier", {}).get("samples_per_s")
        mixed = res.get("ranvier+bf16", {}).get("samples_per_s")
        for label, e in res.items():
            if "samples_per_s" not in e:
                rows.append([name, threads, label, "error", "", "", "", e.get("error", "")[:60]])
                continue
            sps = e["samples_per_s"]
            rows.append([name, threads, label, BT.fmt(sps), BT.fmt(e["gflops"]),
                         BT.fmt(sps / base) if base else "-",
                         BT.fmt(mixed / sps) if mixed else "-", BT.score_str(e.get("score", {}))])
    header = ["workload", "threads", "framework", "samples/s", "GFLOP/s", "x ranvier f32",
              "ranvier bf16 / this", "held-out"]
    return header, rows


def targets(results, threads):
    out = []
    for name, res in results.items():
        mixed = res.get("ranvier+bf16", {}).get("samples_per_s")
        f32 = res.get("ranvier", {}).get("samples_per_s")
        if not (mixed and f32):
            continue
        out.append([name, threads, "bf16 >= 1.6x ranvier f32", BT.fmt(mixed / f32), "ok" if mixed >= 1.6 * f32 else "MISS"])
        for peer in ("torch+bf16", "keras+bf16"):
            p = res.get(peer, {}).get("samples_per_s")
            if p:
                out.append([name, threads, f"bf16 ahead of {peer}", BT.fmt(mixed / p), "ok" if mixed > p else "MISS"])
    return ["workload", "threads", "target", "ratio", ""], out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--workloads", nargs="+", default=["W1", "W3"], choices=["W1", "W2", "W3"])
    ap.add_argument("--repeats", type=int, default=3, help="timed epochs per framework (median)")
    ap.add_argument("--gemm-rounds", type=int, default=7, help="interleaved rounds of the GEMM A/B")
    ap.add_argument("--quick", action="store_true", help="small data: a smoke test, not a measurement")
    ap.add_argument("--rows", nargs="*", default=[], metavar="WL=N",
                    help="train on the first N rows of a workload (e.g. W3=4096), to bound the run time")
    ap.add_argument("--gemm-only", action="store_true")
    ap.add_argument("--no-gemm", action="store_true")
    ap.add_argument("--with-f32-peers", action="store_true", help="also PyTorch and Keras in float32")
    ap.add_argument("--timeout", type=float, default=3600.0)
    ap.add_argument("--out", default=None, help="JSON path (default bench/results/bf16-<date>.json)")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats = min(args.repeats, 1)
        args.gemm_rounds = min(args.gemm_rounds, 3)

    def log(msg):
        print(msg, flush=True)

    machine = cpu_info()
    log(f"CPU: {machine['cpu']}  avx512f={machine['avx512f']} avx512_bf16={machine['avx512_bf16']}  "
        f"L2/core={machine['l2_per_core']}  cores={machine['cores']}  load={machine['loadavg_start']}")
    if not machine["avx512_bf16"]:
        log("NOTE: no AVX512_BF16 on this CPU: mixed_bfloat16 runs the emulated path (no speed-up expected)")
    out = {"machine": machine, "args": vars(args), "date": _dt.datetime.now().isoformat(), "runs": {}}
    log_dir = tempfile.mkdtemp(prefix="bench_bf16_")
    for t in args.threads:
        run = out["runs"].setdefault(str(t), {})
        if not args.no_gemm:
            log(f"\n== GEMM A/B, {t} thread(s), {args.gemm_rounds} interleaved rounds")
            header, rows = run_gemm_ab(args.workloads, t, args.gemm_rounds, log)
            run["gemm"] = {"header": header, "rows": rows}
            log(BT.table([[BT.fmt(c) if isinstance(c, float) else c for c in r] for r in rows], header,
                         title=f"GEMM A/B, {t} thread(s)"))
        if args.gemm_only:
            continue
        log(f"\n== training, {t} thread(s)")
        rows = {k: int(float(v)) for k, v in (spec.split("=") for spec in args.rows)}
        res = run_training_ab(args.workloads, t, args.repeats, args.quick, rows, args.with_f32_peers, log_dir,
                              args.timeout, log)
        run["training"] = res
        header, rows = training_table(res, t)
        log(BT.table(rows, header, title=f"Training, {t} thread(s)"))
        th, tr = targets(res, t)
        log(BT.table(tr, th, title=f"Targets, {t} thread(s)"))
    machine["loadavg_end"] = os.getloadavg()
    path = args.out or os.path.join(HERE, "results", f"bf16-{_dt.date.today().isoformat()}.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(out, f, indent=1, default=str)
    log(f"\nresults: {path}  (worker logs: {log_dir})")


if __name__ == "__main__":
    main()
