"""Training benchmark: ranvier vs NumPy, PyTorch, Keras 3 (TensorFlow) and scikit-learn, in one run.

    python bench/bench_train.py                  # W1-W5 at 1 and 2 threads (about 15-25 min here)
    python bench/bench_train.py --quick          # smoke test on small data, < 60 s
    python bench/bench_train.py --threads 1 --workloads W1 W4 --frameworks ranvier torch
    python bench/bench_train.py --cpp --plot docs/img/bench_train.png   # + C++ predict, + plot

Workloads (bench/train_workloads.py has the definitions, data and teacher):
  W1 60000x784, 784-256-128-10 relu/softmax, sparse CE, Adam 1e-3, batch 128
  W2 50000x32, 32-64-64-1 relu, MSE, SGD momentum 0.9 lr 0.01, batch 32
  W3 16384x1024, 1024-2048-2048-10 relu/softmax, categorical CE, Adam, batch 512
  W4 the trained W1 model: 1-sample predict latency, batch-1024 predict throughput
  W5 W1 with BatchNormalization + Dropout(0.2) after each hidden layer, AdamW (wd 0.004)

Method. Every framework runs in its own worker process (bench/train_worker.py) with the
same thread count (environment variables + each library's own call + threadpoolctl). The
driver sends "run one epoch" to each worker in turn, round-robin (the order rotates every
round), so load from other processes hits every framework alike; each worker first runs
one warm-up epoch, then --repeats timed epochs (default 3); the table shows medians. An
"epoch" is one pass over the whole training set (Keras: an epoch inside one fit call;
sklearn: one partial_fit). Peers also run as a "+ftz" variant with flush-to-zero and
denormals-are-zero set in all their threads (see train_worker.py for how), and the ratio
targets are checked against the best peer variant. GFLOP/s counts the exact matmul work of
training (2*m*n*k per GEMM: forward, dW, and dX for all but the first layer). After the
same epochs, each model's held-out score is printed next to its speed, and ranvier is
flagged if it learned worse than the peers beyond test-set noise (each framework shuffles
its own way, so near chance level, as W3 is after a few epochs, a single run can also miss
by the spread of training itself). The sharp check is the same-batches control: fresh
ranvier and NumPy-reference models train on the same 20 batches from the same weights, and
their losses must agree to 1e-4 relative. Results go to
bench/results/train-<date>.json (gitignored).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import train_workloads as TW  # noqa: E402

from train_report import ALL_FRAMEWORKS, FTZ_PEERS, MB, PEERS, SAME_TOL, TRAIN_WORKLOADS  # noqa: E402,F401


# ============================================================================ workers
class Worker:
    def __init__(self, framework, ftz, threads, log_dir, timeout, precision="float32", tag="",
                 script="train_worker.py"):
        self.framework, self.ftz, self.threads = framework, ftz, threads
        self.label = framework + ("+ftz" if ftz else "") + tag
        self.timeout = timeout
        env = dict(os.environ)
        for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "BLIS_NUM_THREADS",
                  "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                  "TF_NUM_INTEROP_THREADS", "BENCH_THREADS"):
            env[k] = str(threads)
        env["TF_CPP_MIN_LOG_LEVEL"] = "2"
        env["KERAS_BACKEND"] = "tensorflow"
        env["PYTHONUNBUFFERED"] = "1"
        env["BENCH_PRECISION"] = precision
        self.log_path = os.path.join(log_dir, f"{self.label}-t{threads}.log")
        self.log = open(self.log_path, "w")
        cmd = [sys.executable, os.path.join(HERE, script), framework] + (["--ftz"] if ftz else [])
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                  env=env, text=True, bufsize=1, cwd=ROOT)
        self.alive = True
        self.info = None
        self.error = None

    def send(self, **msg):
        if not self.alive:
            return
        try:
            self.p.stdin.write(json.dumps(msg) + "\n")
            self.p.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            self._die(f"pipe closed: {e}")

    def recv(self, timeout=None):
        if not self.alive:
            return {"error": self.error or "worker not running"}
        sel = selectors.DefaultSelector()
        sel.register(self.p.stdout, selectors.EVENT_READ)
        ready = sel.select(timeout or self.timeout)
        sel.close()
        if not ready:
            self._die(f"no answer within {timeout or self.timeout:.0f} s")
            return {"error": self.error}
        line = self.p.stdout.readline()
        if not line:
            self._die(f"worker exited (code {self.p.poll()}); see {self.log_path}")
            return {"error": self.error}
        return json.loads(line)

    def call(self, **msg):
        self.send(**msg)
        return self.recv()

    def _die(self, why):
        self.alive = False
        self.error = why
        try:
            self.p.kill()
        except OSError:
            pass

    def close(self):
        if self.alive:
            try:
                self.send(cmd="quit")
                self.p.wait(timeout=30)
            except Exception:
                self.p.kill()
        self.alive = False
        self.log.close()


# The frameworks that train under --precision mixed_bfloat16 (the others stay float32).
MIXED_FRAMEWORKS = ("ranvier", "torch", "keras")


def start_workers(frameworks, ftz, threads, log_dir, timeout, precision="float32"):
    ws = []
    for fw in frameworks:
        ws.append(Worker(fw, False, threads, log_dir, timeout,
                         precision=precision if fw in MIXED_FRAMEWORKS else "float32"))
        if ftz and fw in FTZ_PEERS:
            ws.append(Worker(fw, True, threads, log_dir, timeout))
    for w in ws:
        w.info = w.recv(timeout=300)
        if not w.info.get("ready"):
            w.error = w.info.get("error") or w.error
            print(f"  [skip] {w.label}: {w.error}", flush=True)
            w.close()
    return [w for w in ws if w.alive]


def broadcast(workers, **msg):
    """Sends msg to all workers at once (they work in parallel), then collects the replies."""
    for w in workers:
        w.send(**msg)
    return {w.label: w.recv() for w in workers}


# ============================================================================ stats
from train_report import (  # noqa: E402,F401 - fmt, table, ... are also used by bench_bf16.py
    median, fmt, table, best_peer, score_str, accuracy_flag, report, targets_table, scaling_table, markdown, machine_info, plot, MD_SECTIONS)


def run_training(workers, name, n, n_test, repeats, res, log):
    units = 1 + repeats
    replies = broadcast(workers, cmd="setup", workload=name, n=n, n_test=n_test, units=units)
    live = []
    for w in workers:
        r = replies[w.label]
        entry = res.setdefault(w.label, {})
        if "error" in r:
            entry["error"] = r["error"]
            log(f"  [fail] {w.label} {name} setup: {r['error']}")
            continue
        entry["setup"] = r
        entry["unit_seconds"], entry["loss"] = [], []
        live.append(w)
    if name == "W1":
        broadcast(live, cmd="mem_reset")
    order = list(live)
    for rnd in range(units):
        k = rnd % max(1, len(order))
        for w in order[k:] + order[:k]:
            if "error" in res[w.label]:
                continue
            time.sleep(0.05)  # let the previous worker's spinning threads go to sleep
            r = w.call(cmd="unit")
            if "error" in r:
                res[w.label]["error"] = r["error"]
                log(f"  [fail] {w.label} {name} epoch: {r['error']}")
                continue
            if rnd == 0:
                res[w.label]["warmup_seconds"] = r["seconds"]
            else:
                res[w.label]["unit_seconds"].append(r["seconds"])
            res[w.label]["loss"].append(r["loss"])
        done = ", ".join(f"{w.label} {res[w.label]['unit_seconds'][-1] if rnd else res[w.label].get('warmup_seconds', float('nan')):.3g}s"
                         for w in order if "error" not in res[w.label])
        log(f"  {name} {'warm-up' if rnd == 0 else f'epoch {rnd}/{repeats}'}: {done}")
    live = [w for w in live if "error" not in res[w.label]]
    if name == "W1":
        for lab, r in broadcast(live, cmd="mem").items():
            res[lab]["mem"] = r
    for lab, r in broadcast(live, cmd="eval").items():
        res[lab]["score"] = r
    same_batches(live, res, log)
    flops = TW.flops_per_sample(TW.WORKLOADS[name]["dims"])
    for w in live:
        e = res[w.label]
        s = median(e["unit_seconds"])
        e["seconds"] = s
        e["samples_per_s"] = n / s
        e["gflops"] = n * flops / s / 1e9
    return live


# The same-batches control: ranvier and the NumPy reference (a hand-written forward,
# backward and optimizer, run in float64) train fresh models from the same initial weights
# on the same SAME_STEPS batches; their losses must agree step by step to float32 rounding
# (about 1e-7 relative on W1 and W2). A wrong gradient, update or loss moves them apart by
# far more than SAME_TOL within a few steps. The reference is float64 because W3's first
# Adam steps are unstable (the loss jumps from 2.35 to 6.9) and amplify rounding: the same
# NumPy code in float32 drifted 4.8e-4 from its float64 run in 4 steps, ranvier 5e-6.
# This is the sharp check that speed was not bought with wrong results; the held-out scores
# after the timed epochs (each framework with its own shuffling) are the coarse one.
SAME_STEPS = 20


def same_batches(live, res, log):
    pair = [w for w in live if w.label in ("ranvier", "numpy")]
    if len(pair) != 2:
        return
    r = broadcast(pair, cmd="same_batches", steps=SAME_STEPS, seed=TW.SEED + 1)
    if any("error" in r[w.label] for w in pair):
        log(f"  [fail] same-batches control: {r}")
        return
    a, b = r["ranvier"]["losses"], r["numpy"]["losses"]
    rel = max(abs(x - y) / max(abs(y), 1e-12) for x, y in zip(a, b))
    res["ranvier"]["same_batches"] = {"steps": len(a), "max_rel_diff": rel, "ok": rel <= SAME_TOL,
                                      "last_loss": a[-1], "numpy_last_loss": b[-1]}


def run_w4(workers, rounds, budget, res, log):
    lat = {w.label: [] for w in workers}
    thr = {w.label: [] for w in workers}
    for rnd in range(rounds):
        k = rnd % max(1, len(workers))
        for w in workers[k:] + workers[:k]:
            r = w.call(cmd="latency", budget=budget)
            if "error" not in r:
                lat[w.label].append(r)
            r = w.call(cmd="throughput", batch=1024, reps=5)
            if "error" not in r:
                thr[w.label].append(r)
    for w in workers:
        if not lat[w.label]:
            continue
        variants = {}
        for v in lat[w.label][0]:
            variants[v] = median([r[v]["us"] for r in lat[w.label] if v in r])
        bvariants = {}
        for v in (thr[w.label][0] if thr[w.label] else {}):
            bvariants[v] = 1024 / median([r[v]["seconds"] for r in thr[w.label] if v in r])
        best = min(variants, key=variants.get)
        bbest = max(bvariants, key=bvariants.get) if bvariants else None
        res[w.label] = {"latency_us": variants, "best_latency": best, "latency_best_us": variants[best],
                        "batch1024_samples_per_s": bvariants, "best_batch": bbest,
                        "batch_best_samples_per_s": bvariants.get(bbest) if bbest else None}
        # ranvier's target is about `predict` itself, not the fastest of its entry points
        if w.framework == "ranvier" and "predict" in variants:
            res[w.label]["latency_target_us"] = variants["predict"]
    log("  W4: " + ", ".join(f"{lab} {r['latency_best_us']:.1f}us" for lab, r in res.items()))


def run_gemm_probe(workers, res, m=512, k=2048, n=2048):
    for w in workers:
        if w.framework in ("ranvier", "numpy", "torch"):
            r = w.call(cmd="gemm", m=m, k=k, n=n, reps=5)
            if "error" not in r:
                res[w.label] = r["gflops"]


def build_cpp(log):
    """Builds the core (Release, as installed) under build/bench-cpp-core, installs it into
    build/bench-cpp-core/prefix, and builds bench/cpp against it (find_package(ranvier)).
    Returns the program's path, or None when a step fails (W4's C++ row then says so)."""
    core = os.path.join(ROOT, "build", "bench-cpp-core")
    prefix = os.path.join(core, "prefix")
    bdir = os.path.join(ROOT, "build", "bench-cpp")
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    cmds = [["cmake", "-S", ROOT, "-B", core, "-DCMAKE_BUILD_TYPE=Release", "-DRANVIER_INSTALL=ON"]
            + (gen if not os.path.exists(os.path.join(core, "Makefile")) else []),
            ["cmake", "--build", core, "-j2"],
            ["cmake", "--install", core, "--prefix", prefix],
            ["cmake", "-S", os.path.join(HERE, "cpp"), "-B", bdir, "-DCMAKE_BUILD_TYPE=Release",
             f"-DCMAKE_PREFIX_PATH={prefix}"] + (gen if not os.path.exists(os.path.join(bdir, "Makefile")) else []),
            ["cmake", "--build", bdir, "-j2", "--target", "bench_predict"]]
    env = dict(os.environ)
    if shutil.which("ccache"):
        env.setdefault("CMAKE_CXX_COMPILER_LAUNCHER", "ccache")
        env.setdefault("CCACHE_BASEDIR", ROOT)
    log("  building the C++ predict timing program (bench/cpp) ...")
    for c in cmds:
        p = subprocess.run(c, capture_output=True, text=True, env=env)
        if p.returncode:
            log(f"  [C++] build failed ({' '.join(c[:3])}): {p.stdout[-800:]}{p.stderr[-800:]}")
            return None
    return os.path.join(bdir, "bench_predict")


def run_cpp(exe, ranvier_worker, threads, tmp, log):
    model = os.path.join(tmp, f"w1-t{threads}.safetensors")
    r = ranvier_worker.call(cmd="save", path=model)
    if "error" in r:
        log(f"  [C++] save failed: {r['error']}")
        return {"error": r["error"]}
    import numpy as np
    x, _ = TW.make_data("W1", 1024, "test")
    inp = os.path.join(tmp, "w1-rows.f32")
    x.astype("<f4").tofile(inp)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    runs = []
    for _ in range(3):
        p = subprocess.run([exe, model, inp, str(threads), "0.5"], capture_output=True, text=True, env=env)
        if p.returncode:
            return {"error": p.stderr.strip()[-500:]}
        runs.append(json.loads(p.stdout))
    del np
    out = {"single_us": median([r["single_us"] for r in runs]),
           "batch1024_samples_per_s": 1024 / median([r["batch_s"] for r in runs])}
    if all("read_us" in r for r in runs):  # one core's time to read the weights once
        out["read_us"] = median([r["read_us"] for r in runs])
    return out


# ============================================================================ report
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: small data, 1 thread, no +ftz variants, < 60 s on an idle machine")
    ap.add_argument("--threads", type=int, nargs="+", default=None, help="thread counts (default 1 2)")
    ap.add_argument("--workloads", nargs="+", default=None, choices=TRAIN_WORKLOADS + ["W4"])
    ap.add_argument("--frameworks", nargs="+", default=None, choices=ALL_FRAMEWORKS)
    ap.add_argument("--no-ftz", action="store_true", help="skip the peers' flush-to-zero variants")
    ap.add_argument("--repeats", type=int, default=None,
                    help="timed epochs per framework, median reported (default 3; --quick: 2)")
    ap.add_argument("--rows", nargs="*", default=[], metavar="WL=N",
                    help="train on the first N rows of a workload's data, e.g. W3=8192 (documented deviation)")
    ap.add_argument("--cpp", action="store_true", help="build and time the C++ API predict (bench/cpp)")
    ap.add_argument("--json", default=None, help="results file (default bench/results/train-<date>.json)")
    ap.add_argument("--plot", default=None, help="write a PNG plot of samples/s here")
    ap.add_argument("--markdown", default=None, help="also write the tables as Markdown here")
    ap.add_argument("--timeout", type=float, default=900, help="seconds a worker may take per command")
    ap.add_argument("--precision", default="float32", choices=["float32", "mixed_bfloat16"],
                    help="mixed_bfloat16: ranvier and Keras under that policy, PyTorch under "
                         "torch.autocast('cpu', dtype=torch.bfloat16); NumPy and sklearn stay float32 "
                         "(bench/bench_bf16.py puts ranvier float32 and mixed side by side)")
    args = ap.parse_args(argv)

    quick = args.quick
    threads = args.threads or ([1] if quick else [1, 2])
    workloads = args.workloads or (TRAIN_WORKLOADS + ["W4"])
    frameworks = args.frameworks or ALL_FRAMEWORKS
    repeats = max(1, args.repeats if args.repeats is not None else (2 if quick else 3))
    sizes = {}
    for name in TRAIN_WORKLOADS:
        sizes[name] = TW.QUICK_N[name] if quick else (TW.WORKLOADS[name]["n"], TW.WORKLOADS[name]["n_test"])
    for spec in args.rows:
        k, v = spec.split("=")
        sizes[k] = (int(float(v)), sizes[k][1])
    train_wls = [w for w in TRAIN_WORKLOADS if w in workloads]
    if "W4" in workloads and "W1" not in train_wls:
        train_wls.insert(0, "W1")  # W4 uses the trained W1 model

    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    res_dir = os.path.join(HERE, "results")
    os.makedirs(res_dir, exist_ok=True)
    log_dir = os.path.join(res_dir, f"logs-{stamp}")
    os.makedirs(log_dir, exist_ok=True)
    json_path = args.json or os.path.join(res_dir, f"train-{stamp}{'-quick' if quick else ''}.json")
    tmp = tempfile.mkdtemp(prefix="bench_train_")

    t_start = time.time()

    def log(msg):
        if msg.startswith("  ") and not msg.startswith("   "):
            msg = f"[{time.time() - t_start:6.1f}s]" + msg[1:]
        print(msg, flush=True)

    results = {"date": _dt.datetime.now().isoformat(timespec="seconds"), "quick": quick, "precision": args.precision,
               "argv": sys.argv[1:], "machine": machine_info(), "repeats": repeats,
               "sizes": {k: {"n": v[0], "n_test": v[1]} for k, v in sizes.items()},
               "flops_per_sample": {k: TW.flops_per_sample(TW.WORKLOADS[k]["dims"]) for k in TRAIN_WORKLOADS},
               "versions": {}, "runs": {}}
    log(f"bench_train: {results['machine']['cpu']}, {results['machine']['cores']} cores, "
        f"threads {threads}, workloads {workloads}, frameworks {frameworks}"
        f"{' (quick: small data)' if quick else ''}")
    exe = build_cpp(log) if args.cpp and "W4" in workloads else None

    for T in threads:
        log(f"\n--- {T} thread(s): starting workers")
        if args.precision != "float32":
            log(f"precision: {args.precision} for {', '.join(MIXED_FRAMEWORKS)} (labels unchanged)")
        workers = start_workers(frameworks, not (args.no_ftz or quick), T, log_dir, args.timeout, args.precision)
        for w in workers:
            results["versions"][w.label] = w.info.get("versions", {})
            w.info["mxcsr_at_start"] = w.info.get("mxcsr")
        run = results["runs"].setdefault(str(T), {})
        run["mxcsr"] = {w.label: w.info.get("mxcsr") for w in workers}
        try:
            for name in train_wls:
                n, n_test = sizes[name]
                log(f"  {name}: {n} rows, {len(workers)} workers")
                run[name] = {}
                live = run_training(workers, name, n, n_test, repeats, run[name], log)
                if name == "W1" and "W4" in workloads:
                    run["W4"] = {}
                    run_w4(live, 1 if quick else 5, 0.05 if quick else 0.4, run["W4"], log)
                    rw = next((w for w in live if w.framework == "ranvier"), None)
                    if args.cpp and rw is not None:
                        run["W4"]["cpp"] = run_cpp(exe, rw, T, tmp, log) if exe else {"error": "C++ build failed"}
                if name == "W3":
                    run["gemm_probe"] = {}
                    run_gemm_probe(live, run["gemm_probe"])
                workers = [w for w in workers if w.alive]
        finally:
            for w in workers:
                w.close()
        with open(json_path, "w") as f:  # partial results after each thread count
            json.dump(results, f, indent=1, default=str)

    results["machine"]["loadavg_end"] = os.getloadavg()
    results["elapsed_s"] = time.time() - t_start
    text = report(results, args, log)
    results["report"] = text
    with open(json_path, "w") as f:
        json.dump(results, f, indent=1, default=str)
    log(f"\nresults: {json_path}  (worker logs: {log_dir}); {results['elapsed_s']:.0f} s")
    if args.markdown:
        markdown(args.markdown)
        log(f"  markdown tables: {args.markdown}")
    if args.plot:
        plot(results, args.plot, log)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
