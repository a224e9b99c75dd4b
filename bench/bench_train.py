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
import platform
import selectors
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import train_workloads as TW  # noqa: E402

PEERS = ["numpy", "torch", "keras", "sklearn"]
FTZ_PEERS = ["numpy", "torch", "sklearn"]          # TensorFlow sets FTZ itself
ALL_FRAMEWORKS = ["ranvier"] + PEERS
TRAIN_WORKLOADS = ["W1", "W2", "W3", "W5"]
MB = 1024 * 1024


# ============================================================================ workers
class Worker:
    def __init__(self, framework, ftz, threads, log_dir, timeout, precision="float32", tag=""):
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
        cmd = [sys.executable, os.path.join(HERE, "train_worker.py"), framework] + (["--ftz"] if ftz else [])
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
def median(v):
    return statistics.median(v) if v else float("nan")


def fmt(x, nd=3):
    if x is None or x != x:
        return "-"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.{nd}g}" if abs(x) < 1 else f"{x:.2f}"


MD_SECTIONS = []  # (title, header, rows) of every table printed, for --markdown


def table(rows, header, title=None):
    if title:
        MD_SECTIONS.append((title, header, rows))
    cols = [header] + rows
    widths = [max(len(str(r[i])) for r in cols) for i in range(len(header))]
    out = []
    for j, r in enumerate(cols):
        out.append("  ".join(str(c).rjust(widths[i]) if i else str(c).ljust(widths[i]) for i, c in enumerate(r)))
        if j == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


# ============================================================================ runs
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
# backward and optimizer) train fresh models from the same initial weights on the same
# SAME_STEPS batches; their losses must agree step by step to float32 rounding. Two
# implementations of the same arithmetic differ by about 1e-7 relative here (summation
# orders); a wrong gradient, update or loss moves them apart by far more than SAME_TOL
# within a few steps. This is the sharp check that speed was not bought with wrong
# results; the held-out scores after the timed epochs (each framework with its own
# shuffling) are the coarse one.
SAME_STEPS, SAME_TOL = 20, 1e-4


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
    return {"single_us": median([r["single_us"] for r in runs]),
            "batch1024_samples_per_s": 1024 / median([r["batch_s"] for r in runs])}


# ============================================================================ report
def best_peer(res_wl, frameworks):
    """(label, samples/s) of the fastest variant among the given peer frameworks."""
    cands = [(lab, e["samples_per_s"]) for lab, e in res_wl.items()
             if lab.split("+")[0] in frameworks and "samples_per_s" in e]
    return max(cands, key=lambda c: c[1]) if cands else (None, None)


def score_str(sc):
    if not sc or "error" in sc:
        return "-"
    if "accuracy" in sc:
        return f"acc {sc['accuracy']:.4f}"
    return f"mse {sc['mse']:.4f} (R2 {sc['r2']:.3f})"


def accuracy_flag(res_wl, name, n_test):
    """Flags ranvier when its held-out score is worse than EVERY peer's beyond noise:
    accuracy more than max(0.01, 2 binomial standard errors) below the worst peer's;
    MSE more than 20% (+1e-4) above the worst peer's. (Near chance level, as W3 is after
    a few epochs, the peers' own spread is that large too.)"""
    r = res_wl.get("ranvier", {}).get("score")
    peers = [e["score"] for lab, e in res_wl.items() if lab != "ranvier" and "score" in e and "error" not in e["score"]]
    if not r or "error" in r or not peers:
        return None
    if "accuracy" in r:
        ref = min(p["accuracy"] for p in peers)
        se = (max(ref * (1 - ref), 1e-4) / n_test) ** 0.5
        tol = max(0.01, 2 * se)
        return {"ranvier": r["accuracy"], "worst_peer": ref, "tolerance": tol,
                "ok": r["accuracy"] >= ref - tol}
    ref = max(p["mse"] for p in peers)
    return {"ranvier": r["mse"], "worst_peer": ref, "tolerance": "20%", "ok": r["mse"] <= ref * 1.2 + 1e-4}


def report(results, args, log):
    out = []
    runs = results["runs"]
    for T in sorted(runs, key=int):
        run = runs[T]
        out.append(f"\n=== threads = {T} ===")
        rows = []
        for name in TRAIN_WORKLOADS:
            if name not in run:
                continue
            rw = run[name]
            r_sps = rw.get("ranvier", {}).get("samples_per_s")
            for lab, e in rw.items():
                if "samples_per_s" not in e:
                    rows.append([name, lab, "-", "-", "-", "-", "error: " + str(e.get("error", "?"))[:60]])
                    continue
                ratio = "" if lab == "ranvier" or not r_sps else f"{r_sps / e['samples_per_s']:.2f}x"
                rows.append([name, lab, fmt(e["seconds"]), fmt(e["samples_per_s"]), fmt(e["gflops"]),
                             ratio, score_str(e.get("score"))])
        out.append(table(rows, ["wl", "framework", "s/epoch", "samples/s", "GFLOP/s", "ranvier/x",
                                "held-out"], title=f"Training, {T} thread(s)"))
        if "W4" in run:
            rows = []
            w4 = run["W4"]
            rl = w4.get("ranvier", {}).get("latency_target_us")
            rb = w4.get("ranvier", {}).get("batch_best_samples_per_s")
            for lab, e in w4.items():
                if lab == "cpp":
                    continue
                lat = e["latency_best_us"] if lab != "ranvier" else e.get("latency_target_us", e["latency_best_us"])
                rows.append([lab, fmt(lat), e["best_latency"] if lab != "ranvier" else "predict",
                             "" if lab == "ranvier" or not rl else f"{lat / rl:.1f}x",
                             fmt(e.get("batch_best_samples_per_s")), e.get("best_batch") or "-",
                             "" if lab == "ranvier" or not rb or not e.get("batch_best_samples_per_s")
                             else f"{rb / e['batch_best_samples_per_s']:.2f}x"])
            if "cpp" in w4:
                c = w4["cpp"]
                if "error" in c:
                    rows.append(["ranvier C++ API", "-", c["error"][:40], "", "", "", ""])
                else:
                    rows.append(["ranvier C++ API", fmt(c["single_us"]), "Model::predict", "",
                                 fmt(c["batch1024_samples_per_s"]), "Model::predict", ""])
            out.append("\nW4 (trained W1 model): 1-sample latency (median us) and batch-1024 predict")
            out.append(table(rows, ["framework", "1-sample us", "fastest path", "x/ranvier",
                                    "b1024 samples/s", "fastest path", "ranvier/x"],
                             title=f"W4 predict, {T} thread(s)"))
        if "gemm_probe" in run and run["gemm_probe"]:
            gp = run["gemm_probe"]
            out.append("\nsgemm probe (512x2048 @ 2048x2048), GFLOP/s: " +
                       ", ".join(f"{k} {v:.1f}" for k, v in gp.items()))
            if "W3" in run and "gflops" in run["W3"].get("ranvier", {}):
                best = max(gp.values())
                out.append(f"ranvier W3 training GFLOP/s = {run['W3']['ranvier']['gflops']:.1f} "
                           f"= {100 * run['W3']['ranvier']['gflops'] / best:.0f}% of the best sgemm")
        if "W1" in run and "mem" in run["W1"].get("ranvier", {}):
            e = run["W1"]["ranvier"]
            data = e["setup"]["data_bytes"]
            base = e["setup"]["rss_before_data_kb"] * 1024
            peak = e["mem"]["hwm_kb"] * 1024
            lim = base + data + 64 * MB
            out.append(f"\nmemory (ranvier worker, W1 fit): peak RSS {peak / MB:.0f} MB; before the data "
                       f"{base / MB:.0f} MB + data {data / MB:.0f} MB + 64 MB = {lim / MB:.0f} MB -> "
                       f"{'OK' if peak <= lim else 'OVER'} (fit adds {(peak - base - data) / MB:.0f} MB)")
            others = ", ".join(f"{lab} {v['mem']['hwm_kb'] / 1024:.0f} MB" for lab, v in run["W1"].items()
                               if lab != "ranvier" and "mem" in v)
            if others:
                out.append(f"  peers' peak RSS during W1: {others}")
        flags = []
        for name in TRAIN_WORKLOADS:
            if name in run:
                f = accuracy_flag(run[name], name, results["sizes"][name]["n_test"])
                if f is not None:
                    run.setdefault("accuracy_check", {})[name] = f
                    flags.append(f"{name} {'ok' if f['ok'] else 'WORSE'} (ranvier {f['ranvier']:.4f}, "
                                 f"worst peer {f['worst_peer']:.4f})")
        if flags:
            out.append("\naccuracy check: " + "; ".join(flags))
        out.append("\n" + targets_table(run, T))
    if len(runs) > 1:
        out.append("\n" + scaling_table(runs))
    text = "\n".join(out)
    log(text)
    return text


def targets_table(run, T):
    rows = []

    def ratio(name, frameworks):
        rw = run.get(name, {})
        r = rw.get("ranvier", {}).get("samples_per_s")
        lab, s = best_peer(rw, frameworks)
        return (r / s, lab) if r and s else (None, None)

    def add(what, got, need, higher=True, peer=None):
        if got is None:
            rows.append([what, "-", need, "n/a"])
            return
        ok = got >= need if higher else got <= need
        rows.append([what + (f" [{peer}]" if peer else ""), f"{got:.2f}", f"{'>=' if higher else '<='} {need}",
                     "PASS" if ok else "FAIL"])

    g, lab = ratio("W1", ["torch"]); add("W1 vs PyTorch", g, 2.0, peer=lab)
    g, lab = ratio("W1", PEERS); add("W1 vs best peer", g, 1.3, peer=lab)
    g, lab = ratio("W2", ["numpy"]); add("W2 vs NumPy", g, 5.0, peer=lab)
    g, lab = ratio("W2", ["torch"]); add("W2 vs PyTorch", g, 20.0, peer=lab)
    g, lab = ratio("W3", ["torch"]); add("W3 vs PyTorch", g, 1.1, peer=lab)
    for name in TRAIN_WORKLOADS:
        g, lab = ratio(name, ["keras"]); add(f"{name} vs Keras", g, 3.0, peer=lab)
    w4 = run.get("W4", {})
    rl = w4.get("ranvier", {}).get("latency_target_us")
    if rl:
        np_lat = min([e["latency_best_us"] for lab, e in w4.items() if lab.startswith("numpy")] or [None])
        if np_lat:
            add("W4 predict time / NumPy's", rl / np_lat, 0.25, higher=False)
        k_lat = min([e["latency_best_us"] for lab, e in w4.items() if lab.startswith("keras")] or [None])
        if k_lat:
            add("W4 predict vs Keras (speed-up)", k_lat / rl, 10.0)
        rb = w4["ranvier"].get("batch_best_samples_per_s")
        tb = max([e.get("batch_best_samples_per_s") or 0 for lab, e in w4.items() if lab.startswith("torch")] or [0])
        if rb and tb:
            add("W4 batch-1024 vs PyTorch", rb / tb, 1.1)
    c = w4.get("cpp", {})
    if "single_us" in c:
        add("W4 C++ 1-sample predict (us)", c["single_us"], 6.0, higher=False)
    elif w4:
        rows.append(["W4 C++ 1-sample predict (us)", "pending", "<= 6", "n/a"])
    e = run.get("W1", {}).get("ranvier", {})
    if "mem" in e:
        over = (e["mem"]["hwm_kb"] * 1024 - e["setup"]["rss_before_data_kb"] * 1024 - e["setup"]["data_bytes"]) / MB
        add("W1 fit memory above data (MB)", over, 64.0, higher=False)
    for name, f in run.get("accuracy_check", {}).items():
        rows.append([f"{name} ranvier learned as well", f"{f['ranvier']:.4f}", f"worst peer {f['worst_peer']:.4f}",
                     "PASS" if f["ok"] else "FAIL"])
    for name in TRAIN_WORKLOADS:
        sb = run.get(name, {}).get("ranvier", {}).get("same_batches")
        if sb:
            rows.append([f"{name} same {sb['steps']} batches as NumPy's (max rel. loss diff)", f"{sb['max_rel_diff']:.1e}",
                         f"<= {SAME_TOL:.0e}", "PASS" if sb["ok"] else "FAIL"])
    return f"targets at {T} thread(s):\n" + table(rows, ["target", "measured", "needed", ""],
                                                    title=f"Targets, {T} thread(s)")


def scaling_table(runs):
    rows = []
    Ts = sorted(runs, key=int)
    for name in TRAIN_WORKLOADS:
        labs = []
        for T in Ts:
            for lab in runs[T].get(name, {}):
                if lab not in labs:
                    labs.append(lab)
        for lab in labs:
            v = [runs[T].get(name, {}).get(lab, {}).get("samples_per_s") for T in Ts]
            sc = f"{v[-1] / v[0]:.2f}x" if v[0] and v[-1] else "-"
            rows.append([name, lab] + [fmt(x) if x else "-" for x in v] + [sc])
    for lab in sorted({l for T in Ts for l in runs[T].get("W4", {}) if l != "cpp"}):
        v = [runs[T].get("W4", {}).get(lab, {}).get("batch_best_samples_per_s") for T in Ts]
        sc = f"{v[-1] / v[0]:.2f}x" if v[0] and v[-1] else "-"
        rows.append(["W4 b1024", lab] + [fmt(x) if x else "-" for x in v] + [sc])
    return ("scaling (samples/s; last column = highest / lowest thread count):\n" +
            table(rows, ["wl", "framework"] + [f"{T} thr" for T in Ts] + [f"{Ts[-1]}/{Ts[0]}"],
                  title="Scaling (samples/s)"))


def markdown(path):
    """The tables of this run as Markdown (for the README's Performance section)."""
    out = []
    for title, header, rows in MD_SECTIONS:
        out.append(f"**{title}**\n")
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
        for r in rows:
            out.append("| " + " | ".join(str(c).replace("|", "/") for c in r) + " |")
        out.append("")
    with open(path, "w") as f:
        f.write("\n".join(out))


def machine_info():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        flags = open("/proc/cpuinfo").read()
        isa = "avx512f" if " avx512f" in flags else ("avx2" if " avx2" in flags else "sse")
    except OSError:
        isa = "?"
    return {"cpu": cpu, "cpu_flags_best": isa, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "loadavg_start": os.getloadavg()}


def plot(results, path, log):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("  (no matplotlib: no plot; pip install matplotlib)")
        return
    runs = results["runs"]
    Ts = sorted(runs, key=int)
    fig, axes = plt.subplots(1, len(Ts), figsize=(5.2 * len(Ts), 3.6), squeeze=False, sharey=True)
    colors = {"ranvier": "#d62728", "numpy": "#1f77b4", "torch": "#ff7f0e", "keras": "#2ca02c", "sklearn": "#9467bd"}
    wls = TRAIN_WORKLOADS + ["W4"]
    for ax, T in zip(axes[0], Ts):
        run = runs[T]
        fws = ["ranvier"] + PEERS
        width = 0.8 / len(fws)
        for j, fw in enumerate(fws):
            vals = []
            for name in wls:
                rw = run.get(name, {})
                key = "batch_best_samples_per_s" if name == "W4" else "samples_per_s"
                v = [e.get(key) for lab, e in rw.items() if lab.split("+")[0] == fw and isinstance(e, dict) and e.get(key)]
                vals.append(max(v) if v else 0)
            xs = [i + (j - (len(fws) - 1) / 2) * width for i in range(len(wls))]
            ax.bar(xs, vals, width, label=fw, color=colors[fw])
        ax.set_yscale("log")
        ax.set_xticks(range(len(wls)))
        ax.set_xticklabels([f"{n} train" if n != "W4" else "W4 predict\nbatch 1024" for n in wls], fontsize=8)
        ax.set_title(f"{T} thread{'s' if T != '1' else ''}", fontsize=10)
        ax.grid(axis="y", alpha=0.3, which="both")
    axes[0][0].set_ylabel("samples/s (log; best variant)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="center right")
    m = results["machine"]
    fig.suptitle(f"MLP training and predict throughput, {m['cpu']}, {m['cores']} cores ({results['date'][:10]})",
                 fontsize=9)
    fig.tight_layout(rect=(0, 0, 0.86, 1))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=80)
    log(f"  plot: {path} ({os.path.getsize(path) // 1024} KB)")


# ============================================================================ main
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
