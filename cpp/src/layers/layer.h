// The layer interface the network (model/) drives. Data is row-major float32,
// one row per sample: x is (batch x in_features), y is (batch x out_features).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "ops/activations.h"

namespace ranvier {

struct ParamSpec {
  std::string name;                 // "kernel", "bias", "gamma", "beta", "moving_mean", ...
  std::vector<std::int64_t> shape;  // Keras shape, e.g. kernel (in_features, units)
  bool trainable = true;
};

// What a forward pass needs to know beyond its input.
struct ForwardCtx {
  bool training = false;    // dropout active, batch statistics in BatchNormalization
  std::uint64_t step = 0;   // global training step: with the layer's seed it keys the dropout
                            // mask (counter-based, so masks do not depend on thread count)
};

class Layer {
 public:
  virtual ~Layer() = default;
  virtual const char* type_name() const = 0;

  // Called once with the input feature count; returns the output feature count.
  // Throws std::invalid_argument when the input cannot be accepted.
  virtual std::int64_t build(std::int64_t in_features) = 0;
  virtual std::int64_t in_features() const = 0;
  virtual std::int64_t out_features() const = 0;

  // Parameters in Keras weight order (trainable ones first, then non-trainable).
  virtual std::vector<ParamSpec> param_specs() const { return {}; }
  // Storage for the parameters, one pointer per param_specs() entry, in order.
  // grads[i] is null for non-trainable params. Owned by the caller (the network's
  // flat buffers, or arrays held by a standalone Python layer); may be re-bound.
  virtual void bind(const std::vector<float*>& params, const std::vector<float*>& grads) {
    (void)params; (void)grads;
  }
  // Allocates workspaces for batches of up to max_batch rows. forward/backward
  // never allocate.
  virtual void reserve(std::int64_t max_batch) { (void)max_batch; }

  // y = layer(x). Returns the activity-regularization penalty for this batch (0 if none).
  virtual double forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) = 0;

  // Backward of the last forward(training=true) call (x, y still hold its input and output).
  // Writes (does not add) the parameter gradients, and dx = dL/dx unless dx is null.
  // dy may be overwritten. dy_is_preactivation: dy is already the gradient with
  // respect to the input of this layer's output activation (the loss fused it).
  virtual void backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch,
                        bool dy_is_preactivation) = 0;

  // ---- Several inputs (the merge layers: Concatenate, Add, Dot, ...). A graph node calls
  // these four; a single-input layer keeps the defaults, which forward to the one-input
  // methods above. A multi-input layer overrides all four (and implements the one-input
  // build/forward/backward by throwing std::logic_error).
  virtual int num_inputs() const { return 1; }
  // Built for the widths of its inputs, in order; returns the output width.
  virtual std::int64_t build_inputs(const std::vector<std::int64_t>& in_features) {
    if (in_features.size() != 1)
      throw std::invalid_argument(std::string(type_name()) + " takes 1 input, got " +
                                  std::to_string(in_features.size()));
    return build(in_features[0]);
  }
  virtual std::int64_t input_features(int i) const { (void)i; return in_features(); }
  // xs[i]: input i, (batch x input_features(i)).
  virtual double forward_inputs(const float* const* xs, float* y, std::int64_t batch, const ForwardCtx& ctx) {
    return forward(xs[0], y, batch, ctx);
  }
  // Writes (does not add) dxs[i] = dL/dxs[i]; dxs[i] null: no gradient wanted for input i.
  virtual void backward_inputs(const float* const* xs, const float* y, float* dy, float* const* dxs,
                               std::int64_t batch, bool dy_is_preactivation) {
    backward(xs[0], y, dy, dxs[0], batch, dy_is_preactivation);
  }

  // The activation applied last by this layer (for loss fusion); linear when none.
  virtual ActKind output_activation() const { return ActKind::linear; }

  // Weight-regularization penalty (kernel/bias regularizers) of the current params;
  // with add_grad, adds its gradient into the bound grads.
  virtual double regularization(bool add_grad) { (void)add_grad; return 0.0; }

  // Applies kernel/bias constraints after an optimizer step.
  virtual void apply_constraints() {}

  // Keras's `layer.trainable = False`. A frozen layer reports every
  // param as non-trainable in param_specs(), computes no param gradients, adds no
  // weight regularization, and BatchNormalization runs in inference mode even when
  // ctx.training. Change it only before the network is finalized (param_specs() changes).
  void set_trainable(bool trainable) { trainable_ = trainable; }
  bool trainable() const { return trainable_; }

  // The loss scale of the current training step (a LossScaleOptimizer's dynamic scale, set
  // by the trainer around its backward pass; 1 otherwise): a gradient a layer adds in its
  // own backward (an activity penalty's) is multiplied by it, like the loss gradient.
  void set_loss_scale(float s) { loss_scale_ = s; }

 protected:
  bool trainable_ = true;
  float loss_scale_ = 1.0f;
};

}  // namespace ranvier
