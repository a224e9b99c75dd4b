// model/trainer.h: the trainer that runs whole epochs in C++ over a Network (shuffle,
// gather, forward, loss, backward, optimizer step, metrics) with no allocation per batch.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "metrics/metrics.h"
#include "model/network.h"

namespace ranvier {

class Optimizer;
class LossScaler;

// Data for one pass: xs[i] (n x input_features(i)) per graph input, ys[j] (n x y_cols[j])
// per output, sample_weights[j] (n values, or null: none) per output (empty: none at all).
// The arrays are the caller's (NumPy's): never copied. ys[j] may be null for an output
// without a loss (Trainer's has_loss).
struct DataView {
  std::vector<const float*> xs;
  std::vector<const float*> ys;
  std::vector<std::int64_t> y_cols;
  std::vector<const float*> sample_weights;
  std::int64_t n = 0;
  // One input and one output (Sequential, the C++ API).
  static DataView single(const float* x, const float* y, std::int64_t y_cols, const float* sample_weight,
                         std::int64_t n) {
    DataView d;
    d.xs = {x};
    d.ys = {y};
    d.y_cols = {y_cols};
    d.sample_weights = {sample_weight};
    d.n = n;
    return d;
  }
};

// Where training time goes (Trainer::set_profiling): seconds per phase, and per layer for
// the forward and backward passes, summed over the batches since the last reset.
struct TrainerProfile {
  std::vector<double> forward_s, backward_s;  // per node, in network order
  double data_s = 0.0;     // gathering the shuffled batch rows
  double loss_s = 0.0;     // loss value and its gradient
  double metrics_s = 0.0;  // metric updates
  double update_s = 0.0;   // gradient hook, regularization, optimizer step, constraints
  std::int64_t train_steps = 0, eval_steps = 0, samples = 0;
};

class Trainer {
 public:
  // One loss (LossSpec.weight = Keras's loss_weight), one metrics list and one
  // weighted-metrics list per output. has_loss[j] false: output j has no loss (Keras's None
  // entry: no gradient, no `<output>_loss`); empty: every output has one.
  Trainer(std::shared_ptr<Network> net, std::shared_ptr<Optimizer> opt, std::vector<LossSpec> losses,
          std::vector<std::vector<std::shared_ptr<Metric>>> metrics,
          std::vector<std::vector<std::shared_ptr<Metric>>> weighted_metrics, std::vector<bool> has_loss = {});
  // One output.
  Trainer(std::shared_ptr<Network> net, std::shared_ptr<Optimizer> opt, LossSpec loss,
          std::vector<std::shared_ptr<Metric>> metrics,
          std::vector<std::shared_ptr<Metric>> weighted_metrics);

  // Sizes every workspace for batches of up to batch_size rows (the only allocations).
  void reserve(std::int64_t batch_size);

  // --- training over a data set, one epoch at a time ---
  const Network& network() const { return *net_; }
  void set_train_data(const DataView& d, std::int64_t batch_size);
  void clear_train_data() { data_ = DataView{}; }
  bool has_train_data() const { return !data_.xs.empty(); }
  std::int64_t steps_per_epoch() const;
  // Resets the running loss and metrics and draws this epoch's order
  // (a permutation from `seed` when shuffle, else 0..n-1).
  void begin_epoch(bool shuffle, std::uint64_t seed);
  // Runs up to max_steps batches of the current epoch; returns early (after at least
  // one batch) once time_budget_s seconds have passed (<= 0: no limit). Returns the
  // number of batches run. Throws std::invalid_argument on bad labels.
  std::int64_t run(std::int64_t max_steps, double time_budget_s);
  std::int64_t step_in_epoch() const { return step_in_epoch_; }

  // --- one batch: one optimizer step on the caller's rows, returns the batch loss.
  // train_on_batch resets the running loss and metrics first (reset); fit on batches
  // from a generator or dataset (python/ranvier/_data.py) accumulates them (!reset) ---
  double train_batch(const DataView& d, bool reset = true);

  // --- inference over a data set: resets the loss and metrics first (unless !reset,
  // which accumulates into the running values, for batch-by-batch evaluation) ---
  double evaluate(const DataView& d, std::int64_t batch_size, bool reset = true);

  // Running mean of the batch losses (batch-size weighted) since the last reset: the sum of
  // the weighted output losses plus the penalties.
  double mean_loss() const { return seen_ ? loss_sum_ / static_cast<double>(seen_) : 0.0; }
  // Each output's running mean of its unweighted loss, without penalties (Keras's
  // `<output>_loss`); 0 for an output without a loss.
  std::vector<double> output_mean_losses() const;
  int num_outputs() const { return static_cast<int>(losses_.size()); }
  void reset_metrics();
  bool last_loss_finite() const;

  // --- profiling: with it on, every batch adds its phase times (steady clock, a few
  // clock reads per layer: negligible next to a layer) to profile(). Off by default.
  void set_profiling(bool on);
  bool profiling() const { return profiling_; }
  const TrainerProfile& profile() const { return prof_; }
  void reset_profile();

  // --- data-parallel training (driven by python/ranvier/distributed.py) ---
  // A gradient hook is called once per training step (run(), train_batch()), after backward and
  // before the weight-regularization gradient is added and the optimizer step, with the
  // network's flat gradient buffer (grads(), n floats); e.g. an MPI allreduce(SUM) in
  // place. An exception it throws propagates out of run() with the step not applied.
  using GradHook = std::function<void(float* grads, std::int64_t n)>;
  void set_grad_hook(GradHook hook) { grad_hook_ = std::move(hook); }
  // run() trains on shard `rank` of `size` of every batch: rows [rank*b/size,
  // (rank+1)*b/size) of each batch of b rows in the epoch's order, with the loss gradient
  // scaled by 1/b (the whole batch), so that the sum of the shards' gradients is the
  // whole batch's gradient. A shard with no rows still calls the hook (with zero
  // gradients) and steps. Dropout masks are keyed by (step, rank). (0, 1): no sharding.
  void set_shard(int rank, int size);
  // --- end of data-parallel training ---

  // Dynamic loss scaling (a LossScaleOptimizer; null: none): the loss gradient is
  // multiplied by its scale, and its pre_step runs over the gradients after the gradient
  // hook, before regularization and the optimizer step, skipping steps with a non-finite
  // gradient (optimizers/loss_scale.h).
  void set_loss_scaler(std::shared_ptr<LossScaler> s) { scaler_ = std::move(s); }
  const std::shared_ptr<LossScaler>& loss_scaler() const { return scaler_; }

 private:
  void check_data(const DataView& d, const char* what) const;
  // One batch through forward (+ backward and update when training): xs_/ys_/sws_ hold the
  // batch's row pointers. grad_rows: the rows the loss gradient is averaged over (0: b; see
  // set_shard).
  double batch(std::int64_t b, bool training, std::int64_t grad_rows = 0);
  void point_at(const DataView& d, std::int64_t start);  // xs_/ys_/sws_ = d's rows from start
  void empty_shard_step();  // a sharded step with no local rows (see set_shard)
  void gather(std::int64_t start, std::int64_t b);
  void prefetch_row(std::int64_t pos) const;
  // The next batch's first rows are prefetched a few at a time between the layers of this
  // step (prefetch_some), so their misses overlap the step's arithmetic instead of queueing
  // behind each other in one burst (positions [pf_next_, pf_end_) of the epoch's order).
  void prefetch_some(std::int64_t rows) {
    const std::int64_t end = std::min(pf_end_, pf_next_ + rows);
    for (; pf_next_ < end; ++pf_next_) prefetch_row(pf_next_);
  }
  void update_step();  // shared grads, hook, regularization, optimizer step, constraints
  void apply_update();  // loss-scale check, regularization, optimizer step, constraints, step count

  std::shared_ptr<Network> net_;
  std::shared_ptr<Optimizer> opt_;
  std::shared_ptr<LossScaler> scaler_;
  bool skip_step();  // the loss scaler's pre-pass; true: this step is skipped
  void set_layers_loss_scale(float s);
  std::vector<LossSpec> losses_;
  std::vector<bool> has_loss_;
  std::vector<std::vector<std::shared_ptr<Metric>>> metrics_, weighted_metrics_;
  std::vector<char> fused_;  // per output
  std::vector<char> fused_node_;  // per node: its output takes a fused loss gradient

  std::int64_t cap_ = 0;  // workspace rows
  std::vector<FloatBuffer> acts_;   // acts_[k] = output of node k (cap x its width)
  std::vector<FloatBuffer> grads_;  // the plan's gradient buffers (cap x width each)
  std::vector<FloatBuffer> xbuf_, ybuf_, swbuf_;  // gathered rows, per input / output
  FloatBuffer per_sample_;
  // The batch's rows (set per batch, sized once): per tensor (activations), per output.
  std::vector<const float*> act_ptr_;
  std::vector<const float*> ys_, sws_;
  std::vector<std::int64_t> ycols_;
  std::vector<const float*> in_ptrs_;  // a node's inputs (scratch, sized to the widest node)
  std::vector<float*> dx_ptrs_;

  DataView data_;
  std::int64_t batch_size_ = 0;
  std::vector<std::int64_t> order_;
  // Per input of the training data: its row width and the cache lines prefetch_row touches
  // (set with the data, read per row by gather and prefetch_row).
  std::vector<std::int64_t> in_f_, x_lines_;
  bool shuffled_ = false;
  std::int64_t step_in_epoch_ = 0;
  std::int64_t pf_next_ = 0, pf_end_ = 0, pf_per_site_ = 0;  // see prefetch_some

  double loss_sum_ = 0.0;
  std::int64_t seen_ = 0;
  double last_loss_ = 0.0;
  std::vector<double> out_loss_sum_;  // per output, unweighted

  bool profiling_ = false;
  TrainerProfile prof_;

  GradHook grad_hook_;  // data-parallel training (set_grad_hook, set_shard)
  int shard_rank_ = 0, shard_size_ = 1;
};

}  // namespace ranvier
