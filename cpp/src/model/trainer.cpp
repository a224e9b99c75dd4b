#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "layers/parallel.h"
#include "model/trainer.h"
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
    : net_(std::move(net)), opt_(std::move(opt)), loss_(loss), metrics_(std::move(metrics)),
      weighted_metrics_(std::move(weighted_metrics)) {
  if (!net_ || !net_->finalized()) throw std::invalid_argument("Trainer: the network is not built");
  // Metrics with per-column state size it now, so that no batch allocates.
  for (auto& m : metrics_) m->prepare(net_->out_features());
  for (auto& m : weighted_metrics_) m->prepare(net_->out_features());
  fused_ = loss_fuses_with(loss_.kind, loss_.params, net_->layers().back()->output_activation());
}

void Trainer::reserve(std::int64_t batch_size) {
  if (batch_size <= 0) throw std::invalid_argument("batch_size must be positive, got " + std::to_string(batch_size));
  if (batch_size <= cap_) return;
  const std::int64_t cap = batch_size;
  const auto& layers = net_->layers();
  const auto rows = static_cast<std::uint64_t>(cap);
  const auto floats = [&](std::int64_t cols, const char* what) {
    return static_cast<std::int64_t>(alloc_bytes(what, rows, static_cast<std::uint64_t>(cols), 1));
  };
  // Everything is allocated into new buffers first and committed only when all exist:
  // after an AllocError (MemoryError) the trainer keeps its old, consistent workspaces
  // and capacity, so a retry with a smaller batch works.
  std::vector<FloatBuffer> acts;
  checked_reserve(acts, layers.size(), "the per-layer activation list");
  for (std::size_t i = 0; i < layers.size(); ++i)
    acts.emplace_back(floats(layers[i]->out_features(), "a layer's activations for one batch"),
                      "a layer's activations for one batch");
  const std::int64_t width = net_->max_features();
  FloatBuffer xbuf(floats(net_->in_features(), "the gathered batch inputs"), "the gathered batch inputs");
  FloatBuffer ybuf(floats(std::max<std::int64_t>(net_->out_features(), 1), "the gathered batch targets"),
                   "the gathered batch targets");
  FloatBuffer swbuf(cap, "the gathered batch sample weights");
  FloatBuffer per_sample(cap, "the per-sample losses");
  FloatBuffer dy_a(floats(width, "the backward pass gradients"), "the backward pass gradients");
  FloatBuffer dy_b(floats(width, "the backward pass gradients"), "the backward pass gradients");
  for (auto& l : layers) l->reserve(cap);  // each layer commits its own capacity only on success
  acts_.swap(acts);
  xbuf_ = std::move(xbuf);
  ybuf_ = std::move(ybuf);
  swbuf_ = std::move(swbuf);
  per_sample_ = std::move(per_sample);
  dy_a_ = std::move(dy_a);
  dy_b_ = std::move(dy_b);
  cap_ = cap;
}

void Trainer::set_train_data(const DataView& d, std::int64_t batch_size) {
  if (d.n <= 0) throw std::invalid_argument("fit: the training data is empty");
  if (batch_size <= 0) throw std::invalid_argument("batch_size must be positive, got " + std::to_string(batch_size));
  std::lock_guard<std::mutex> lock(net_->inference_mutex());
  // Allocations first (each leaves the trainer as it was on failure), then the commit.
  const std::int64_t bs = std::min(batch_size, d.n);
  reserve(bs);
  if (d.y_cols > net_->out_features()) {
    const auto need = static_cast<std::int64_t>(alloc_bytes("the gathered batch targets", static_cast<std::uint64_t>(cap_),
                                                            static_cast<std::uint64_t>(d.y_cols), 1));
    if (ybuf_.size() < need) ybuf_.resize(need, "the gathered batch targets");
  }
  checked_assign(order_, static_cast<std::uint64_t>(d.n), std::int64_t{0}, "the epoch's sample order");
  for (std::int64_t i = 0; i < d.n; ++i) order_[static_cast<std::size_t>(i)] = i;
  data_ = d;
  batch_size_ = bs;
  step_in_epoch_ = 0;
}

std::int64_t Trainer::steps_per_epoch() const {
  return batch_size_ ? (data_.n + batch_size_ - 1) / batch_size_ : 0;
}

void Trainer::reset_metrics() {
  loss_sum_ = 0.0;
  seen_ = 0;
  for (auto& m : metrics_) m->reset();
  for (auto& m : weighted_metrics_) m->reset();
}

void Trainer::begin_epoch(bool shuffle, std::uint64_t seed) {
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

// Prefetches the first lines (at most 8) of shuffled row `pos` of the epoch, and its label.
void Trainer::prefetch_row(std::int64_t pos) const {
  const std::int64_t in_f = net_->in_features(), yc = data_.y_cols;
  const std::int64_t src = order_[static_cast<std::size_t>(pos)];
  const char* px = reinterpret_cast<const char*>(data_.x + src * in_f);
  const std::size_t x_lines = std::min<std::size_t>((sizeof(float) * static_cast<std::size_t>(in_f) + 63) / 64, 8);
  for (std::size_t l = 0; l < x_lines; ++l) __builtin_prefetch(px + 64 * l, 0, 3);
  __builtin_prefetch(data_.y + src * yc, 0, 3);
}

void Trainer::gather(std::int64_t start, std::int64_t b) {
  const std::int64_t in_f = net_->in_features();
  const std::int64_t yc = data_.y_cols;
  const std::size_t x_bytes = sizeof(float) * static_cast<std::size_t>(in_f);
  // The rows are scattered (a random permutation): each is a cache miss. Prefetching a few
  // rows ahead keeps several misses in flight instead of one at a time (W2's 32-float rows:
  // the gather took a tenth of its step). The first lines of a row are enough for long rows,
  // the hardware prefetcher follows the rest. Large batches of long rows (W1: 128 x 3 KB)
  // are split between the threads (pure copies: the result never depends on the split).
  constexpr std::int64_t kAhead = 8;
  layers_detail::parallel_ranges(b, in_f + yc, [&](std::int64_t lo, std::int64_t hi) {
    for (std::int64_t r = lo; r < std::min(lo + kAhead, hi); ++r) prefetch_row(start + r);
    for (std::int64_t r = lo; r < hi; ++r) {
      if (r + kAhead < hi) prefetch_row(start + r + kAhead);
      const std::int64_t src = order_[static_cast<std::size_t>(start + r)];
      std::memcpy(xbuf_.data() + r * in_f, data_.x + src * in_f, x_bytes);
      std::memcpy(ybuf_.data() + r * yc, data_.y + src * yc, sizeof(float) * static_cast<std::size_t>(yc));
      if (data_.sample_weight) swbuf_.data()[r] = data_.sample_weight[src];
    }
  });
}

std::int64_t Trainer::run(std::int64_t max_steps, double time_budget_s) {
  if (!data_.x) throw std::logic_error("Trainer.run: no training data");
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
    const float *x, *y, *sw;
    if (shuffled_) {
      Clock::time_point tg;
      if (profiling_) tg = Clock::now();
      gather(start, b);
      // The next batch's first rows, fetched while this batch computes (small batches of
      // short rows then start without a miss per row: W2's gather went from ~4 to ~1 us).
      const std::int64_t next = (step_in_epoch_ + 1) * batch_size_;
      for (std::int64_t r = next; r < std::min(next + std::min<std::int64_t>(batch_size_, 32), data_.n); ++r)
        prefetch_row(r);
      if (profiling_) prof_.data_s += seconds_since(tg);
      x = xbuf_.data();
      y = ybuf_.data();
      sw = data_.sample_weight ? swbuf_.data() : nullptr;
    } else {  // consecutive rows: read the caller's arrays in place
      x = data_.x + start * net_->in_features();
      y = data_.y + start * data_.y_cols;
      sw = data_.sample_weight ? data_.sample_weight + start : nullptr;
    }
    batch(x, y, data_.y_cols, sw, b, true, grad_rows);
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
  // reserve() may reallocate the layers' workspaces, which a concurrent predict uses: under the lock
  std::lock_guard<std::mutex> lock(net_->inference_mutex());
  reserve(d.n);
  FtzScope ftz;
  if (reset) reset_metrics();
  return batch(d.x, d.y, d.y_cols, d.sample_weight, d.n, true);
}

double Trainer::evaluate(const DataView& d, std::int64_t batch_size, bool reset) {
  if (d.n <= 0) throw std::invalid_argument("evaluate: the data is empty");
  const std::int64_t bs = std::min(batch_size, d.n);
  std::lock_guard<std::mutex> lock(net_->inference_mutex());
  reserve(bs);
  FtzScope ftz;
  if (reset) reset_metrics();
  for (std::int64_t s = 0; s < d.n; s += bs) {
    const std::int64_t b = std::min(bs, d.n - s);
    batch(d.x + s * net_->in_features(), d.y + s * d.y_cols, d.y_cols,
          d.sample_weight ? d.sample_weight + s : nullptr, b, false);
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
  net.regularization(true);
  opt_->apply(net.params().data(), net.grads().data());
  net.apply_constraints();
  ++net.train_steps;
}
// --- end of data-parallel training ---

bool Trainer::last_loss_finite() const { return std::isfinite(last_loss_); }

double Trainer::batch(const float* x, const float* y, std::int64_t y_cols, const float* sw, std::int64_t b,
                      bool training, std::int64_t grad_rows) {
  Network& net = *net_;
  const auto& layers = net.layers();
  const std::size_t L = layers.size();
  ForwardCtx ctx;
  ctx.training = training;
  ctx.step = net.train_steps * static_cast<std::uint64_t>(shard_size_) + static_cast<std::uint64_t>(shard_rank_);

  const bool prof = profiling_;
  Clock::time_point t;
  if (prof) t = Clock::now();

  // forward
  double penalty = 0.0;
  const float* cur = x;
  for (std::size_t i = 0; i < L; ++i) {
    penalty += layers[i]->forward(cur, acts_[i].data(), b, ctx);
    cur = acts_[i].data();
    if (prof) prof_.forward_s[i] += seconds_since(t);
  }
  const float* y_pred = acts_[L - 1].data();
  const std::int64_t k = net.out_features();

  // loss (and its gradient when training)
  const float scale = loss_.weight / static_cast<float>(grad_rows > 0 ? grad_rows : b);
  float* dy = training ? dy_a_.data() : nullptr;
  if (training && fused_)
    loss_forward_backward_fused(loss_.kind, loss_.params, layers[L - 1]->output_activation(), y, y_cols, y_pred,
                                b, k, sw, scale, per_sample_.data(), dy);
  else
    loss_forward_backward(loss_.kind, loss_.params, y, y_cols, y_pred, b, k, sw, scale,
                          per_sample_.data(), dy);
  double total = 0.0;
  for (std::int64_t i = 0; i < b; ++i) total += per_sample_.data()[i] * (sw ? sw[i] : 1.0f);
  double batch_loss = static_cast<double>(loss_.weight) * total / static_cast<double>(b);
  batch_loss += penalty + net.regularization(false);
  if (prof) prof_.loss_s += seconds_since(t);

  // metrics on this batch's predictions (before the update, as Keras)
  for (auto& m : metrics_) m->update(y, y_cols, y_pred, b, k, nullptr);
  for (auto& m : weighted_metrics_) m->update(y, y_cols, y_pred, b, k, sw);
  if (prof) prof_.metrics_s += seconds_since(t);

  if (training) {
    float* g = dy;
    float* other = dy_b_.data();
    for (std::size_t i = L; i-- > 0;) {
      const float* xin = i == 0 ? x : acts_[i - 1].data();
      float* dx = i == 0 ? nullptr : other;
      layers[i]->backward(xin, acts_[i].data(), g, dx, b, fused_ && i == L - 1);
      std::swap(g, other);
      if (prof) prof_.backward_s[i] += seconds_since(t);
    }
    if (grad_hook_) grad_hook_(net.grads().data(), net.grads().size());  // data-parallel (set_grad_hook)
    net.regularization(true);
    opt_->apply(net.params().data(), net.grads().data());
    net.apply_constraints();
    ++net.train_steps;
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
