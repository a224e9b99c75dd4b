// The worker pool (see pool.h for the design and the measurements it rests on).
//
// Protocol. One 64-bit word, state_, holds (generation << 32 | next chunk). The caller,
// holding submit_, writes the job's descriptor (release stores), then publishes
// (generation + 1, 0). A worker that sees a new generation reads the descriptor (acquire
// loads) and claims chunks with compare-and-swap on state_, only while the word still
// carries the generation it read and the next chunk is below the job's count. When the
// job is over the caller stores (generation, kClosed) before it writes the next
// descriptor, so a late worker holding a stale generation cannot claim anything, and one
// that read a newer descriptor finds the generation changed. done_ counts finished
// chunks; the caller returns when it reaches the job's count, so nothing a worker touches
// outlives the call.
#include "runtime/pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__)
#include <immintrin.h>
#define RANVIER_POOL_X86 1
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#define RANVIER_POOL_ATFORK 1
#endif

namespace ranvier {
namespace pool_detail {

namespace {

using Clock = std::chrono::steady_clock;
inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

inline void cpu_relax() {
#ifdef RANVIER_POOL_X86
  _mm_pause();
#endif
}

int env_int(const char* name, int dflt, int lo, int hi) {
  const char* s = std::getenv(name);
  if (!s || !*s) return dflt;
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0') return dflt;
  return static_cast<int>(std::min<long>(std::max<long>(v, lo), hi));
}

constexpr std::uint64_t kClosed = 0xFFFFFFFFull;
inline std::uint32_t gen_of(std::uint64_t s) { return static_cast<std::uint32_t>(s >> 32); }
inline std::uint64_t idx_of(std::uint64_t s) { return s & 0xFFFFFFFFull; }
inline std::uint64_t make_state(std::uint32_t g, std::uint64_t i) { return (static_cast<std::uint64_t>(g) << 32) | i; }

// What the team bought for one (site, size class), over the current window of jobs.
struct ClassStats {
  double est_serial_ns = 0;  // sum over jobs: caller's mean chunk time x chunks
  double wall_ns = 0;        // sum over jobs: wall time
  int jobs = 0;
  int paying = 0;  // jobs whose own estimate beat min_gain x their wall time
  bool warm = false;  // a parallel job ran since the last back-off
  std::int64_t serial_until_ns = 0;
  std::int64_t backoff_ns = 0;  // 0: not backing off
};
constexpr int kSites = 5, kBuckets = 48;
constexpr int kWindowJobs = 16;
constexpr double kWindowNs = 2.0e6;
constexpr std::int64_t kFirstBackoffNs = 50'000'000, kMaxBackoffNs = 2'000'000'000;

// Set on pool workers for good, and on a caller for the duration of its job: a parallel
// operation started from inside a chunk runs on its thread alone (never waits for the pool).
thread_local bool tl_is_worker = false;

struct InJob {
  InJob() { tl_is_worker = true; }
  ~InJob() { tl_is_worker = false; }
  InJob(const InJob&) = delete;
  InJob& operator=(const InJob&) = delete;
};

std::atomic<long long> s_jobs_parallel{0}, s_jobs_serial{0}, s_chunks_workers{0}, s_chunks_caller{0},
    s_backoffs{0}, s_stalls{0};

// All classes together, judged over kMachineWindowNs of parallel wall time: one long stall
// (a worker that lost its core inside a chunk) fails the window at once, and puts every
// class on one thread; short ones are weighed against what the team gained meanwhile.
constexpr double kMachineWindowNs = 10.0e6;
// For the statistics only: a job whose wall time exceeds kStallFactor x its serial
// estimate plus kStallSlackNs (a worker lost its core inside a chunk, or woke far too late).
constexpr double kStallFactor = 2.0;
constexpr double kStallSlackNs = 200'000.0;

class Pool {
 public:
  void run(std::int64_t chunks, int threads, PoolSite site, double cost, ChunkFn fn, const void* ctx);
  int workers() const { return n_workers_.load(std::memory_order_relaxed); }
  void reset_adaptation() {
    std::lock_guard<std::mutex> lk(submit_);
    for (auto& row : classes_)
      for (auto& c : row) c = ClassStats{};
    machine_ = ClassStats{};
  }

 private:
  void worker_main(int index, std::uint32_t seen);
  int ensure_workers(int n);
  void run_chunk(ChunkFn fn, const void* ctx, std::int64_t c) {
    try {
      fn(ctx, c);
    } catch (...) {
      std::lock_guard<std::mutex> lk(error_mu_);
      if (!error_) error_ = std::current_exception();
    }
  }
  ClassStats& class_of(PoolSite site, double cost) {
    int b = 0;
    while (b + 1 < kBuckets && cost >= 2.0) {
      cost *= 0.5;
      ++b;
    }
    return classes_[static_cast<int>(site) % kSites][b];
  }

  std::mutex submit_;  // one job at a time; held by the job's caller
  std::vector<std::thread> threads_;
  std::atomic<int> n_workers_{0};

  std::atomic<std::uint64_t> state_{make_state(0, kClosed)};
  std::atomic<ChunkFn> fn_{nullptr};
  std::atomic<const void*> ctx_{nullptr};
  std::atomic<std::int64_t> total_{0};
  std::atomic<int> team_workers_{0};  // workers with index < this join the job
  std::atomic<int> spin_us_{0}, jitter_us_{0};  // the tuning's, copied by each caller (workers never read the tuning)
  std::atomic<std::int64_t> done_{0};

  std::mutex sleep_mu_;
  std::condition_variable workers_cv_, caller_cv_;
  std::atomic<int> sleepers_{0};
  std::atomic<bool> caller_waiting_{false};

  std::mutex error_mu_;
  std::exception_ptr error_;

  ClassStats classes_[kSites][kBuckets];
  // All classes together: a descheduled worker is a property of the machine's load, not of
  // one operation, so when the team stops paying overall every class goes to one thread.
  ClassStats machine_;
};

// Starts workers until there are n; returns how many there are (fewer when the system
// refuses a thread: the jobs then run with the workers that exist, or on the caller).
int Pool::ensure_workers(int n) {  // under submit_
  const std::uint32_t g = gen_of(state_.load(std::memory_order_relaxed));
  while (static_cast<int>(threads_.size()) < n) {
    const int index = static_cast<int>(threads_.size());
    try {
      threads_.emplace_back([this, index, g] { worker_main(index, g); });
    } catch (const std::exception&) {
      break;
    }
    threads_.back().detach();  // workers live as long as the process (never joined)
    n_workers_.store(static_cast<int>(threads_.size()), std::memory_order_relaxed);
  }
  return static_cast<int>(threads_.size());
}

void Pool::worker_main(int index, std::uint32_t seen) {
  tl_is_worker = true;
#ifdef RANVIER_POOL_X86
  _mm_setcsr(_mm_getcsr() | 0x8040u);  // FTZ | DAZ for good: these threads only run ranvier's chunks
#endif
  std::uint64_t rng = 0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(index + 1);
  for (;;) {
    std::uint64_t s = state_.load(std::memory_order_acquire);
    if (gen_of(s) == seen) {
      // Bounded spinning, then sleep until a new generation is published.
      const std::int64_t spin_ns = static_cast<std::int64_t>(spin_us_.load(std::memory_order_relaxed)) * 1000;
      const std::int64_t t0 = now_ns();
      bool fresh = false;
      while (now_ns() - t0 < spin_ns) {
        for (int i = 0; i < 32; ++i) cpu_relax();
        if (gen_of(state_.load(std::memory_order_acquire)) != seen) {
          fresh = true;
          break;
        }
      }
      if (!fresh) {
        std::unique_lock<std::mutex> lk(sleep_mu_);
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        while (gen_of(state_.load(std::memory_order_seq_cst)) == seen) workers_cv_.wait(lk);
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
      }
      continue;
    }
    seen = gen_of(s);
    if (index >= team_workers_.load(std::memory_order_acquire)) continue;  // not in this job's team
    const ChunkFn fn = fn_.load(std::memory_order_acquire);
    const void* ctx = ctx_.load(std::memory_order_acquire);
    const std::int64_t total = total_.load(std::memory_order_acquire);
    const int jitter = jitter_us_.load(std::memory_order_acquire);
    for (;;) {
      if (jitter > 0) {  // tests: a worker that loses its core at random moments
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::this_thread::sleep_for(std::chrono::microseconds(rng % static_cast<std::uint64_t>(jitter + 1)));
      }
      std::uint64_t cur = state_.load(std::memory_order_acquire);
      if (gen_of(cur) != seen || idx_of(cur) >= static_cast<std::uint64_t>(total)) break;
      if (!state_.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel, std::memory_order_acquire))
        continue;
      run_chunk(fn, ctx, static_cast<std::int64_t>(idx_of(cur)));
      s_chunks_workers.fetch_add(1, std::memory_order_relaxed);
      if (done_.fetch_add(1, std::memory_order_seq_cst) + 1 == total &&
          caller_waiting_.load(std::memory_order_seq_cst)) {
        { std::lock_guard<std::mutex> lk(sleep_mu_); }
        caller_cv_.notify_one();
      }
    }
  }
}

void Pool::run(std::int64_t chunks, int threads, PoolSite site, double cost, ChunkFn fn, const void* ctx) {
  std::unique_lock<std::mutex> submit(submit_, std::defer_lock);
  // (more chunks than the 32-bit counter holds never happens: callers make a few per thread)
  const bool parallel = threads > 1 && chunks > 1 && chunks < 0x7FFFFFFF && !tl_is_worker && submit.try_lock();
  const PoolTuning& tune = pool_tuning();
  ClassStats* cls = nullptr;
  if (parallel && tune.adaptive) {
    cls = &class_of(site, cost);
    const std::int64_t now = now_ns();
    if ((cls->serial_until_ns != 0 && now < cls->serial_until_ns) ||
        (machine_.serial_until_ns != 0 && now < machine_.serial_until_ns)) {
      s_jobs_serial.fetch_add(1, std::memory_order_relaxed);
      submit.unlock();
      for (std::int64_t c = 0; c < chunks; ++c) fn(ctx, c);
      return;
    }
  }
  if (!parallel) {
    for (std::int64_t c = 0; c < chunks; ++c) fn(ctx, c);
    return;
  }
  InJob in_job;
  if (ensure_workers(threads - 1) == 0) {  // no thread could be started: run here
    submit.unlock();
    for (std::int64_t c = 0; c < chunks; ++c) fn(ctx, c);
    return;
  }
  s_jobs_parallel.fetch_add(1, std::memory_order_relaxed);

  const std::uint32_t g = gen_of(state_.load(std::memory_order_relaxed)) + 1;
  fn_.store(fn, std::memory_order_release);
  ctx_.store(ctx, std::memory_order_release);
  total_.store(chunks, std::memory_order_release);
  team_workers_.store(threads - 1, std::memory_order_release);
  spin_us_.store(tune.spin_us, std::memory_order_relaxed);
  jitter_us_.store(tune.test_jitter_us, std::memory_order_release);
  done_.store(0, std::memory_order_relaxed);
  const std::int64_t t0 = now_ns();
  state_.store(make_state(g, 0), std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    { std::lock_guard<std::mutex> lk(sleep_mu_); }
    workers_cv_.notify_all();
  }

  // Claim chunks until none is left; time our own to estimate the job's serial cost.
  std::int64_t mine = 0, mine_ns = 0;
  for (;;) {
    const std::uint64_t cur = state_.fetch_add(1, std::memory_order_acq_rel);
    const std::int64_t c = static_cast<std::int64_t>(idx_of(cur));
    if (c >= chunks) break;
    const std::int64_t tc = now_ns();
    run_chunk(fn, ctx, c);
    mine_ns += now_ns() - tc;
    ++mine;
    done_.fetch_add(1, std::memory_order_seq_cst);
  }
  s_chunks_caller.fetch_add(mine, std::memory_order_relaxed);

  // Chunks still in progress on workers: spin a little, then sleep (freeing this core for
  // the thread we wait for, should it have been descheduled).
  if (done_.load(std::memory_order_acquire) < chunks) {
    const std::int64_t spin_ns = static_cast<std::int64_t>(tune.spin_us) * 500;  // half the workers' spin
    const std::int64_t ts = now_ns();
    while (done_.load(std::memory_order_acquire) < chunks && now_ns() - ts < spin_ns)
      for (int i = 0; i < 16; ++i) cpu_relax();
    if (done_.load(std::memory_order_acquire) < chunks) {
      std::unique_lock<std::mutex> lk(sleep_mu_);
      caller_waiting_.store(true, std::memory_order_seq_cst);
      while (done_.load(std::memory_order_seq_cst) < chunks) caller_cv_.wait(lk);
      caller_waiting_.store(false, std::memory_order_relaxed);
    }
  }
  const std::int64_t wall = now_ns() - t0;
  state_.store(make_state(g, kClosed), std::memory_order_release);

  // A class's first parallel job after a back-off (or ever) is not judged: the workers slept
  // meanwhile, and waking them (tens of microseconds) would fail every probe of a short job,
  // so a class that pays could stay on one thread for good. Later jobs that wake workers are
  // judged: work too sparse to keep them spinning does not pay.
  const bool warm_up = cls && !cls->warm;
  if (cls) cls->warm = true;
  if (cls && mine > 0 && !warm_up) {
    const double est = static_cast<double>(mine_ns) / static_cast<double>(mine) * static_cast<double>(chunks);
    const std::int64_t now = now_ns();
    if (static_cast<double>(wall) > kStallFactor * est + kStallSlackNs) s_stalls.fetch_add(1, std::memory_order_relaxed);
    // A class's window is judged by its jobs' majority (one scheduler hiccup of tens of
    // microseconds in a window of 16 jobs of 4 us each must not fail it: summed, it put the
    // 2-thread single-sample predict on one thread, 9.7 us instead of 6.5); all classes
    // together by the sums over 10 ms, where a long stall weighs what it cost.
    auto judge = [&](ClassStats& st, double window_ns, int window_jobs, bool by_majority) {
      st.est_serial_ns += est;
      st.wall_ns += static_cast<double>(wall);
      if (est >= tune.min_gain * static_cast<double>(wall)) ++st.paying;
      if (++st.jobs < window_jobs && st.wall_ns < window_ns) return;
      const bool failed =
          by_majority ? 2 * st.paying < st.jobs : st.est_serial_ns < tune.min_gain * st.wall_ns;
      if (failed) {  // the team did not pay: one thread for a while
        if (&st != &machine_) {
          st.warm = false;
        } else {
          for (auto& row : classes_)
            for (auto& c : row) c.warm = false;
        }
        st.backoff_ns = st.backoff_ns ? std::min(2 * st.backoff_ns, kMaxBackoffNs) : kFirstBackoffNs;
        st.serial_until_ns = now + st.backoff_ns;
        s_backoffs.fetch_add(1, std::memory_order_relaxed);
      } else {
        st.backoff_ns /= 2;
        if (st.backoff_ns < kFirstBackoffNs) st.backoff_ns = 0;
        st.serial_until_ns = 0;
      }
      st.est_serial_ns = st.wall_ns = 0;
      st.jobs = st.paying = 0;
    };
    judge(*cls, kWindowNs, kWindowJobs, true);
    judge(machine_, kMachineWindowNs, 1 << 30, false);
  }

  std::exception_ptr err;
  {
    std::lock_guard<std::mutex> lk(error_mu_);
    err = error_;
    error_ = nullptr;
  }
  submit.unlock();
  if (err) std::rethrow_exception(err);
}

std::atomic<Pool*> g_pool{nullptr};
std::once_flag g_pool_once;

#ifdef RANVIER_POOL_ATFORK
// A forked child has none of the parent's workers: it starts a fresh pool on first use
// (the parent's is leaked in the child, never touched).
void pool_after_fork_child() { g_pool.store(new Pool()); }
#endif

Pool& pool() {
  std::call_once(g_pool_once, [] {
    g_pool.store(new Pool());  // never destroyed: detached workers may still be sleeping in it at exit
#ifdef RANVIER_POOL_ATFORK
    pthread_atfork(nullptr, nullptr, pool_after_fork_child);
#endif
  });
  return *g_pool.load();
}

}  // namespace

// chunks_per_thread 4 / gemm 1 / min_gain 1.1 / spin 100 us: see docs/performance.md
// ("Busy machines") for the measurements behind them.
PoolTuning pool_default_tuning() {
  return PoolTuning{4, 1, env_int("RANVIER_ADAPTIVE_THREADS", 1, 0, 1) != 0, 1.1,
                    env_int("RANVIER_SPIN_US", 100, 0, 100000), 0};
}

PoolTuning& pool_tuning() {
  static PoolTuning t = pool_default_tuning();
  return t;
}

void run_chunks(std::int64_t chunks, int threads, PoolSite site, double cost, ChunkFn fn, const void* ctx) {
  if (chunks <= 0) return;
  if (threads <= 1 || chunks == 1 || tl_is_worker) {
    for (std::int64_t c = 0; c < chunks; ++c) fn(ctx, c);
    return;
  }
  pool().run(chunks, threads, site, cost, fn, ctx);
}

PoolStats pool_stats() {
  return PoolStats{s_jobs_parallel.load(), s_jobs_serial.load(), s_chunks_workers.load(), s_chunks_caller.load(),
                   s_backoffs.load(), s_stalls.load()};
}

void reset_pool_stats() {
  s_jobs_parallel = 0;
  s_jobs_serial = 0;
  s_chunks_workers = 0;
  s_chunks_caller = 0;
  s_backoffs = 0;
  s_stalls = 0;
}

void reset_pool_adaptation() { pool().reset_adaptation(); }

int pool_workers() {
  Pool* p = g_pool.load();
  return p ? p->workers() : 0;
}

}  // namespace pool_detail
}  // namespace ranvier
