#include "optimizers/optimizer.h"
#include "optimizers/rules.h"
#include "runtime/alloc.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>

#include "dispatch/dispatch.h"
#include "runtime/pool.h"
#include "runtime/runtime.h"


namespace ranvier {

namespace {

constexpr std::int64_t kNormBlock = 2048;  // floats per block of the fixed-order norm reduction
constexpr std::int64_t kChunkAlign = 16;   // thread chunk boundaries: whole cache lines of floats

using optimizer_rules::bad_argument;
using optimizer_rules::format_number;

float* alloc_floats(std::int64_t n, float init) {
  const std::uint64_t raw = alloc_bytes("an optimizer slot", static_cast<std::uint64_t>(std::max<std::int64_t>(n, 1)), 1, sizeof(float));
  const std::size_t bytes = static_cast<std::size_t>((raw + 63) / 64 * 64);
  alloc_check("an optimizer slot", bytes);
  float* p = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (!p) throw AllocError("out of memory allocating an optimizer slot: " + format_bytes(bytes));
  std::fill(p, p + bytes / sizeof(float), init);
  return p;
}

std::atomic<std::int64_t> g_parallel_threshold{Optimizer::kDefaultParallelThreshold};

int threads_for(std::int64_t elements) {
  if (elements < g_parallel_threshold.load(std::memory_order_relaxed)) return 1;
  const int t = get_num_threads();
  return t > 1 ? t : 1;
}

}  // namespace

std::int64_t Optimizer::parallel_threshold() { return g_parallel_threshold.load(std::memory_order_relaxed); }

void Optimizer::set_parallel_threshold(std::int64_t elements) {
  g_parallel_threshold.store(elements > 0 ? elements : kDefaultParallelThreshold, std::memory_order_relaxed);
}

Optimizer::Optimizer(const OptimizerConfig& config) : cfg_(config) { validate(cfg_); }

Optimizer::~Optimizer() {
  for (float* p : bufs_) std::free(p);
}

void Optimizer::validate(const OptimizerConfig& c) {
  const std::string o = optimizer_kind_name(c.kind);
  if (c.schedule.kind == ScheduleKind::constant || c.schedule.kind == ScheduleKind::external) {
    if (!(c.learning_rate >= 0.0f) || !std::isfinite(c.learning_rate))
      bad_argument(o, "learning_rate", "must be a finite number >= 0", c.learning_rate);
  } else {
    validate_schedule(c.schedule);
  }
  for (const auto& [arg, v] : {std::pair<const char*, double>{"weight_decay", c.weight_decay},
                                {"clipnorm", c.clipnorm}, {"clipvalue", c.clipvalue},
                                {"global_clipnorm", c.global_clipnorm}})
    if (!(v >= 0.0)) bad_argument(o, arg, "must be >= 0", v);
  if ((c.clipnorm > 0) + (c.clipvalue > 0) + (c.global_clipnorm > 0) > 1)
    throw std::invalid_argument(o + ": only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: clipnorm=" +
                                format_number(c.clipnorm) + ", clipvalue=" + format_number(c.clipvalue) +
                                ", global_clipnorm=" + format_number(c.global_clipnorm));
  if (!(c.loss_scale_factor >= 0.0)) bad_argument(o, "loss_scale_factor", "must be >= 0", c.loss_scale_factor);
  if (c.use_ema) {
    if (!(c.ema_momentum >= 0.0 && c.ema_momentum <= 1.0))
      bad_argument(o, "ema_momentum", "must be in [0, 1]", c.ema_momentum);
    if (c.ema_overwrite_frequency < 0)
      bad_argument(o, "ema_overwrite_frequency", "must be an integer >= 1 or None",
          static_cast<double>(c.ema_overwrite_frequency));
  }
  if (c.gradient_accumulation_steps != 0 && c.gradient_accumulation_steps < 2)
    bad_argument(o, "gradient_accumulation_steps", "must be an integer >= 2", static_cast<double>(c.gradient_accumulation_steps));
  optimizer_rules::validate_hypers(c);
}

void Optimizer::build(std::int64_t n, std::vector<ParamSegment> segments) {
  const std::string o = optimizer_kind_name(cfg_.kind);
  if (n < 0) throw std::invalid_argument(o + ".build: n must be >= 0, got " + std::to_string(n));
  if (segments.empty() && n > 0) segments.push_back(ParamSegment{0, n, true});
  std::sort(segments.begin(), segments.end(),
            [](const ParamSegment& a, const ParamSegment& b) { return a.offset < b.offset; });
  std::int64_t end = 0;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const auto& s = segments[i];
    if (s.offset < 0 || s.size < 0 || s.offset + s.size > n)
      throw std::invalid_argument(o + ".build: segment " + std::to_string(i) + " (offset " + std::to_string(s.offset) +
                                  ", size " + std::to_string(s.size) + ") is outside the buffer of " +
                                  std::to_string(n) + " floats");
    if (s.offset < end)
      throw std::invalid_argument(o + ".build: segment " + std::to_string(i) + " (offset " + std::to_string(s.offset) +
                                  ") overlaps the previous one (which ends at " + std::to_string(end) + ")");
    end = s.offset + s.size;
  }

  for (float* p : bufs_) std::free(p);
  bufs_.clear();
  slot_ptrs_.clear();
  slot_names_.clear();
  ema_ = acc_ = nullptr;
  built_ = false;

  n_ = n;
  segs_ = std::move(segments);
  runs_seg_.clear();
  runs_merged_.clear();
  blocks_.clear();
  for (std::size_t i = 0; i < segs_.size(); ++i) {
    const auto& s = segs_[i];
    runs_seg_.push_back(Run{s.offset, s.size, static_cast<int>(i)});
    if (!runs_merged_.empty()) {
      Run& last = runs_merged_.back();
      const auto& ls = segs_[static_cast<std::size_t>(last.seg)];
      if (last.offset + last.size == s.offset && ls.weight_decay == s.weight_decay) {
        last.size += s.size;
        continue;
      }
    }
    runs_merged_.push_back(Run{s.offset, s.size, static_cast<int>(i)});
  }
  // Norm blocks: fixed size, never crossing a segment, in order.
  for (std::size_t i = 0; i < segs_.size(); ++i)
    for (std::int64_t b = 0; b < segs_[i].size; b += kNormBlock)
      blocks_.push_back(Block{segs_[i].offset + b, std::min(kNormBlock, segs_[i].size - b), static_cast<int>(i)});
  auto prefix = [](const std::vector<Run>& runs) {
    std::vector<std::int64_t> c(runs.size() + 1, 0);
    for (std::size_t r = 0; r < runs.size(); ++r) c[r + 1] = c[r] + runs[r].size;
    return c;
  };
  cum_seg_ = prefix(runs_seg_);
  cum_merged_ = prefix(runs_merged_);
  partials_.assign(blocks_.size(), 0.0);
  seg_sumsq_.assign(segs_.size(), 0.0);
  stats_.assign(2 * blocks_.size(), 0.0);
  seg_stats_.assign(2 * segs_.size(), 0.0);
  seg_gscale_.assign(segs_.size(), 1.0f);
  run_args_.assign(std::max(runs_seg_.size(), runs_merged_.size()), UpdateArgs{});

  auto add_slot = [&](const char* name, float init) {
    float* p = alloc_floats(n_, init);
    bufs_.push_back(p);
    slot_ptrs_.push_back(p);
    slot_names_.emplace_back(name);
  };
  const auto& c = cfg_;
  optimizer_rules::for_each_slot(c, add_slot);
  if (c.use_ema) {
    ema_ = alloc_floats(n_, 0.0f);
    bufs_.push_back(ema_);
  }
  if (c.gradient_accumulation_steps) {
    acc_ = alloc_floats(n_, 0.0f);
    bufs_.push_back(acc_);
  }
  u_product_ = 1.0;
  built_ = true;
}

template <class Fn>
void Optimizer::for_pieces(const std::vector<Run>& runs, const std::vector<std::int64_t>& cum, Fn&& fn) const {
  const std::int64_t total = cum.back();
  if (total == 0) return;
  const int nt = threads_for(total);
  auto work = [&](int t, int T) {
    auto cut = [&](int k) {
      if (k >= T) return total;
      const std::int64_t x = total * k / T;
      return std::min(total, (x / kChunkAlign) * kChunkAlign);
    };
    const std::int64_t lo = cut(t), hi = cut(t + 1);
    if (lo >= hi) return;
    std::size_t r = static_cast<std::size_t>(std::upper_bound(cum.begin(), cum.end(), lo) - cum.begin()) - 1;
    for (; r < runs.size() && cum[r] < hi; ++r) {
      const std::int64_t a = std::max(lo, cum[r]) - cum[r];
      const std::int64_t b = std::min(hi, cum[r + 1]) - cum[r];
      if (b > a) fn(r, runs[r].offset + a, b - a);
    }
  };
  FtzScope ftz;
  if (nt <= 1) {
    work(0, 1);
    return;
  }
  // Pieces of kChunkAlign-aligned ranges, a few per thread, claimed dynamically by the pool:
  // elementwise updates, so the bits never depend on who ran which piece.
  const int chunks = static_cast<int>(std::min<std::int64_t>(
      static_cast<std::int64_t>(nt) * std::max(1, pool_detail::pool_tuning().chunks_per_thread),
      std::max<std::int64_t>(1, total / kChunkAlign)));
  parallel_chunks(chunks, nt, PoolSite::optimizer, static_cast<double>(total),
                  [&](std::int64_t c) { work(static_cast<int>(c), chunks); });
}

void Optimizer::compute_norms(const float* g, const unsigned char* active, double gscale) {
  const auto& K = kernels().update;
  const std::int64_t nb = static_cast<std::int64_t>(blocks_.size());
  auto one = [&](std::int64_t b) {
    const Block& blk = blocks_[static_cast<std::size_t>(b)];
    partials_[static_cast<std::size_t>(b)] =
        (active && !active[blk.seg]) ? 0.0 : static_cast<double>(K.sumsq(blk.size, g + blk.offset));
  };
  const int nt = threads_for(cum_seg_.back());
  FtzScope ftz;
  // One partial per block, each written by whichever thread ran it; summed below in block order.
  const std::int64_t chunks = std::min<std::int64_t>(
      nb, static_cast<std::int64_t>(nt) * std::max(1, pool_detail::pool_tuning().chunks_per_thread));
  parallel_chunks(chunks, nt, PoolSite::optimizer, static_cast<double>(cum_seg_.back()), [&](std::int64_t c) {
    for (std::int64_t b = nb * c / chunks; b < nb * (c + 1) / chunks; ++b) one(b);
  });
  std::fill(seg_sumsq_.begin(), seg_sumsq_.end(), 0.0);
  for (std::size_t b = 0; b < blocks_.size(); ++b) seg_sumsq_[static_cast<std::size_t>(blocks_[b].seg)] += partials_[b];
  for (double& s : seg_sumsq_) s *= gscale * gscale;
}

// The layer-wise first pass: one call of `stats` per norm block (blocks never cross a
// tensor), then the two sums per tensor in block order (seg_stats_[2 s], seg_stats_[2 s + 1]).
void Optimizer::layerwise_stats(UpdateStatsFn stats, float* w, const float* g, const unsigned char* active,
                                bool decay, const UpdateArgs& base) {
  const std::int64_t nb = static_cast<std::int64_t>(blocks_.size());
  const int nslots = static_cast<int>(slot_ptrs_.size());
  float* const* sp = slot_ptrs_.data();
  auto one = [&](std::int64_t b) {
    const Block& blk = blocks_[static_cast<std::size_t>(b)];
    double* out = &stats_[2 * static_cast<std::size_t>(b)];
    out[0] = out[1] = 0.0;
    if (active && !active[blk.seg]) return;
    UpdateArgs a = base;
    a.gscale = seg_gscale_[static_cast<std::size_t>(blk.seg)];
    a.decay = (decay && segs_[static_cast<std::size_t>(blk.seg)].weight_decay) ? 1 : 0;
    float* slots[4] = {nullptr, nullptr, nullptr, nullptr};
    for (int j = 0; j < nslots; ++j) slots[j] = sp[j] + blk.offset;
    stats(blk.size, w + blk.offset, g + blk.offset, slots, &a, out);
  };
  const int nt = threads_for(cum_seg_.back());
  FtzScope ftz;
  const std::int64_t chunks = std::min<std::int64_t>(
      nb, static_cast<std::int64_t>(nt) * std::max(1, pool_detail::pool_tuning().chunks_per_thread));
  parallel_chunks(chunks, nt, PoolSite::optimizer, static_cast<double>(cum_seg_.back()), [&](std::int64_t c) {
    for (std::int64_t b = nb * c / chunks; b < nb * (c + 1) / chunks; ++b) one(b);
  });
  std::fill(seg_stats_.begin(), seg_stats_.end(), 0.0);
  for (std::size_t b = 0; b < blocks_.size(); ++b) {
    const auto sg = static_cast<std::size_t>(blocks_[b].seg);
    seg_stats_[2 * sg] += stats_[2 * b];
    seg_stats_[2 * sg + 1] += stats_[2 * b + 1];
  }
}

void Optimizer::apply(float* w, float* g, const unsigned char* active) {
  if (!built_) throw std::logic_error(std::string(optimizer_kind_name(cfg_.kind)) + ": apply() before build()");
  const auto& K = kernels().update;
  const auto& c = cfg_;
  const std::int64_t k = c.gradient_accumulation_steps;
  const std::int64_t pub = iterations();
  const float lr = current_learning_rate();
  const float inv_lsf = c.loss_scale_factor > 0 ? static_cast<float>(1.0 / c.loss_scale_factor) : 1.0f;
  const float ema_m = pub != 0 ? static_cast<float>(c.ema_momentum) : 0.0f;
  const bool overwrite = ema_ && c.ema_overwrite_frequency > 0 && (pub + 1) % c.ema_overwrite_frequency == 0;

  auto finish_step = [&]() {
    if (overwrite) finalize_ema(w);
    ++raw_;
  };

  // ---- gradient accumulation: non-update steps only add to the accumulator ----
  if (k && (raw_ + 1) % k != 0) {
    float* acc = acc_;
    if (active) {
      for_pieces(runs_seg_, cum_seg_, [&](std::size_t r, std::int64_t off, std::int64_t len) {
        if (active[runs_seg_[r].seg]) K.accumulate(len, acc + off, g + off, inv_lsf);
      });
    } else {
      for_pieces(runs_merged_, cum_merged_,
                 [&](std::size_t, std::int64_t off, std::int64_t len) { K.accumulate(len, acc + off, g + off, inv_lsf); });
    }
    if (ema_) {
      float* e = ema_;
      for_pieces(runs_merged_, cum_merged_,
                 [&](std::size_t, std::int64_t off, std::int64_t len) { K.ema(len, e + off, w + off, ema_m); });
    }
    finish_step();
    return;
  }
  float gs_base = inv_lsf;
  if (k) {
    float* acc = acc_;
    const float a = inv_lsf, b = static_cast<float>(1.0 / static_cast<double>(k));
    for_pieces(runs_seg_, cum_seg_, [&](std::size_t r, std::int64_t off, std::int64_t len) {
      if (!active || active[runs_seg_[r].seg])
        K.accumulate_finish(len, g + off, acc + off, a, b);
      else
        std::memset(acc + off, 0, static_cast<std::size_t>(len) * sizeof(float));
    });
    gs_base = 1.0f;
  }

  // ---- clipping: per-segment gradient scale, or clipvalue ----
  bool per_segment = active != nullptr;
  std::fill(seg_gscale_.begin(), seg_gscale_.end(), gs_base);
  UpdateArgs base;
  base.lr = lr;
  base.gscale = gs_base;
  if (c.clipnorm > 0) {
    per_segment = true;
    compute_norms(g, active, gs_base);
    const float cn = static_cast<float>(c.clipnorm);
    for (std::size_t s = 0; s < segs_.size(); ++s) {
      const float norm = static_cast<float>(std::sqrt(seg_sumsq_[s]));
      // Keras: g * clipnorm / max(norm, clipnorm) (a NaN norm gives NaN)
      const float f = std::isnan(norm) ? norm : cn / std::max(norm, cn);
      seg_gscale_[s] = gs_base * f;
    }
  } else if (c.global_clipnorm > 0) {
    compute_norms(g, active, gs_base);
    double total = 0.0;
    for (std::size_t s = 0; s < segs_.size(); ++s)
      if (!active || active[s]) total += seg_sumsq_[s];
    const float G = static_cast<float>(std::sqrt(total));
    const float cn = static_cast<float>(c.global_clipnorm);
    // Keras: clip_norm * min(1/G, 1/clip_norm) + (G - G)   (inf/NaN norms give NaN)
    const float scale = cn * std::min(1.0f / G, 1.0f / cn) + (G - G);
    base.gscale = gs_base * scale;
    std::fill(seg_gscale_.begin(), seg_gscale_.end(), base.gscale);
  } else if (c.clipvalue > 0) {
    base.clip = 1;
    base.clipvalue = static_cast<float>(c.clipvalue);
  }
  const bool decay = c.weight_decay > 0;
  base.wd_lr = static_cast<float>(c.weight_decay) * lr;
  base.ema_momentum = ema_m;

  // ---- the rule's constants ----
  const double t = static_cast<double>(pub + 1);
  const optimizer_rules::StepPlan plan =
      optimizer_rules::prepare_step(optimizer_rules::StepContext{c, K, t, lr, u_product_}, base);
  const UpdateFn fn = plan.fn;
  if (plan.stats) {
    per_segment = true;
    layerwise_stats(plan.stats, w, g, active, decay, base);
  }

  // ---- one fused pass ----
  const std::vector<Run>& runs = per_segment ? runs_seg_ : runs_merged_;
  const std::vector<std::int64_t>& cum = per_segment ? cum_seg_ : cum_merged_;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    UpdateArgs& a = run_args_[r];
    a = base;
    const auto s = static_cast<std::size_t>(runs[r].seg);
    a.gscale = seg_gscale_[s];
    a.decay = (decay && segs_[s].weight_decay) ? 1 : 0;
    if (plan.stats) {
      a.decay = 0;  // applied by the first pass
      plan.per_tensor(&seg_stats_[2 * s], lr, a);
    }
  }
  const int nslots = static_cast<int>(slot_ptrs_.size());
  float* const* sp = slot_ptrs_.data();
  float* ema = ema_;
  for_pieces(runs, cum, [&](std::size_t r, std::int64_t off, std::int64_t len) {
    if (active && !active[runs[r].seg]) return;
    float* slots[4] = {nullptr, nullptr, nullptr, nullptr};
    for (int j = 0; j < nslots; ++j) slots[j] = sp[j] + off;
    fn(len, w + off, g + off, slots, ema ? ema + off : nullptr, &run_args_[r]);
  });
  if (ema_ && active) {  // EMA follows every variable, also those without a gradient
    FtzScope ftz;
    for (std::size_t s = 0; s < segs_.size(); ++s)
      if (!active[s]) K.ema(segs_[s].size, ema_ + segs_[s].offset, w + segs_[s].offset, ema_m);
  }
  finish_step();
}

float Optimizer::current_learning_rate() const {
  if (uses_schedule()) return schedule_value(cfg_.schedule, raw_);
  return cfg_.learning_rate;
}

bool Optimizer::uses_schedule() const {
  return cfg_.schedule.kind != ScheduleKind::constant && cfg_.schedule.kind != ScheduleKind::external;
}

void Optimizer::set_learning_rate(float lr) {
  if (uses_schedule())
    throw std::logic_error(std::string(optimizer_kind_name(cfg_.kind)) +
                           ": the learning rate is a schedule, so it cannot be set to a value");
  if (!(lr >= 0.0f) || !std::isfinite(lr))
    bad_argument(optimizer_kind_name(cfg_.kind), "learning_rate", "must be a finite number >= 0", lr);
  cfg_.learning_rate = lr;
}

void Optimizer::set_schedule(const ScheduleConfig& s, float learning_rate) {
  OptimizerConfig next = cfg_;
  next.schedule = s;
  next.learning_rate = learning_rate;
  validate(next);  // throws before changing anything
  cfg_ = next;
}

std::int64_t Optimizer::iterations() const {
  const std::int64_t k = cfg_.gradient_accumulation_steps;
  return k ? raw_ / k : raw_;
}

void Optimizer::set_iterations(std::int64_t it) {
  if (it < 0) throw std::invalid_argument("iterations must be >= 0, got " + std::to_string(it));
  const std::int64_t k = cfg_.gradient_accumulation_steps;
  raw_ = k ? it * k : it;
}

void Optimizer::set_raw_iterations(std::int64_t raw) {
  if (raw < 0) throw std::invalid_argument("iterations must be >= 0, got " + std::to_string(raw));
  raw_ = raw;
}

bool Optimizer::next_is_update_step() const {
  const std::int64_t k = cfg_.gradient_accumulation_steps;
  return !k || (raw_ + 1) % k == 0;
}

std::vector<SlotView> Optimizer::slots() {
  std::vector<SlotView> v;
  if (!built_) return v;
  for (std::size_t i = 0; i < slot_ptrs_.size(); ++i) v.push_back(SlotView{slot_names_[i], slot_ptrs_[i], n_});
  if (ema_) v.push_back(SlotView{"average", ema_, n_});
  if (acc_) v.push_back(SlotView{"gradient_accumulator", acc_, n_});
  return v;
}

std::vector<std::string> Optimizer::scalar_names() const {
  if (cfg_.kind == OptimizerKind::nadam) return {"u_product"};
  return {};
}

double Optimizer::scalar(const std::string& name) const {
  if (cfg_.kind == OptimizerKind::nadam && name == "u_product") return u_product_;
  throw std::invalid_argument(std::string(optimizer_kind_name(cfg_.kind)) + " has no state scalar '" + name + "'");
}

void Optimizer::set_scalar(const std::string& name, double value) {
  if (cfg_.kind == OptimizerKind::nadam && name == "u_product") {
    u_product_ = value;
    return;
  }
  throw std::invalid_argument(std::string(optimizer_kind_name(cfg_.kind)) + " has no state scalar '" + name + "'");
}

void Optimizer::finalize_ema(float* w) const {
  if (!ema_) return;
  for (const Run& r : runs_merged_)
    std::memcpy(w + r.offset, ema_ + r.offset, static_cast<std::size_t>(r.size) * sizeof(float));
}

void update_triad(float* a, const float* b, const float* c, float s, std::int64_t n, int nthreads) {
  const auto& K = kernels().update;
  auto work = [&](int t, int T) {
    const std::int64_t lo = (n * t / T) / kChunkAlign * kChunkAlign;
    const std::int64_t hi = t + 1 == T ? n : (n * (t + 1) / T) / kChunkAlign * kChunkAlign;
    if (hi > lo) K.triad(hi - lo, a + lo, b + lo, c + lo, s);
  };
  FtzScope ftz;
  if (nthreads <= 1) {
    work(0, 1);
    return;
  }
  const int chunks = static_cast<int>(std::min<std::int64_t>(
      static_cast<std::int64_t>(nthreads) * std::max(1, pool_detail::pool_tuning().chunks_per_thread),
      std::max<std::int64_t>(1, n / kChunkAlign)));
  parallel_chunks(chunks, nthreads, PoolSite::optimizer, static_cast<double>(n),
                  [&](std::int64_t c) { work(static_cast<int>(c), chunks); });
}

}  // namespace ranvier
