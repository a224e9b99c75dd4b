// optimizers/: Keras 3 optimizers over the flat parameter buffer.
//
// All trainable parameters live in one flat float32 buffer w (and their gradients in
// g, same layout); each trainable tensor is a ParamSegment inside it. Every optimizer
// slot (momentum, velocity, ...) is a flat buffer with the same layout, allocated once
// in build(). One apply() is one Keras `apply_gradients` call
// (Keras 3's keras/src/optimizers/base_optimizer.py), in this order:
//   loss_scale_factor -> gradient accumulation -> clipping (clipnorm | global_clipnorm |
//   clipvalue) -> decoupled weight decay -> update rule -> EMA -> iterations += 1
// and each step is ONE fused vectorized pass over the buffer (kernel family "update",
// per ISA), split over threads above a size threshold. Results do not depend on the
// thread count (norms use a fixed-order blocked reduction).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/f32-update/update.h"
#include "optimizers/schedule.h"

namespace ranvier {

// One trainable tensor inside the flat buffer.
struct ParamSegment {
  std::int64_t offset = 0, size = 0;
  bool weight_decay = true;  // false: excluded from weight decay (exclude_from_weight_decay)
};

// The kinds, in the order of optimizers/optimizers.def (the one list of optimizers).
enum class OptimizerKind : int {
#define RANVIER_OPTIMIZER(kind, cls, learning_rate, weight_decay) kind,
#include "optimizers/optimizers.def"
};

const char* optimizer_kind_name(OptimizerKind k);   // "sgd", "rmsprop", ...
const char* optimizer_class_name(OptimizerKind k);  // Keras's class name: "SGD", "RMSprop", ...
const std::vector<OptimizerKind>& all_optimizer_kinds();  // in table order
// The kind named `name` (its kind name or Keras's class name, case-insensitive).
bool optimizer_kind_from_name(const std::string& name, OptimizerKind* kind);
// One hyperparameter of a kind, in Keras's get_config order (optimizers.def).
struct OptimizerHyper {
  const char* name;
  bool flag;     // a bool (else a number)
  double value;  // Keras's default
};
const std::vector<OptimizerHyper>& optimizer_hypers(OptimizerKind k);
// Every slot a kind can have (optimizers.def), in the rule's order, with the index of the
// Keras add_optimizer_variables call that creates it.
struct OptimizerSlot {
  const char* name;
  int group;
};
const std::vector<OptimizerSlot>& optimizer_slots(OptimizerKind k);

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::adam;
  // Learning rate: a constant float32 (schedule.kind == constant), a built-in schedule,
  // or external (the caller sets it with set_learning_rate before each apply).
  float learning_rate = 0.001f;
  ScheduleConfig schedule;  // kind constant by default

  // Hyperparameters (each optimizer reads its own; use keras_defaults(kind) to start).
  double momentum = 0.0;                  // SGD, RMSprop
  bool nesterov = false;                  // SGD
  double rho = 0.9;                       // RMSprop (0.9), Adadelta (0.95)
  double epsilon = 1e-7;                  // RMSprop, Adagrad, Adadelta, Adam*, Nadam
  bool centered = false;                  // RMSprop
  double initial_accumulator_value = 0.1; // Adagrad, Ftrl
  double beta_1 = 0.9, beta_2 = 0.999;    // Adam, AdamW, Adamax, Nadam, Lion (beta_2 0.99)
  bool amsgrad = false;                   // Adam, AdamW
  double learning_rate_power = -0.5;      // Ftrl
  double l1_regularization_strength = 0.0;
  double l2_regularization_strength = 0.0;
  double l2_shrinkage_regularization_strength = 0.0;
  double beta = 0.0;                      // Ftrl

  // Common arguments (0 = off, as Keras's None).
  double weight_decay = 0.0;
  double clipnorm = 0.0, clipvalue = 0.0, global_clipnorm = 0.0;  // at most one > 0
  double loss_scale_factor = 0.0;
  bool use_ema = false;
  double ema_momentum = 0.99;
  std::int64_t ema_overwrite_frequency = 0;
  std::int64_t gradient_accumulation_steps = 0;  // 0 = off, else >= 2
};

// Keras's constructor defaults for `kind` (learning rate, rho, beta_2, weight_decay...).
OptimizerConfig keras_defaults(OptimizerKind kind);

// A named state buffer of the optimizer (for saving and resuming exactly).
struct SlotView {
  std::string name;  // Keras's slot name: "momentum", "velocity", "average", ...
  float* data;
  std::int64_t size;
};

class Optimizer {
 public:
  // Validates the config; throws std::invalid_argument naming the argument and why.
  explicit Optimizer(const OptimizerConfig& config);
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;
  ~Optimizer();

  const OptimizerConfig& config() const { return cfg_; }

  // Allocates every slot once (64-byte aligned) for a flat buffer of n floats holding
  // `segments` (sorted, non-overlapping, inside [0, n); empty = one segment [0, n)).
  // Elements outside every segment are never touched. Calling build again rebuilds
  // (slots reset) — the model calls it once.
  void build(std::int64_t n, std::vector<ParamSegment> segments);
  bool built() const { return built_; }
  std::int64_t size() const { return n_; }
  const std::vector<ParamSegment>& segments() const { return segs_; }

  // One Keras apply_gradients over the flat buffers w and g (n floats each). g is
  // scratch: it may be overwritten (with gradient accumulation, on the update step it
  // holds the averaged gradient afterwards). `active` (optional, one byte per segment):
  // 0 = the segment has no gradient this step (Keras drops None gradients): its
  // weights and slots are left alone (EMA still follows it). No allocation.
  void apply(float* w, float* g, const unsigned char* active = nullptr);

  // The learning rate the next apply uses: the schedule at the current (pre-increment)
  // raw step, the constant, or the external value.
  float current_learning_rate() const;
  // Constant and external learning rates only (std::logic_error for a schedule).
  void set_learning_rate(float lr);
  // Replaces the learning rate's kind (a schedule, constant or external).
  void set_schedule(const ScheduleConfig& s, float learning_rate);
  bool uses_schedule() const;
  bool uses_external_lr() const { return cfg_.schedule.kind == ScheduleKind::external; }

  // Keras's public `iterations`: the number of updates (raw calls // accumulation steps).
  std::int64_t iterations() const;
  void set_iterations(std::int64_t it);  // sets the raw count to it * accumulation steps
  // Raw count of apply() calls (what schedules see and what is saved).
  std::int64_t raw_iterations() const { return raw_; }
  void set_raw_iterations(std::int64_t raw);
  // True when the next apply updates the weights (always, without accumulation).
  bool next_is_update_step() const;

  // State for saving/resuming: views of every slot buffer (size n each), the EMA
  // ("average") and the gradient accumulator ("gradient_accumulator") included.
  std::vector<SlotView> slots();
  // Extra scalars (Nadam: "u_product"); empty for the others.
  std::vector<std::string> scalar_names() const;
  double scalar(const std::string& name) const;
  void set_scalar(const std::string& name, double value);  // std::invalid_argument if unknown
  // Overwrites w (inside the segments) with the EMA weights; no-op without use_ema.
  void finalize_ema(float* w) const;

  // Elements per apply at or above which threads are used. Measured with
  // bench/bench_optimizers.py --sweep (Adam, 2 threads vs 1): Zen3 (AVX2) 0.90x at 16K,
  // 1.10x at 32K, 1.25x at 64K; Xeon (AVX-512) 1.10x at 16K, 1.43x at 32K. Settable
  // for that measurement.
  static std::int64_t parallel_threshold();
  static void set_parallel_threshold(std::int64_t elements);  // <= 0: the default
  static constexpr std::int64_t kDefaultParallelThreshold = 1 << 15;

 private:
  struct Run {
    std::int64_t offset, size;
    int seg;  // first segment of the run
  };
  struct Block {
    std::int64_t offset, size;
    int seg;
  };

  static void validate(const OptimizerConfig& c);
  void compute_norms(const float* g, const unsigned char* active, double gscale);
  void layerwise_stats(UpdateStatsFn stats, float* w, const float* g, const unsigned char* active, bool decay,
                       const UpdateArgs& base);
  template <class Fn>
  void for_pieces(const std::vector<Run>& runs, const std::vector<std::int64_t>& cum, Fn&& fn) const;

  OptimizerConfig cfg_;
  bool built_ = false;
  std::int64_t n_ = 0;
  std::vector<ParamSegment> segs_;
  std::vector<Run> runs_merged_;  // consecutive segments with the same decay flag merged
  std::vector<Run> runs_seg_;     // one run per segment
  std::vector<std::int64_t> cum_merged_, cum_seg_;  // prefix sizes (runs' starts in covered elements)
  std::vector<Block> blocks_;     // fixed blocks for the norm reduction
  std::vector<double> partials_;  // per block
  std::vector<double> seg_sumsq_; // per segment
  std::vector<double> stats_;     // layer-wise rules: two sums per block
  std::vector<double> seg_stats_; // layer-wise rules: two sums per segment
  std::vector<float> seg_gscale_; // per segment gradient scale of the current step
  std::vector<float*> slot_ptrs_;            // the rule's slots, in kernel order
  std::vector<std::string> slot_names_;
  std::vector<float*> bufs_;                 // every allocation (slots, ema, accumulator)
  float* ema_ = nullptr;
  float* acc_ = nullptr;
  std::vector<UpdateArgs> run_args_;         // per run of the current step (sized in build)
  std::int64_t raw_ = 0;
  double u_product_ = 1.0;                   // Nadam
};

// STREAM triad a = b + s*c with the active ISA's update kernel on `nthreads` threads
// (contiguous chunks): the memory-bandwidth yardstick of bench/bench_optimizers.py.
void update_triad(float* a, const float* b, const float* c, float s, std::int64_t n, int nthreads);

}  // namespace ranvier
