// The concrete layers behind ranvier.layers: Dense, Dropout, BatchNormalization,
// LayerNormalization, Flatten and the activation layers (Activation, ReLU, LeakyReLU,
// ELU, Softmax share ActivationLayer). Each implements the Layer interface of
// layer.h: row-major float32, one row per sample, parameters bound from outside,
// workspaces sized in reserve(), forward/backward allocation-free and with results
// that do not depend on the thread count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "layers/layer.h"
#include "layers/weight_rules.h"
#include "ops/activations.h"

namespace ranvier {

// ---------------------------------------------------------------------------- Dense
struct DenseConfig {
  std::int64_t units = 1;
  ActKind activation = ActKind::linear;
  ActParams act_params;
  bool use_bias = true;
  Penalty kernel_regularizer, bias_regularizer;
  Penalty activity_regularizer;  // on the output; the penalty is divided by the batch size
  Constraint kernel_constraint, bias_constraint;
  // The mixed_bfloat16 policy: the inputs of the forward and backward GEMMs are rounded
  // to bfloat16 (bgemm); everything else (weights, sums, activations) stays float32.
  bool bf16 = false;
  // The mixed_float16 policy: the GEMM inputs are rounded to IEEE half (hgemm), and so are
  // the layer's output (and its pre-activation) and its gradients (dz, dW, db, dx), as
  // Keras's float16 values: past 65504 is inf, below 2**-25 is 0. Weights, sums and the
  // activation math stay float32.
  bool f16 = false;
};

// y = act(x @ kernel + bias); kernel (in, units) row-major (Keras layout), bias (units).
class Dense final : public Layer {
 public:
  explicit Dense(const DenseConfig& cfg);
  const char* type_name() const override { return "Dense"; }
  std::int64_t build(std::int64_t in_features) override;
  std::int64_t in_features() const override { return in_; }
  std::int64_t out_features() const override { return cfg_.units; }
  std::vector<ParamSpec> param_specs() const override;
  void bind(const std::vector<float*>& params, const std::vector<float*>& grads) override;
  void reserve(std::int64_t max_batch) override;
  double forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) override;
  void backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch,
                bool dy_is_preactivation) override;
  ActKind output_activation() const override { return cfg_.activation; }
  double regularization(bool add_grad) override;
  void apply_constraints() override;

  const DenseConfig& config() const { return cfg_; }

 private:
  DenseConfig cfg_;
  std::int64_t in_ = 0;
  bool fused_relu_ = false;  // plain relu: fused into the GEMM epilogue
  ActNeeds needs_{false, false};
  float* w_ = nullptr;
  float* b_ = nullptr;
  float* dw_ = nullptr;
  float* db_ = nullptr;
  std::int64_t cap_ = 0;
  std::vector<float> z_;        // pre-activation (training, when backward needs it)
  std::vector<float> scratch_;  // activity-regularizer gradient through the activation
  std::vector<double> colsum_;  // bias-gradient accumulators
  bool z_valid_ = false;
};

// ---------------------------------------------------------------------------- Dropout
// Inverted dropout. The keep decision for element i of a batch is a counter-based
// hash of (seed, ctx.step, i): identical at any thread count, reproducible, and new
// for every training step. Elements are kept with probability 1 - rate and scaled
// by 1 / (1 - rate). Identity outside training; rate 0 identity, rate 1 zeros.
// noise_shape: broadcast_rows shares one mask over the batch (noise_shape (1, d)),
// broadcast_cols one keep decision per sample (noise_shape (batch, 1)).
class Dropout final : public Layer {
 public:
  Dropout(float rate, std::uint64_t seed, bool broadcast_rows = false, bool broadcast_cols = false);
  const char* type_name() const override { return "Dropout"; }
  std::int64_t build(std::int64_t in_features) override;
  std::int64_t in_features() const override { return n_; }
  std::int64_t out_features() const override { return n_; }
  void reserve(std::int64_t max_batch) override;
  double forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) override;
  void backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch,
                bool dy_is_preactivation) override;

  // The keep test of element `index` (exposed for the tests): keep iff
  // bits(seed, step, index) >= threshold(rate). See dropout.cpp for the hash.
  static std::uint32_t bits(std::uint64_t seed, std::uint64_t step, std::uint64_t index);
  static std::uint64_t threshold(float rate);
  // The one check of `rate` (in [0, 1]; NaN refused), with Keras's message naming the
  // value as given (`shown`).
  static void check_rate(double rate, const std::string& shown);

 private:
  float rate_;
  std::uint64_t seed_;
  bool bcast_rows_, bcast_cols_;
  std::int64_t n_ = 0;
  std::int64_t cap_ = 0;
  std::vector<std::uint8_t> mask_;  // keep decisions of the last training forward
  bool last_identity_ = true;
};

// ---------------------------------------------------------------------------- BatchNormalization
struct BatchNormConfig {
  double momentum = 0.99;  // double: Keras forms 1 - momentum in Python (double) precision
  float epsilon = 1e-3f;
  bool center = true;
  bool scale = true;
  Penalty gamma_regularizer, beta_regularizer;
  Constraint gamma_constraint, beta_constraint;
};

// Normalizes each feature over the batch (training) or with the moving statistics
// (inference, or a frozen layer). Params: gamma (if scale), beta (if center),
// moving_mean, moving_variance (non-trainable). Training forward updates the moving
// statistics with the biased batch variance (Keras).
class BatchNormalization final : public Layer {
 public:
  explicit BatchNormalization(const BatchNormConfig& cfg);
  // The one check of `momentum` (in [0, 1]).
  static void check_momentum(double momentum);
  const char* type_name() const override { return "BatchNormalization"; }
  std::int64_t build(std::int64_t in_features) override;
  std::int64_t in_features() const override { return n_; }
  std::int64_t out_features() const override { return n_; }
  std::vector<ParamSpec> param_specs() const override;
  void bind(const std::vector<float*>& params, const std::vector<float*>& grads) override;
  void reserve(std::int64_t max_batch) override;
  double forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) override;
  void backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch,
                bool dy_is_preactivation) override;
  double regularization(bool add_grad) override;
  void apply_constraints() override;

 private:
  BatchNormConfig cfg_;
  std::int64_t n_ = 0;
  float* gamma_ = nullptr;
  float* beta_ = nullptr;
  float* mmean_ = nullptr;
  float* mvar_ = nullptr;
  float* dgamma_ = nullptr;
  float* dbeta_ = nullptr;
  // per-feature workspaces (sized in build)
  std::vector<float> mean_, inv_std_, a_, s_, k0_, k1_;
  std::vector<double> acc1_, acc2_;
  bool last_training_ = false;
};

// ---------------------------------------------------------------------------- LayerNormalization
struct LayerNormConfig {
  float epsilon = 1e-3f;
  bool center = true;
  bool scale = true;
  Penalty gamma_regularizer, beta_regularizer;
  Constraint gamma_constraint, beta_constraint;
};

// Normalizes each sample over its features (biased variance), then gamma/beta.
// Params: gamma (if scale), beta (if center).
class LayerNormalization final : public Layer {
 public:
  explicit LayerNormalization(const LayerNormConfig& cfg);
  const char* type_name() const override { return "LayerNormalization"; }
  std::int64_t build(std::int64_t in_features) override;
  std::int64_t in_features() const override { return n_; }
  std::int64_t out_features() const override { return n_; }
  std::vector<ParamSpec> param_specs() const override;
  void bind(const std::vector<float*>& params, const std::vector<float*>& grads) override;
  void reserve(std::int64_t max_batch) override;
  double forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) override;
  void backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch,
                bool dy_is_preactivation) override;
  double regularization(bool add_grad) override;
  void apply_constraints() override;

 private:
  LayerNormConfig cfg_;
  std::int64_t n_ = 0;
  float* gamma_ = nullptr;
  float* beta_ = nullptr;
  float* dgamma_ = nullptr;
  float* dbeta_ = nullptr;
  std::int64_t cap_ = 0;
  std::vector<float> mean_, inv_std_;  // per row of the last forward
  std::vector<double> acc1_, acc2_;    // per feature (param gradients)
};

// ---------------------------------------------------------------------------- Flatten
// The model hands N-D samples over flattened in C order, so Flatten is the identity on
// rows, except with data_format="channels_first" on samples of rank >= 2: a sample of
// shape (C, d1, ..., dk) is then reordered to (d1, ..., dk, C) before flattening, as
// Keras does (forward: y[s*C + c] = x[c*S + s], S = d1*...*dk; backward: the inverse).
class Flatten final : public Layer {
 public:
  Flatten() = default;
  // sample_shape: a sample's dimensions (batch excluded); channels_first as above.
  Flatten(std::vector<std::int64_t> sample_shape, bool channels_first);
  const char* type_name() const override { return "Flatten"; }
  std::int64_t build(std::int64_t in_features) override;
  std::int64_t in_features() const override { return n_; }
  std::int64_t out_features() const override { return n_; }
  double forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) override;
  void backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch,
                bool dy_is_preactivation) override;
  bool channels_first() const { return channels_ > 0; }

 private:
  std::vector<std::int64_t> shape_;
  bool want_channels_first_ = false;
  std::int64_t n_ = 0;
  std::int64_t channels_ = 0;  // > 0: reorder (C, S) -> (S, C) per sample
  std::int64_t spatial_ = 0;
};

// ---------------------------------------------------------------------------- activation layers
// y = f(x) for any ActKind (softmax / log_softmax per row). type_name is the Keras
// class it stands for ("Activation", "ReLU", "LeakyReLU", "ELU", "Softmax").
class ActivationLayer final : public Layer {
 public:
  ActivationLayer(ActKind kind, const ActParams& params, std::string type_name = "Activation");
  const char* type_name() const override { return type_name_.c_str(); }
  std::int64_t build(std::int64_t in_features) override;
  std::int64_t in_features() const override { return n_; }
  std::int64_t out_features() const override { return n_; }
  double forward(const float* x, float* y, std::int64_t batch, const ForwardCtx& ctx) override;
  void backward(const float* x, const float* y, float* dy, float* dx, std::int64_t batch,
                bool dy_is_preactivation) override;
  ActKind output_activation() const override { return kind_; }

 private:
  ActKind kind_;
  ActParams params_;
  std::string type_name_;
  std::int64_t n_ = 0;
};

}  // namespace ranvier
