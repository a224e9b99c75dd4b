"""Tabular benchmark: a wide-and-deep model with embeddings, ranvier vs PyTorch and Keras 3.

    python bench/bench_tabular.py                 # 1 and 2 threads, 100k rows, 3 timed epochs
    python bench/bench_tabular.py --quick         # smoke test on 8192 rows, 1 thread
    python bench/bench_tabular.py --threads 1 --frameworks ranvier torch --markdown t.md

Data: examples/tabular_data.py (the table examples/train_tabular.py trains on): 8 numeric
columns on very different scales and three categorical id columns (1000, 100 and 20
levels, Zipf-skewed), a binary label drawn from a known function with id x numeric and
id x id interactions (Bernoulli noise; the generating probability's held-out AUC is printed
as the ceiling). 100000 training rows, 20000 held-out rows, the same arrays in every worker.

The model, written in each framework (bench/tabular_worker.py): the numeric columns through
Normalization (adapted on the training rows), each id column through Embedding (16, 8 and 4
wide) + Flatten, Concatenate (36 features), Dense 64 relu, Dense 32 relu, Dense 1 sigmoid;
binary cross-entropy, Adam lr 1e-3 (eps 1e-7), batch 256, shuffled each epoch. ranvier and
Keras 3 run the same functional-API code (dict inputs, int64 ids); PyTorch eager is an
nn.Module with one nn.Embedding per column, tuned (fused Adam, index_select batches,
BCEWithLogitsLoss). All three start from the same initial weights.

Method (as bench/bench_train.py's): one worker process per framework with the same thread
count; the driver asks each worker in turn for one epoch, round-robin with the order rotating
each round, so load from other processes hits every framework alike; one warm-up epoch,
then --repeats timed epochs; medians. Keras's epoch is timed inside one fit call (its own
epoch, no per-fit set-up). After the same epochs each model predicts the held-out rows and
the driver prints AUC (exact), accuracy and log loss; "same held-out score" means ranvier's
AUC is at most max(0.01, 2 * sqrt(2) * SE) below the worst peer's (SE: Hanley-McNeil
standard error of the AUC on the held-out rows). Results go to
bench/results/tabular-<date>.json (gitignored).
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "examples"))
import bench_train as BT  # noqa: E402
import tabular_data as TD  # noqa: E402
from train_report import fmt, machine_info, markdown, median, table  # noqa: E402

FRAMEWORKS = ["ranvier", "torch", "keras"]
BATCH = 256
FULL = (100_000, 20_000)
QUICK = (8192, 4096)
TARGETS = {"torch": 2.0, "keras": 3.0}  # ranvier's samples/s over the peer's, at least


def run_threads(frameworks, threads, n, n_test, repeats, log_dir, timeout, log):
    """Trains every framework 1 + repeats epochs, interleaved; returns {label: result}."""
    workers = []
    for fw in frameworks:
        w = BT.Worker(fw, False, threads, log_dir, timeout, script="tabular_worker.py")
        workers.append(w)
    res = {}
    for w in workers:
        w.info = w.recv(timeout=300)
        if not w.info.get("ready"):
            res[w.label] = {"error": w.info.get("error") or w.error}
            log(f"  [skip] {w.label}: {res[w.label]['error']}")
            w.close()
    workers = [w for w in workers if w.alive]
    try:
        replies = BT.broadcast(workers, cmd="setup", n=n, n_test=n_test, units=1 + repeats, batch=BATCH)
        live = []
        for w in workers:
            r = replies[w.label]
            res[w.label] = {"versions": w.info.get("versions", {})}
            if "error" in r:
                res[w.label]["error"] = r["error"]
                log(f"  [fail] {w.label} setup: {r['error']}\n{r.get('trace', '')}")
                continue
            res[w.label].update(unit_seconds=[], loss=[])
            live.append(w)
        for rnd in range(1 + repeats):
            k = rnd % max(1, len(live))
            for w in live[k:] + live[:k]:
                e = res[w.label]
                if "error" in e:
                    continue
                time.sleep(0.05)  # let the previous worker's spinning threads go to sleep
                r = w.call(cmd="unit")
                if "error" in r:
                    e["error"] = r["error"]
                    log(f"  [fail] {w.label} epoch: {r['error']}\n{r.get('trace', '')}")
                    continue
                if rnd == 0:
                    e["warmup_seconds"] = r["seconds"]
                else:
                    e["unit_seconds"].append(r["seconds"])
                e["loss"].append(r["loss"])
            done = ", ".join(f"{w.label} {res[w.label]['unit_seconds'][-1] if rnd else res[w.label]['warmup_seconds']:.3g}s"
                             for w in live if "error" not in res[w.label])
            log(f"  {'warm-up' if rnd == 0 else f'epoch {rnd}/{repeats}'}: {done}")
        live = [w for w in live if "error" not in res[w.label]]
        for lab, r in BT.broadcast(live, cmd="eval").items():
            res[lab]["score"] = r
        for w in live:
            e = res[w.label]
            e["seconds"] = median(e["unit_seconds"])
            e["samples_per_s"] = n / e["seconds"]
    finally:
        for w in workers:
            w.close()
    return res


def auc_se(auc, n_pos, n_neg):
    """Hanley-McNeil standard error of an AUC from n_pos positives and n_neg negatives."""
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    v = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)) / (n_pos * n_neg)
    return math.sqrt(max(v, 0.0))


def report(results, log):
    out = []
    ref = results["reference"]
    for T in sorted(results["runs"], key=int):
        run = results["runs"][T]
        r_sps = run.get("ranvier", {}).get("samples_per_s")
        rows = []
        for lab in FRAMEWORKS:
            e = run.get(lab)
            if e is None:
                continue
            if "samples_per_s" not in e:
                rows.append([lab, "-", "-", "-", "-", "-", "-", "error: " + str(e.get("error", "?"))[:60]])
                continue
            sc = e.get("score", {})
            ratio = "" if lab == "ranvier" or not r_sps else f"{r_sps / e['samples_per_s']:.2f}x"
            rows.append([lab, fmt(e["seconds"]), fmt(e["samples_per_s"]), ratio,
                         f"{sc['auc']:.4f}" if "auc" in sc else "-",
                         f"{sc['accuracy']:.4f}" if "accuracy" in sc else "-",
                         f"{sc['log_loss']:.4f}" if "log_loss" in sc else "-",
                         "" if sc.get("finite", True) else "NON-FINITE"])
        rows.append(["(generating probability)", "", "", "", f"{ref['auc']:.4f}", f"{ref['accuracy']:.4f}",
                     f"{ref['log_loss']:.4f}", "the ceiling"])
        out.append(f"\n=== threads = {T} ===")
        out.append(table(rows, ["framework", "s/epoch", "samples/s", "ranvier/x", "held-out AUC", "accuracy",
                                "log loss", ""], title=f"Tabular wide-and-deep, {T} thread(s)"))
        trows = []
        for peer, need in TARGETS.items():
            e = run.get(peer, {})
            if r_sps and e.get("samples_per_s"):
                got = r_sps / e["samples_per_s"]
                trows.append([f"vs {peer}", f"{got:.2f}x", f">= {need}x", "PASS" if got >= need else "FAIL"])
            else:
                trows.append([f"vs {peer}", "-", f">= {need}x", "n/a"])
        r_auc = run.get("ranvier", {}).get("score", {}).get("auc")
        peers = [run[p]["score"]["auc"] for p in TARGETS if "auc" in run.get(p, {}).get("score", {})]
        if r_auc is not None and peers:
            worst = min(peers)
            tol = max(0.01, 2 * math.sqrt(2) * auc_se(worst, ref["n_pos"], ref["n_neg"]))
            run["auc_check"] = {"ranvier": r_auc, "worst_peer": worst, "tolerance": tol, "ok": r_auc >= worst - tol}
            trows.append(["same held-out AUC", f"{r_auc:.4f}", f">= {worst:.4f} - {tol:.3f}",
                          "PASS" if r_auc >= worst - tol else "FAIL"])
        out.append(f"targets at {T} thread(s):\n" + table(trows, ["target", "measured", "needed", ""],
                                                             title=f"Tabular targets, {T} thread(s)"))
    if len(results["runs"]) > 1:
        Ts = sorted(results["runs"], key=int)
        rows = []
        for lab in FRAMEWORKS:
            v = [results["runs"][T].get(lab, {}).get("samples_per_s") for T in Ts]
            if any(v):
                rows.append([lab] + [fmt(x) if x else "-" for x in v]
                            + [f"{v[-1] / v[0]:.2f}x" if v[0] and v[-1] else "-"])
        out.append("\nscaling (samples/s):\n" + table(rows, ["framework"] + [f"{T} thr" for T in Ts]
                                                      + [f"{Ts[-1]}/{Ts[0]}"], title="Tabular scaling (samples/s)"))
    text = "\n".join(out)
    log(text)
    return text


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke test: 8192 rows, 1 thread, 1 timed epoch")
    ap.add_argument("--threads", type=int, nargs="+", default=None, help="thread counts (default 1 2)")
    ap.add_argument("--frameworks", nargs="+", default=None, choices=FRAMEWORKS)
    ap.add_argument("--repeats", type=int, default=None, help="timed epochs, median reported (default 3; --quick: 1)")
    ap.add_argument("--rows", type=int, default=None, help="training rows (default 100000; --quick: 8192)")
    ap.add_argument("--json", default=None, help="results file (default bench/results/tabular-<date>.json)")
    ap.add_argument("--markdown", default=None, help="also write the tables as Markdown here")
    ap.add_argument("--timeout", type=float, default=900, help="seconds a worker may take per command")
    args = ap.parse_args(argv)

    threads = args.threads or ([1] if args.quick else [1, 2])
    frameworks = args.frameworks or FRAMEWORKS
    repeats = max(1, args.repeats if args.repeats is not None else (1 if args.quick else 3))
    n, n_test = QUICK if args.quick else FULL
    n = args.rows or n

    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    res_dir = os.path.join(HERE, "results")
    log_dir = os.path.join(res_dir, f"logs-tabular-{stamp}")
    os.makedirs(log_dir, exist_ok=True)
    json_path = args.json or os.path.join(res_dir, f"tabular-{stamp}{'-quick' if args.quick else ''}.json")
    t_start = time.time()

    def log(msg):
        if msg.startswith("  ") and not msg.startswith("   "):
            msg = f"[{time.time() - t_start:6.1f}s]" + msg[1:]
        print(msg, flush=True)

    m = machine_info()
    (_, _), (xt, yt) = TD.load_data(1, n_test)
    p = TD.true_probability(xt)
    t = yt.reshape(-1) > 0.5
    pc = p.clip(1e-7, 1 - 1e-7)
    ref = {"auc": TD.roc_auc(t, p), "accuracy": float(((p > 0.5) == t).mean()), "n_pos": int(t.sum()),
           "n_neg": int((~t).sum()), "log_loss": float(-np.mean(np.where(t, np.log(pc), np.log(1 - pc))))}
    results = {"date": _dt.datetime.now().isoformat(timespec="seconds"), "argv": sys.argv[1:], "machine": m,
               "n": n, "n_test": n_test, "batch": BATCH, "repeats": repeats, "reference": ref, "runs": {}}
    log(f"bench_tabular: {m['cpu']}; {m['cores']} logical CPUs; L2 per core {m['l2_per_core']}; "
        f"flags {' '.join(m['simd_flags']) or '-'}; load {m['loadavg_start'][0]:.2f}")
    log(f"  {n} training rows, {n_test} held-out, batch {BATCH}, 1 warm-up + {repeats} timed epochs; "
        f"threads {threads}; frameworks {frameworks}")
    for T in threads:
        log(f"\n--- {T} thread(s)")
        results["runs"][str(T)] = run_threads(frameworks, T, n, n_test, repeats, log_dir, args.timeout, log)
        with open(json_path, "w") as f:  # partial results after each thread count
            json.dump(results, f, indent=1, default=str)
    results["machine"]["loadavg_end"] = os.getloadavg()
    results["elapsed_s"] = time.time() - t_start
    results["report"] = report(results, log)
    with open(json_path, "w") as f:
        json.dump(results, f, indent=1, default=str)
    log(f"\nresults: {json_path}  (worker logs: {log_dir}); {results['elapsed_s']:.0f} s")
    if args.markdown:
        markdown(args.markdown)
        log(f"  markdown tables: {args.markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
