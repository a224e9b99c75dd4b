// runtime/pool: ranvier's own worker threads, built to survive a busy machine.
//
// A parallel operation is cut into a fixed number of chunks (a partition that is a
// function of the problem and the team size only). The calling thread publishes the job
// and starts claiming chunks at once; idle workers claim the rest from one atomic
// counter. So:
// - a worker that has lost its core (a CPU-bound neighbour process) never holds the call
//   up unless it is inside a chunk: the chunks it did not start are taken over by
//   whoever is running, the caller included (there is no fork/join barrier to reach);
// - waits are bounded: an idle worker spins for RANVIER_SPIN_US microseconds, then sleeps
//   in the kernel; a caller waiting for a chunk in progress spins briefly, then sleeps
//   too, so its core is free for the thread it waits for;
// - each (operation kind, work size class) keeps a running estimate of what the team
//   buys: the caller's own chunk times give the serial cost of a job, compared with the
//   job's wall time. Where the team stops paying (in a window of 16 jobs, fewer than half
//   at least min_gain = 1.1x faster than one thread, e.g. because a worker keeps being
//   descheduled mid-chunk, or the work is too small), that class runs on the calling
//   thread alone for a back-off period (50 ms, doubling up to 2 s while it keeps failing),
//   then is probed again (the probe's first job, which wakes the sleeping workers, is not
//   judged);
// - the same judgement over all classes together, over windows of 10 ms of parallel wall
//   time, puts every class on the calling thread (the same back-off): a worker that keeps
//   losing its core is a property of the machine's load, not of one operation, and one long
//   stall fails the window at once, while short ones are weighed against the gain.
//
// Results never depend on which thread runs a chunk or on the team size: every chunk
// writes its own outputs, and every reduction runs in a fixed order over fixed chunks
// (see the callers). The adaptive rule therefore changes speed, never bits.
#pragma once

#include <cstdint>

namespace ranvier {

// What kind of operation a job is: each kind (and size class) learns separately whether
// the team pays.
enum class PoolSite : int { gemm = 0, rows = 1, elementwise = 2, optimizer = 3, other = 4 };

namespace pool_detail {

using ChunkFn = void (*)(const void* ctx, std::int64_t chunk);

// Runs fn(ctx, c) for every c in [0, chunks) on the calling thread and up to threads - 1
// pool workers (see the header comment). Runs everything on the calling thread when
// threads <= 1, chunks <= 1, when called from a pool worker or while another thread's job
// holds the pool, or while the adaptive rule has this (site, cost) class on one thread.
// `cost` sizes the class (FLOPs, floats: any measure growing with the work).
// Rethrows the first exception a chunk threw, after every chunk has finished.
void run_chunks(std::int64_t chunks, int threads, PoolSite site, double cost, ChunkFn fn, const void* ctx);

// Knobs for tests and benchmarks (not a public API; not thread-safe to change while jobs run).
struct PoolTuning {
  int chunks_per_thread;       // chunks per team member for elementwise/row/optimizer work
  int gemm_chunks_per_thread;  // the same for the GEMM driver (each chunk repacks its panels)
  bool adaptive;               // the back-off rule (RANVIER_ADAPTIVE_THREADS=0 turns it off)
  double min_gain;             // the team must be this much faster than one thread
  int spin_us;                 // spinning before sleeping (RANVIER_SPIN_US)
  int test_jitter_us;          // tests: workers sleep a pseudo-random 0..N us before each claim
};
PoolTuning& pool_tuning();
PoolTuning pool_default_tuning();

struct PoolStats {
  long long jobs_parallel;    // jobs published to the team
  long long jobs_serial;      // jobs with threads > 1 that the adaptive rule ran on one thread
  long long chunks_by_workers;
  long long chunks_by_caller;
  long long backoffs;         // times a class (or, after a stall, every class) was put on one thread
  long long stalls;           // jobs that waited far longer than their serial estimate
};
PoolStats pool_stats();
void reset_pool_stats();
// Forgets what the adaptive rule learned (every class starts on the full team again).
void reset_pool_adaptation();
// The pool's worker threads started so far.
int pool_workers();

}  // namespace pool_detail

// body(c) for every chunk c in [0, chunks), on up to `threads` threads (see run_chunks).
template <class F>
void parallel_chunks(std::int64_t chunks, int threads, PoolSite site, double cost, const F& body) {
  pool_detail::run_chunks(
      chunks, threads, site, cost, [](const void* ctx, std::int64_t c) { (*static_cast<const F*>(ctx))(c); },
      &body);
}

}  // namespace ranvier
