#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "layers/parallel.h"
#include "model/trainer.h"
#include "optimizers/loss_scale.h"
#include "optimizers/optimizer.h"
#include "runtime/alloc.h"
#include "runtime/runtime.h"

namespace ranvier {

namespace {

// splitmix64: the shuffling stream (same order on every machine for a seed).
std::uint64_t splitmix64(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

using Clock = std::chrono::steady_clock;
inline double seconds_since(Clock::time_point& t) {  // and restarts t
  const Clock::time_point now = Clock::now();
  const double s = std::chrono::duration<double>(now - t).count();
  t = now;
  return s;
}

}  // namespace

void Trainer::set_profiling(bool on) {
  profiling_ = on;
  if (on && prof_.forward_s.size() != net_->layers().size()) reset_profile();
}

void Trainer::reset_profile() {
  prof_ = TrainerProfile{};
  prof_.forward_s.assign(net_->layers().size(), 0.0);
  prof_.backward_s.assign(net_->layers().size(), 0.0);
}

Trainer::Trainer(std::shared_ptr<Network> net, std::shared_ptr<Optimizer> opt, LossSpec loss,
                 std::vector<std::shared_ptr<Metric>> metrics,
                 std::vector<std::shared_ptr<Metric>> weighted_metrics)
    : Trainer(std::move(net), std::move(opt), std::vector<LossSpec>{loss},
              std::vector<std::vector<std::shared_ptr<Metric>>>{std::move(metrics)},
              std::vector<std::vector<std::shared_ptr<Metric>>>{std::move(weighted_metrics)}) {}

Trainer::Trainer(std::shared_ptr<Network> net, std::shared_ptr<Optimizer> opt, std::vector<LossSpec> losses,
                 std::vector<std::vector<std::shared_ptr<Metric>>> metrics,
                 std::vector<std::vector<std::shared_ptr<Metric>>> weighted_metrics, std::vector<bool> has_loss)
    : net_(std::move(net)), opt_(std::move(opt)), losses_(std::move(losses)), has_loss_(std::move(has_loss)),
      metrics_(std::move(metrics)), weighted_metrics_(std::move(weighted_metrics)) {
  if (!net_ || !net_->finalized()) throw std::invalid_argument("Trainer: the network is not built");
  if (!opt_) throw std::invalid_argument("Trainer: the optimizer is null");
  const Network& nt = *net_;
  const auto no = static_cast<std::size_t>(nt.num_outputs());
  const auto count = [&](std::size_t got, const char* what) {
    if (got != no)
      throw std::invalid_argument(std::string("Trainer: ") + what + " has " + std::to_string(got) +
                                  " entries, but the model has " + std::to_string(no) + " output(s)");
  };
  count(losses_.size(), "the loss list");
  if (metrics_.empty()) metrics_.resize(no);
  if (weighted_metrics_.empty()) weighted_metrics_.resize(no);
  if (has_loss_.empty()) has_loss_.assign(no, true);
  count(metrics_.size(), "the metrics list");
  count(weighted_metrics_.size(), "the weighted-metrics list");
  count(has_loss_.size(), "has_loss");
  const WorkspacePlan& plan = nt.plan();
  fused_.assign(no, 0);
  std::vector<int> consumers(static_cast<std::size_t>(nt.num_tensors()), 0);
  for (const auto& n : nt.nodes())
    for (int t : n.inputs) ++consumers[static_cast<std::size_t>(t)];
  for (int t : nt.outputs()) ++consumers[static_cast<std::size_t>(t)];
  for (std::size_t j = 0; j < no; ++j) {
    // Metrics with per-column state size it now, so that no batch allocates.
    const std::int64_t k = nt.output_features(static_cast<int>(j));
    for (auto& m : metrics_[j]) m->prepare(k);
    for (auto& m : weighted_metrics_[j]) m->prepare(k);
    // The loss fuses with the producer's activation only when the output tensor gets no other
    // gradient (no other consumer, listed once).
    const int t = nt.outputs()[j];
    const int p = nt.producer(t);
    if (has_loss_[j] && p >= 0 && consumers[static_cast<std::size_t>(t)] == 1 &&
        plan.grad_buffer[static_cast<std::size_t>(t)] >= 0)
      fused_[j] = loss_fuses_with(losses_[j].kind, losses_[j].params,
                                  nt.layers()[static_cast<std::size_t>(p)]->output_activation())
                      ? 1
                      : 0;
  }
  fused_node_.assign(nt.nodes().size(), 0);
  for (std::size_t j = 0; j < no; ++j)
    if (fused_[j]) fused_node_[static_cast<std::size_t>(nt.producer(nt.outputs()[j]))] = 1;
  out_loss_sum_.assign(no, 0.0);
  act_ptr_.assign(static_cast<std::size_t>(nt.num_tensors()), nullptr);
  ys_.assign(no, nullptr);
  ycols_.assign(no, 0);
  sws_.assign(no, nullptr);
  std::size_t widest = 1;
  for (const auto& n : nt.nodes()) widest = std::max(widest, n.inputs.size());
  in_ptrs_.assign(widest, nullptr);
  dx_ptrs_.assign(widest, nullptr);
}

std::vector<double> Trainer::output_mean_losses() const {
  std::vector<double> r(out_loss_sum_.size(), 0.0);
  if (seen_)
    for (std::size_t j = 0; j < r.size(); ++j) r[j] = out_loss_sum_[j] / static_cast<double>(seen_);
  return r;
}

void Trainer::reserve(std::int64_t batch_size) {
  if (batch_size <= 0) throw std::invalid_argument("batch_size must be positive, got " + std::to_string(batch_size));
  if (batch_size <= cap_) return;
  const std::int64_t cap = batch_size;
  const Network& nt = *net_;
  const auto& layers = nt.layers();
  const auto rows = static_cast<std::uint64_t>(cap);
  const auto floats = [&](std::int64_t cols, const char* what) {
    return static_cast<std::int64_t>(alloc_bytes(what, rows, static_cast<std::uint64_t>(cols), 1));
  };
  // Everything is allocated into new buffers first and committed only when all exist:
  // after an AllocError (MemoryError) the trainer keeps its old, consistent workspaces
  // and capacity, so a retry with a smaller batch works.
  const int ni = nt.num_inputs(), no = nt.num_outputs();
  std::vector<FloatBuffer> acts, grads, xbuf, ybuf, swbuf;
  checked_reserve(acts, layers.size(), "the per-layer activation list");
  checked_reserve(grads, nt.plan().grad_widths.size(), "the gradient buffer list");
  checked_reserve(xbuf, static_cast<std::uint64_t>(ni), "the gathered input list");
  checked_reserve(ybuf, static_cast<std::uint64_t>(no), "the gathered target list");
  checked_reserve(swbuf, static_cast<std::uint64_t>(no), "the gathered sample weight list");
  for (std::size_t i = 0; i < layers.size(); ++i)
    acts.emplace_back(floats(layers[i]->out_features(), "a layer's activations for one batch"),
                      "a layer's activations for one batch");
  for (std::int64_t w : nt.plan().grad_widths)
    grads.emplace_back(floats(w, "the backward pass gradients"), "the backward pass gradients");
  for (int i = 0; i < ni; ++i)
    xbuf.emplace_back(floats(nt.input_features(i), "the gathered batch inputs"), "the gathered batch inputs");
  for (int j = 0; j < no; ++j) {
    // As wide as the output, or as the current training data's targets when wider
    std::int64_t yw = std::max<std::int64_t>(nt.output_features(j), 1);
    if (static_cast<std::size_t>(j) < data_.y_cols.size()) yw = std::max(yw, data_.y_cols[static_cast<std::size_t>(j)]);
    ybuf.emplace_back(floats(yw, "the gathered batch targets"), "the gathered batch targets");
    swbuf.emplace_back(cap, "the gathered batch sample weights");
  }
  FloatBuffer per_sample(cap, "the per-sample losses");
  for (auto& l : layers) l->reserve(cap);  // each layer commits its own capacity only on success
  acts_.swap(acts);
  grads_.swap(grads);
  xbuf_.swap(xbuf);
  ybuf_.swap(ybuf);
  swbuf_.swap(swbuf);
  per_sample_ = std::move(per_sample);
  cap_ = cap;
}

void Trainer::check_data(const DataView& d, const char* what) const {
  const Network& nt = *net_;
  const auto ni = static_cast<std::size_t>(nt.num_inputs()), no = static_cast<std::size_t>(nt.num_outputs());
  const std::string w(what);
  if (d.xs.size() != ni)
    throw std::invalid_argument(w + ": the model has " + std::to_string(ni) + " input(s), got " +
                                std::to_string(d.xs.size()) + " input array(s)");
  if (d.ys.size() != no || d.y_cols.size() != no)
    throw std::invalid_argument(w + ": the model has " + std::to_string(no) + " output(s), got " +
                                std::to_string(d.ys.size()) + " target array(s)");
  if (!d.sample_weights.empty() && d.sample_weights.size() != no)
    throw std::invalid_argument(w + ": sample weights: one entry per output (" + std::to_string(no) + "), got " +
                                std::to_string(d.sample_weights.size()));
  for (std::size_t i = 0; i < ni; ++i)
    if (!d.xs[i]) throw std::invalid_argument(w + ": input " + std::to_string(i) + " is null");
  for (std::size_t j = 0; j < no; ++j) {
    const bool needs_y = has_loss_[j] || !metrics_[j].empty() || !weighted_metrics_[j].empty();
    if (needs_y && (!d.ys[j] || d.y_cols[j] <= 0))
      throw std::invalid_argument(w + ": output " + std::to_string(j) + " needs targets (it has a loss or metrics)");
  }
}

void Trainer::set_train_data(const DataView& d, std::int64_t batch_size) {
  if (d.n <= 0) throw std::invalid_argument("fit: the training data is empty");
  if (batch_size <= 0) throw std::invalid_argument("batch_size must be positive, got " + std::to_string(batch_size));
  check_data(d, "fit");
  std::lock_guard<std::mutex> lock(net_->inference_mutex());
  // Allocations first (each leaves the trainer as it was on failure), then the commit.
  const std::int64_t bs = std::min(batch_size, d.n);
  reserve(bs);
  for (std::size_t j = 0; j < d.y_cols.size(); ++j) {
    if (d.y_cols[j] <= net_->output_features(static_cast<int>(j))) continue;
    const auto need = static_cast<std::int64_t>(alloc_bytes("the gathered batch targets", static_cast<std::uint64_t>(cap_),
                                                            static_cast<std::uint64_t>(d.y_cols[j]), 1));
    if (ybuf_[j].size() < need) ybuf_[j].resize(need, "the gathered batch targets");
  }
  std::vector<std::int64_t> in_f(d.xs.size()), x_lines(d.xs.size());
  for (std::size_t i = 0; i < d.xs.size(); ++i) {
    in_f[i] = net_->input_features(static_cast<int>(i));
    x_lines[i] = std::min<std::int64_t>((static_cast<std::int64_t>(sizeof(float)) * in_f[i] + 63) / 64 + 1, 8);
  }
  checked_assign(order_, static_cast<std::uint64_t>(d.n), std::int64_t{0}, "the epoch's sample order");
  for (std::int64_t i = 0; i < d.n; ++i) order_[static_cast<std::size_t>(i)] = i;
  in_f_.swap(in_f);
  x_lines_.swap(x_lines);
  data_ = d;
  if (data_.sample_weights.empty()) data_.sample_weights.assign(d.ys.size(), nullptr);
  batch_size_ = bs;
  step_in_epoch_ = 0;
}

std::int64_t Trainer::steps_per_epoch() const {
  return batch_size_ ? (data_.n + batch_size_ - 1) / batch_size_ : 0;
}

void Trainer::reset_metrics() {
  loss_sum_ = 0.0;
  seen_ = 0;
  std::fill(out_loss_sum_.begin(), out_loss_sum_.end(), 0.0);
  for (auto& ms : metrics_)
    for (auto& m : ms) m->reset();
  for (auto& ms : weighted_metrics_)
    for (auto& m : ms) m->reset();
}

void Trainer::begin_epoch(bool shuffle, std::uint64_t seed) {
  pf_next_ = pf_end_ = 0;  // nothing of the new order is prefetched
  reset_metrics();
  step_in_epoch_ = 0;
  shuffled_ = shuffle;
  for (std::int64_t i = 0; i < data_.n; ++i) order_[static_cast<std::size_t>(i)] = i;
  if (shuffle) {
    std::uint64_t s = seed;
    for (std::int64_t i = data_.n - 1; i > 0; --i) {
      const std::int64_t j = static_cast<std::int64_t>(splitmix64(s) % static_cast<std::uint64_t>(i + 1));
      std::swap(order_[static_cast<std::size_t>(i)], order_[static_cast<std::size_t>(j)]);
    }
  }
}

// Prefetches the first lines (at most 8) of each input's shuffled row `pos` of the epoch, and its labels.
// The lines are counted from the row's own first line: NumPy aligns arrays to 16 bytes, so
// a 128-byte row usually spans three lines, not two.
void Trainer::prefetch_row(std::int64_t pos) const {
  const std::int64_t src = order_[static_cast<std::size_t>(pos)];
  for (std::size_t i = 0; i < data_.xs.size(); ++i) {
    const float* row = data_.xs[i] + src * in_f_[i];
    const std::uintptr_t first = reinterpret_cast<std::uintptr_t>(row) & ~std::uintptr_t{63};
    const std::uintptr_t last = (reinterpret_cast<std::uintptr_t>(row + in_f_[i]) - 1) & ~std::uintptr_t{63};
    const std::uintptr_t stop = std::min(last, first + 64 * static_cast<std::uintptr_t>(x_lines_[i] - 1));
    for (std::uintptr_t l = first; l <= stop; l += 64) __builtin_prefetch(reinterpret_cast<const void*>(l), 0, 3);
  }
  for (std::size_t j = 0; j < data_.ys.size(); ++j)
    if (data_.ys[j]) __builtin_prefetch(data_.ys[j] + src * data_.y_cols[j], 0, 3);
}

namespace {
// n floats from src to dst: 16 at a time as fixed-size copies (inlined vector moves: a
// libc memcpy call per short row cost more than the copy), then one at a time.
inline void copy_floats(float* dst, const float* src, std::int64_t n) {
  std::int64_t k = 0;
  for (; k + 16 <= n; k += 16) __builtin_memcpy(dst + k, src + k, 16 * sizeof(float));
  for (; k < n; ++k) dst[k] = src[k];
}
}  // namespace

void Trainer::gather(std::int64_t start, std::int64_t b) {
  const std::size_t ni = data_.xs.size(), no = data_.ys.size();
  std::int64_t row_floats = 0;
  for (std::size_t i = 0; i < ni; ++i) row_floats += in_f_[i];
  for (std::size_t j = 0; j < no; ++j) row_floats += data_.y_cols[j];
  // The rows are scattered (a random permutation): each is a cache miss. Prefetching a few
  // rows ahead keeps several misses in flight instead of one at a time (W2's 32-float rows:
  // the gather took a tenth of its step). The first lines of a row are enough for long rows,
  // the hardware prefetcher follows the rest. Large batches of long rows (W1: 128 x 3 KB)
  // are split between the threads (pure copies: the result never depends on the split).
  constexpr std::int64_t kAhead = 8;
  layers_detail::parallel_ranges(b, row_floats, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < std::min(lo + kAhead, hi); ++r) prefetch_row(start + r);
    for (std::int64_t r = lo; r < hi; ++r) {
      if (r + kAhead < hi) prefetch_row(start + r + kAhead);
      const std::int64_t src = order_[static_cast<std::size_t>(start + r)];
      for (std::size_t i = 0; i < ni; ++i) {
        const std::int64_t in_f = in_f_[i];
        copy_floats(xbuf_[i].data() + r * in_f, data_.xs[i] + src * in_f, in_f);
      }
      for (std::size_t j = 0; j < no; ++j) {
        const std::int64_t yc = data_.y_cols[j];
        if (data_.ys[j]) copy_floats(ybuf_[j].data() + r * yc, data_.ys[j] + src * yc, yc);
        if (data_.sample_weights[j]) swbuf_[j].data()[r] = data_.sample_weights[j][src];
      }
    }
  });
}

void Trainer::point_at(const DataView& d, std::int64_t start) {
  const Network& nt = *net_;
  for (std::size_t i = 0; i < d.xs.size(); ++i) act_ptr_[i] = d.xs[i] + start * nt.input_features(static_cast<int>(i));
  for (std::size_t j = 0; j < d.ys.size(); ++j) {
    ycols_[j] = d.y_cols[j];
    ys_[j] = d.ys[j] ? d.ys[j] + start * d.y_cols[j] : nullptr;
    const float* sw = d.sample_weights.empty() ? nullptr : d.sample_weights[j];
    sws_[j] = sw ? sw + start : nullptr;
  }
}

std::int64_t Trainer::run(std::int64_t max_steps, double time_budget_s) {
  if (data_.xs.empty()) throw std::logic_error("Trainer.run: no training data");
  std::lock_guard<std::mutex> lock(net_->inference_mutex());
  FtzScope ftz;
  const auto t0 = std::chrono::steady_clock::now();
  const std::int64_t steps = steps_per_epoch();
  std::int64_t done = 0;
  while (done < max_steps && step_in_epoch_ < steps) {
    std::int64_t start = step_in_epoch_ * batch_size_;
    std::int64_t b = std::min(batch_size_, data_.n - start);
    // --- data-parallel training (set_shard): this rank's rows of the batch ---
    const std::int64_t grad_rows = b;
    if (shard_size_ > 1) {
      const std::int64_t lo = shard_rank_ * b / shard_size_, hi = (shard_rank_ + 1) * b / shard_size_;
      start += lo;
      b = hi - lo;
      if (b == 0) {
        empty_shard_step();
        ++step_in_epoch_;
        ++done;
        continue;
      }
    }
    // --- end of data-parallel training ---
    if (shuffled_) {
      Clock::time_point tg;
      if (profiling_) tg = Clock::now();
      gather(start, b);
      // The next batch's first rows, fetched while this batch computes (small batches of
      // short rows then start without a miss per row: W2's gather went from ~4 to ~1 us),
      // a few before each layer's forward and backward (prefetch_some): issued in one burst,
      // the misses stalled the issuing loop once the core's miss buffers were full.
      const std::int64_t next = (step_in_epoch_ + 1) * batch_size_;
      pf_next_ = next;
      pf_end_ = std::max(next, std::min(next + std::min<std::int64_t>(batch_size_, 32), data_.n));
      const std::int64_t sites = 2 * static_cast<std::int64_t>(net_->nodes().size());
      pf_per_site_ = (pf_end_ - pf_next_ + sites - 1) / sites;
      if (profiling_) prof_.data_s += seconds_since(tg);
      for (std::size_t i = 0; i < xbuf_.size(); ++i) act_ptr_[i] = xbuf_[i].data();
      for (std::size_t j = 0; j < ybuf_.size(); ++j) {
        ycols_[j] = data_.y_cols[j];
        ys_[j] = data_.ys[j] ? ybuf_[j].data() : nullptr;
        sws_[j] = data_.sample_weights[j] ? swbuf_[j].data() : nullptr;
      }
    } else {  // consecutive rows: read the caller's arrays in place
      point_at(data_, start);
    }
    batch(b, true, grad_rows);
    ++step_in_epoch_;
    ++done;
    if (time_budget_s > 0) {
      const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (el >= time_budget_s) break;
    }
  }
  return done;
}

double Trainer::train_batch(const DataView& d, bool reset) {
  if (d.n <= 0) throw std::invalid_argument("train_on_batch: the batch is empty");
  check_data(d, "train_on_batch");
  // reserve() may reallocate the layers' workspaces, which a concurrent predict uses: under the lock
  std::lock_guard<std::mutex> lock(net_->inference_mutex());
  reserve(d.n);
  FtzScope ftz;
  if (reset) reset_metrics();
  point_at(d, 0);
  return batch(d.n, true);
}

double Trainer::evaluate(const DataView& d, std::int64_t batch_size, bool reset) {
  if (d.n <= 0) throw std::invalid_argument("evaluate: the data is empty");
  if (batch_size <= 0) throw std::invalid_argument("batch_size must be positive, got " + std::to_string(batch_size));
  check_data(d, "evaluate");
  const std::int64_t bs = std::min(batch_size, d.n);
  std::lock_guard<std::mutex> lock(net_->inference_mutex());
  reserve(bs);
  FtzScope ftz;
  if (reset) reset_metrics();
  for (std::int64_t s = 0; s < d.n; s += bs) {
    const std::int64_t b = std::min(bs, d.n - s);
    point_at(d, s);
    batch(b, false);
  }
  return mean_loss();
}

// --- data-parallel training ---
void Trainer::set_shard(int rank, int size) {
  if (size < 1 || rank < 0 || rank >= size)
    throw std::invalid_argument("set_shard: need 0 <= rank < size, got rank=" + std::to_string(rank) +
                                " size=" + std::to_string(size));
  shard_rank_ = rank;
  shard_size_ = size;
}

void Trainer::empty_shard_step() {
  Network& net = *net_;
  std::memset(net.grads().data(), 0, sizeof(float) * static_cast<std::size_t>(net.grads().size()));
  if (grad_hook_) grad_hook_(net.grads().data(), net.grads().size());
  apply_update();
}
// --- end of data-parallel training ---

// --- dynamic loss scaling (optimizers/loss_scale.h) ---
bool Trainer::skip_step() {
  Network& net = *net_;
  return scaler_ && !scaler_->pre_step(net.grads().data(), net.grads().size());
}

void Trainer::set_layers_loss_scale(float s) {
  for (const auto& l : net_->layers()) l->set_loss_scale(s);
}
// --- end of dynamic loss scaling ---

bool Trainer::last_loss_finite() const { return std::isfinite(last_loss_); }

namespace {

void add_into(float* dst, const float* src, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

}  // namespace

void Trainer::update_step() {
  Network& net = *net_;
  if (net.has_shared()) net.sum_shared_grads();  // a shared layer's gradients, into its owner's
  if (grad_hook_) grad_hook_(net.grads().data(), net.grads().size());  // data-parallel (set_grad_hook)
  apply_update();
}

void Trainer::apply_update() {
  Network& net = *net_;
  if (!skip_step()) {  // loss scaling: unscale, or skip a step with a non-finite gradient
    net.regularization(true);
    opt_->apply(net.params().data(), net.grads().data());
    net.apply_constraints();
  }
  ++net.train_steps;
}

double Trainer::batch(std::int64_t b, bool training, std::int64_t grad_rows) {
  Network& net = *net_;
  const auto& nodes = net.nodes();
  const WorkspacePlan& plan = net.plan();
  const std::size_t N = nodes.size();
  ForwardCtx ctx;
  ctx.training = training;
  ctx.step = net.train_steps * static_cast<std::uint64_t>(shard_size_) + static_cast<std::uint64_t>(shard_rank_);

  const bool prof = profiling_;
  Clock::time_point t;
  if (prof) t = Clock::now();

  // forward (every node's output kept for backward)
  double penalty = 0.0;
  for (std::size_t k = 0; k < N; ++k) {
    const GraphNode& nd = nodes[k];
    float* y = acts_[k].data();
    if (pf_next_ < pf_end_) prefetch_some(pf_per_site_);
    if (nd.inputs.size() == 1) {
      penalty += nd.layer->forward(act_ptr_[static_cast<std::size_t>(nd.inputs[0])], y, b, ctx);
    } else {
      for (std::size_t i = 0; i < nd.inputs.size(); ++i) in_ptrs_[i] = act_ptr_[static_cast<std::size_t>(nd.inputs[i])];
      penalty += nd.layer->forward_inputs(in_ptrs_.data(), y, b, ctx);
    }
    act_ptr_[static_cast<std::size_t>(nd.output)] = y;
    if (prof) prof_.forward_s[k] += seconds_since(t);
  }

  // losses (and their gradients when training), in output order
  const auto& outs = net.outputs();
  const float rows = static_cast<float>(grad_rows > 0 ? grad_rows : b);
  double batch_loss = 0.0;
  for (std::size_t j = 0; j < outs.size(); ++j) {
    const auto tj = static_cast<std::size_t>(outs[j]);
    const float* y_pred = act_ptr_[tj];
    const std::int64_t k = net.tensor_features(outs[j]);
    const int gb = training ? plan.grad_buffer[tj] : -1;
    const int sc = plan.loss_scratch[j];
    float* dy = gb < 0 ? nullptr : grads_[static_cast<std::size_t>(sc >= 0 ? sc : gb)].data();
    if (!has_loss_[j]) {
      if (dy && sc < 0) std::memset(dy, 0, sizeof(float) * static_cast<std::size_t>(b * k));
      continue;
    }
    const LossSpec& loss = losses_[j];
    const float* sw = sws_[j];
    const float scale = loss.weight * (dy && scaler_ ? scaler_->scale() : 1.0f) / rows;  // x the loss scale
    if (dy && fused_[j]) {
      const int p = net.producer(outs[j]);
      loss_forward_backward_fused(loss.kind, loss.params, nodes[static_cast<std::size_t>(p)].layer->output_activation(),
                                  ys_[j], ycols_[j], y_pred, b, k, sw, scale, per_sample_.data(), dy);
    } else {
      loss_forward_backward(loss.kind, loss.params, ys_[j], ycols_[j], y_pred, b, k, sw, scale,
                            per_sample_.data(), dy);
    }
    if (dy && sc >= 0) add_into(grads_[static_cast<std::size_t>(gb)].data(), dy, b * k);
    double total = 0.0;
    for (std::int64_t i = 0; i < b; ++i) total += per_sample_.data()[i] * (sw ? sw[i] : 1.0f);
    batch_loss += static_cast<double>(loss.weight) * total / static_cast<double>(b);
    out_loss_sum_[j] += total;
  }
  batch_loss += penalty + net.regularization(false);
  if (prof) prof_.loss_s += seconds_since(t);

  // metrics on this batch's predictions (before the update, as Keras)
  for (std::size_t j = 0; j < outs.size(); ++j) {
    const float* y_pred = act_ptr_[static_cast<std::size_t>(outs[j])];
    const std::int64_t k = net.tensor_features(outs[j]);
    for (auto& m : metrics_[j]) m->update(ys_[j], ycols_[j], y_pred, b, k, nullptr);
    for (auto& m : weighted_metrics_[j]) m->update(ys_[j], ycols_[j], y_pred, b, k, sws_[j]);
  }
  if (prof) prof_.metrics_s += seconds_since(t);

  if (training) {
    if (scaler_) set_layers_loss_scale(scaler_->scale());
    for (std::size_t k = N; k-- > 0;) {
      if (!plan.run_backward[k]) continue;
      if (pf_next_ < pf_end_) prefetch_some(pf_per_site_);
      const GraphNode& nd = nodes[k];
      float* dy = grads_[static_cast<std::size_t>(plan.grad_buffer[static_cast<std::size_t>(nd.output)])].data();
      const auto& scratch = plan.grad_scratch[k];
      const std::size_t m = nd.inputs.size();
      for (std::size_t i = 0; i < m; ++i) {
        const auto ti = static_cast<std::size_t>(nd.inputs[i]);
        const int g = plan.grad_buffer[ti];
        dx_ptrs_[i] = g < 0 ? nullptr : grads_[static_cast<std::size_t>(scratch[i] >= 0 ? scratch[i] : g)].data();
        in_ptrs_[i] = act_ptr_[ti];
      }
      if (m == 1)
        nd.layer->backward(in_ptrs_[0], acts_[k].data(), dy, dx_ptrs_[0], b, fused_node_[k] != 0);
      else
        nd.layer->backward_inputs(in_ptrs_.data(), acts_[k].data(), dy, dx_ptrs_.data(), b, fused_node_[k] != 0);
      // fan-out: a later contribution to a tensor's gradient went to a scratch; add it in
      for (std::size_t i = 0; i < m; ++i)
        if (scratch[i] >= 0 && dx_ptrs_[i]) {
          const int ti = nd.inputs[i];
          add_into(grads_[static_cast<std::size_t>(plan.grad_buffer[static_cast<std::size_t>(ti)])].data(), dx_ptrs_[i],
                   b * net.tensor_features(ti));
        }
      if (prof) prof_.backward_s[k] += seconds_since(t);
    }
    prefetch_some(pf_end_ - pf_next_);  // what the layers left (a skipped backward)
    if (scaler_) set_layers_loss_scale(1.0f);
    update_step();
    if (prof) prof_.update_s += seconds_since(t);
  }
  if (prof) {
    ++(training ? prof_.train_steps : prof_.eval_steps);
    prof_.samples += b;
  }

  loss_sum_ += batch_loss * static_cast<double>(b);
  seen_ += b;
  last_loss_ = batch_loss;
  return batch_loss;
}

}  // namespace ranvier
