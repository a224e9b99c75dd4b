// The public C++ API (cpp/include/ranvier/model.hpp) over the core: Network, Trainer, Optimizer, the
// layers, and io/ for files. Logic beyond glue lives in io/model_io; saving/loading in api/model_file.cpp.
#include "ranvier/model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>

#include "config/json.h"
#include "io/model_io.h"
#include "io/safetensors.h"
#include "layers/layer_table.h"
#include "layers/layers.h"
#include "losses/loss_json.h"
#include "model/trainer.h"
#include "api/model_impl.h"
#include "optimizers/optimizer.h"
#include "runtime/runtime.h"

namespace ranvier {

namespace {

using json::Value;

std::uint64_t splitmix64(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform in [-limit, limit), the same numbers on every platform.
void fill_uniform(float* p, std::int64_t n, float limit, std::uint64_t seed) {
  std::uint64_t s = seed;
  for (std::int64_t i = 0; i < n; ++i) {
    const double u = static_cast<double>(splitmix64(s) >> 11) * (1.0 / 9007199254740992.0);  // [0, 1)
    p[i] = static_cast<float>((2.0 * u - 1.0) * limit);
  }
}

std::string to_snake(const std::string& cls) {
  std::string out;
  for (std::size_t i = 0; i < cls.size(); ++i) {
    const char c = cls[i];
    const bool upper = c >= 'A' && c <= 'Z';
    if (upper && i > 0) {
      const bool prev_lower = cls[i - 1] >= 'a' && cls[i - 1] <= 'z';
      const bool next_lower = i + 1 < cls.size() && cls[i + 1] >= 'a' && cls[i + 1] <= 'z';
      if (prev_lower || (next_lower && cls[i - 1] >= 'A' && cls[i - 1] <= 'Z')) out += '_';
    }
    out += upper ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

Value layer_config_base(const std::string& name) {
  Value c = Value::make_object();
  c.set("name", name.empty() ? Value() : Value::make_string(name));
  c.set("trainable", Value::make_bool(true));
  return c;
}

// The layer table's checks (the core constructors') run here, so that a bad argument is
// refused where the layer is described, not at Model::add.
LayerSpec spec(const char* cls, const Value& cfg) {
  check_layer_config(cls, cfg);
  return LayerSpec(cls, json::dump(cfg));
}

}  // namespace

const char* version() { return build_info().version; }

namespace layers {

LayerSpec Dense(std::int64_t units, const std::string& activation, bool use_bias, const std::string& name) {
  Value c = layer_config_base(name);
  c.set("units", Value::make_int(units));
  c.set("activation", Value::make_string(activation));
  c.set("use_bias", Value::make_bool(use_bias));
  return spec("Dense", c);
}

LayerSpec Dropout(double rate, std::uint64_t seed, const std::string& name) {
  Value c = layer_config_base(name);
  c.set("rate", Value::make_number_any(rate));
  c.set("seed", seed ? Value::make_uint(seed) : Value());
  c.set("noise_shape", Value());
  return spec("Dropout", c);
}

LayerSpec BatchNormalization(double momentum, double epsilon, const std::string& name) {
  Value c = layer_config_base(name);
  c.set("axis", Value::make_int(-1));
  c.set("momentum", Value::make_number_any(momentum));
  c.set("epsilon", Value::make_number_any(epsilon));
  c.set("center", Value::make_bool(true));
  c.set("scale", Value::make_bool(true));
  return spec("BatchNormalization", c);
}

LayerSpec LayerNormalization(double epsilon, const std::string& name) {
  Value c = layer_config_base(name);
  c.set("axis", Value::make_int(-1));
  c.set("epsilon", Value::make_number_any(epsilon));
  c.set("center", Value::make_bool(true));
  c.set("scale", Value::make_bool(true));
  return spec("LayerNormalization", c);
}

LayerSpec Activation(const std::string& activation, const std::string& name) {
  Value c = layer_config_base(name);
  c.set("activation", Value::make_string(activation));
  return spec("Activation", c);
}

namespace {
Value lookup_config(const std::string& output_mode, std::int64_t num_oov_indices, const std::string& name) {
  Value c = layer_config_base(name);
  c.set("output_mode", Value::make_string(output_mode));
  c.set("num_oov_indices", Value::make_int(num_oov_indices));
  return c;
}
}  // namespace

LayerSpec StringLookup(const std::vector<std::string>& vocabulary, const std::string& output_mode,
                       std::int64_t num_oov_indices, const std::string& name) {
  Value c = lookup_config(output_mode, num_oov_indices, name);
  Value v = Value::make_array();
  for (const auto& t : vocabulary) v.push_back(Value::make_string(t));
  c.set("vocabulary", std::move(v));
  return spec("StringLookup", c);
}

LayerSpec IntegerLookup(const std::vector<std::int64_t>& vocabulary, const std::string& output_mode,
                        std::int64_t num_oov_indices, const std::string& name) {
  Value c = lookup_config(output_mode, num_oov_indices, name);
  Value v = Value::make_array();
  for (const auto t : vocabulary) v.push_back(Value::make_int(t));
  c.set("vocabulary", std::move(v));
  return spec("IntegerLookup", c);
}

}  // namespace layers

std::string Model::Impl::unique_name(const std::string& base) {
  int& n = name_counts[base];
  std::string name = n == 0 ? base : base + "_" + std::to_string(n);
  ++n;
  return name;
}

void Model::Impl::build() {
  if (net) return;
  if (arch.input_shape.empty()) throw std::logic_error("Model: call input(features) before using the model");
  if (arch.layers.empty()) throw std::logic_error("Model: add at least one layer before using the model");
  if (arch.functional && arch.outputs.empty()) {  // no set_outputs: the last call's output, as add() chains do
    const int last = static_cast<int>(arch.layers.size()) - 1;
    arch.outputs.push_back(io::LayerConfig::TensorRef{last, static_cast<int>(arch.layers.back().nodes.size()) - 1, 0});
    arch.output_names.push_back(arch.layers.back().name);
  }
  net = io::build_network(arch, seeds, &node_names, &seed_by_name);
  // Keras's default initializers: glorot_uniform kernels; an Embedding's table uniform in
  // [-0.05, 0.05]; gamma and moving_variance 1; the rest 0.
  std::uint64_t s = seed ^ 0x5851F42D4C957F2Dull;
  for (const auto& t : net->tensors()) {
    float* p = (t.trainable ? net->params().data() : net->state().data()) + t.offset;
    if (t.name == "kernel" && t.shape.size() == 2) {
      const double limit = std::sqrt(6.0 / static_cast<double>(t.shape[0] + t.shape[1]));
      fill_uniform(p, t.size, static_cast<float>(limit), splitmix64(s));
    } else if (t.name == "embeddings") {
      fill_uniform(p, t.size, 0.05f, splitmix64(s));
    } else if (t.name == "gamma" || t.name == "moving_variance") {
      for (std::int64_t i = 0; i < t.size; ++i) p[i] = 1.0f;
    }
  }
}

std::vector<ParamSegment> Model::Impl::segments() const {
  std::vector<ParamSegment> segs;
  for (const auto& t : net->tensors())
    if (t.trainable) segs.push_back(ParamSegment{t.offset, t.size, true});
  return segs;
}

void Model::Impl::make_optimizer() {
  opt = std::make_shared<Optimizer>(opt_cfg);
  opt->build(net->params().size(), segments());
  trainer.reset();
  scaler.reset();  // a loaded LossScaleOptimizer's is set after this (model_file.cpp)
}

std::vector<LossSpec> Model::Impl::loss_specs(const std::vector<std::int64_t>& y_cols) const {
  std::vector<LossSpec> out;
  for (std::size_t j = 0; j < losses.size(); ++j) {
    if (losses[j].is_null()) {
      out.emplace_back();
      continue;
    }
    LossSpec l = loss_from_json(losses[j], net->output_features(static_cast<int>(j)), j < y_cols.size() ? y_cols[j] : 0);
    l.weight = j < loss_weights.size() ? loss_weights[j] : 1.0f;
    out.push_back(l);
  }
  return out;
}

Trainer& Model::Impl::get_trainer(const std::vector<std::int64_t>& y_cols) {
  const std::vector<LossSpec> want = loss_specs(y_cols);
  std::vector<LossKind> kinds;
  for (const auto& l : want) kinds.push_back(l.kind);
  if (!trainer || kinds != trainer_kinds) {
    if (want.size() == 1 && !losses[0].is_null()) {
      trainer = std::make_shared<Trainer>(net, opt, want[0], std::vector<std::shared_ptr<Metric>>{},
                                          std::vector<std::shared_ptr<Metric>>{});
    } else {
      std::vector<bool> has_loss;
      for (const auto& l : losses) has_loss.push_back(!l.is_null());
      trainer = std::make_shared<Trainer>(net, opt, want,
                                          std::vector<std::vector<std::shared_ptr<Metric>>>(want.size()),
                                          std::vector<std::vector<std::shared_ptr<Metric>>>(want.size()), has_loss);
    }
    trainer_kinds = kinds;
    trainer->set_loss_scaler(scaler);  // a LossScaleOptimizer's (null: none)
  }
  return *trainer;
}

void Model::Impl::check_data(const std::vector<const float*>& xs, const std::vector<const float*>& ys,
                             const std::vector<std::int64_t>& y_cols, std::int64_t n, const char* what) const {
  const std::string w(what);
  const int ni = net->num_inputs(), no = net->num_outputs();
  if (static_cast<int>(xs.size()) != ni)
    throw std::invalid_argument(w + ": the model has " + std::to_string(ni) + " input(s), got " +
                                std::to_string(xs.size()) + " x arrays");
  if (static_cast<int>(ys.size()) != no || static_cast<int>(y_cols.size()) != no)
    throw std::invalid_argument(w + ": the model has " + std::to_string(no) + " output(s), got " +
                                std::to_string(ys.size()) + " y arrays and " + std::to_string(y_cols.size()) +
                                " y_cols");
  if (n <= 0) throw std::invalid_argument(w + ": n must be positive, got " + std::to_string(n));
  for (int i = 0; i < ni; ++i) {
    if (!xs[static_cast<std::size_t>(i)])
      throw std::invalid_argument(ni == 1 ? w + ": x and y must not be null"
                                          : w + ": x for input '" + net->input_name(i) + "' is null");
    if (!all_finite(xs[static_cast<std::size_t>(i)], n * net->input_features(i)))
      throw std::invalid_argument(ni == 1 ? w + ": x contains NaN or inf"
                                          : w + ": x for input '" + net->input_name(i) + "' contains NaN or inf");
  }
  const std::vector<LossSpec> specs = loss_specs(y_cols);
  for (int j = 0; j < no; ++j) {
    const std::size_t J = static_cast<std::size_t>(j);
    const std::string out_name = no == 1 ? std::string() : " for output " + std::to_string(j);
    if (losses[J].is_null()) continue;  // no loss: y is not read
    if (!ys[J]) throw std::invalid_argument(no == 1 ? w + ": x and y must not be null" : w + ": y" + out_name + " is null");
    const std::int64_t out = net->output_features(j);
    if (loss_is_sparse(specs[J])) {
      if (y_cols[J] != 1)
        throw std::invalid_argument(w + ": sparse_categorical_crossentropy needs y_cols == 1 (class indices)" +
                                    out_name + ", got y_cols=" + std::to_string(y_cols[J]));
    } else if (y_cols[J] != out) {
      throw std::invalid_argument(w + ": y" + out_name + " has " + std::to_string(y_cols[J]) + " columns but the model has " +
                                  std::to_string(out) + " outputs" + (no == 1 ? "" : " there"));
    }
    if (!all_finite(ys[J], n * y_cols[J])) throw std::invalid_argument(w + ": y" + out_name + " contains NaN or inf");
  }
}

int Model::Impl::num_inputs() const { return arch.functional ? static_cast<int>(arch.inputs.size()) : 1; }
int Model::Impl::num_outputs() const { return arch.functional ? static_cast<int>(arch.outputs.size()) : 1; }

const io::GraphInput* Model::Impl::graph_input(int i) const {
  return arch.functional ? &arch.inputs[static_cast<std::size_t>(i)] : nullptr;
}

void Model::Impl::check_input_index(int i, const char* what) const {
  if (i < 0 || i >= num_inputs())
    throw std::invalid_argument(std::string(what) + ": input index " + std::to_string(i) + " is out of range (the model has " +
                                std::to_string(num_inputs()) + " input(s))");
}

void Model::Impl::check_output_index(int j, const char* what) const {
  if (j < 0 || j >= num_outputs())
    throw std::invalid_argument(std::string(what) + ": output index " + std::to_string(j) + " is out of range (the model has " +
                                std::to_string(num_outputs()) + " output(s))");
}

Model::Model(std::uint64_t seed) : impl_(new Impl) {
  impl_->seed = seed;
  impl_->rng = seed;
}
Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

void Model::build_if_needed() const { impl_->build(); }

Model& Model::input(std::int64_t features) { return input(std::vector<std::int64_t>{features}); }

Model& Model::input(const std::vector<std::int64_t>& shape) {
  if (impl_->net) throw std::logic_error("Model.input: the model is already built");
  if (impl_->arch.functional)
    throw std::logic_error("Model.input: this is a functional model: its inputs come from add_input()");
  if (shape.empty()) throw std::invalid_argument("Model.input: the shape is empty");
  for (auto d : shape)
    if (d <= 0) throw std::invalid_argument("Model.input: dimensions must be positive");
  impl_->arch.input_shape = shape;
  if (shape.size() > 1 && (impl_->arch.layers.empty() || impl_->arch.layers.front().class_name != "Flatten")) {
    // N-D samples are handed over flattened: a Flatten first layer, as Keras needs.
    io::LayerConfig f;
    f.class_name = "Flatten";
    f.name = impl_->unique_name("flatten");
    f.config = layer_config_base(f.name);
    f.config.set("data_format", Value());
    impl_->arch.layers.insert(impl_->arch.layers.begin(), f);
    impl_->seeds.insert(impl_->seeds.begin(), 0);
  }
  return *this;
}

io::LayerConfig Model::Impl::layer_config(const LayerSpec& layer, const std::string& what) {
  io::LayerConfig lc;
  lc.class_name = layer.class_name();
  lc.config = json::parse(layer.config_json());
  if (!lc.config.is_object()) throw std::invalid_argument(what + ": the layer config must be a JSON object");
  const Value* n = lc.config.find("name");
  lc.name = (n && n->is_string() && !n->as_string().empty()) ? n->as_string() : unique_name(to_snake(lc.class_name));
  bool taken = false;
  for (const auto& other : arch.layers) taken = taken || other.name == lc.name;
  for (const auto& in : arch.inputs) taken = taken || (arch.functional && in.name == lc.name);
  if (taken)
    throw std::invalid_argument(what + ": all layers must have unique names; '" + lc.name + "' is already in the model");
  lc.config.set("name", Value::make_string(lc.name));
  const LayerRow* row = find_layer_row(lc.class_name);
  if (row && row->seeded) {  // a seed from the model's stream, as Python's layers draw one
    const Value* s = lc.config.find("seed");
    if (!s || s->is_null()) lc.config.set("seed", Value::make_uint(splitmix64(rng) >> 1));
  }
  return lc;
}

Model& Model::add(const LayerSpec& layer) {
  if (impl_->net) throw std::logic_error("Model.add: add layers before the first fit/predict/save");
  if (impl_->arch.functional)
    throw std::logic_error("Model.add: this is a functional model (add_input): call layers on tensors with call()");
  io::LayerConfig lc = impl_->layer_config(layer, "Model.add");
  // Validate now (a throw-away build on a dummy width) so errors point at the add() call.
  const std::vector<std::int64_t> one_by_one = {1, 1};  // a global pooling layer: a dummy (steps, features)
  io::layer_from_config(lc, 1, 0, layer_needs_sample_shape(lc.class_name) ? &one_by_one : nullptr);
  impl_->arch.layers.push_back(lc);
  impl_->seeds.push_back(0);
  return *this;
}

namespace {

Value optimizer_json_of(const OptimizerOptions& optimizer) {
  Value o = Value::make_object();
  o.set("class_name", Value::make_string(optimizer.name));
  Value oc = Value::make_object();
  if (optimizer.learning_rate >= 0) oc.set("learning_rate", Value::make_number(optimizer.learning_rate));
  for (const auto& kv : optimizer.params) {
    if (kv.first == "nesterov" || kv.first == "centered" || kv.first == "amsgrad" || kv.first == "use_ema")
      oc.set(kv.first, Value::make_bool(kv.second != 0.0));
    else
      oc.set(kv.first, Value::make_number(kv.second));
  }
  o.set("config", oc);
  return o;
}

Value loss_json_of(const LossOptions& loss) {
  if (!loss.from_logits && loss.label_smoothing == 0.0) return Value::make_string(loss.name);
  Value l = Value::make_object();
  l.set("class_name", Value::make_string(loss.name));
  Value lc = Value::make_object();
  lc.set("from_logits", Value::make_bool(loss.from_logits));
  lc.set("label_smoothing", Value::make_number(loss.label_smoothing));
  l.set("config", lc);
  return l;
}

}  // namespace

void Model::compile(const OptimizerOptions& optimizer, const LossOptions& loss) {
  build_if_needed();
  const int no = impl_->net->num_outputs();
  // One loss for every output, as Keras applies a single identifier to each.
  compile(optimizer, std::vector<LossOptions>(static_cast<std::size_t>(no), loss), {});
  impl_->saved_loss = loss_json_of(loss);
}

void Model::compile(const OptimizerOptions& optimizer, const std::vector<LossOptions>& losses,
                    const std::vector<double>& loss_weights) {
  build_if_needed();
  const int no = impl_->net->num_outputs();
  if (static_cast<int>(losses.size()) != no)
    throw std::invalid_argument("compile: the model has " + std::to_string(no) + " output(s), got " +
                                std::to_string(losses.size()) + " losses");
  if (!loss_weights.empty() && static_cast<int>(loss_weights.size()) != no)
    throw std::invalid_argument("compile: loss_weights must match the number of losses: got " +
                                std::to_string(loss_weights.size()) + " for " + std::to_string(no) + " output(s)");
  for (double w : loss_weights)
    if (!std::isfinite(w)) throw std::invalid_argument("compile: loss_weights must be finite numbers");
  const OptimizerConfig cfg = io::optimizer_from_json(optimizer_json_of(optimizer));
  std::vector<Value> ls;
  Value saved = Value::make_array();
  for (int j = 0; j < no; ++j) {
    ls.push_back(loss_json_of(losses[static_cast<std::size_t>(j)]));
    loss_from_json(ls.back(), impl_->net->output_features(j), 0);  // validates the name
    saved.push_back(ls.back());
  }
  impl_->opt_cfg = cfg;
  impl_->opt_name.clear();
  impl_->losses = ls;
  impl_->loss_weights.assign(static_cast<std::size_t>(no), 1.0f);
  impl_->saved_loss_weights = Value();
  if (!loss_weights.empty()) {
    Value lw = Value::make_array();
    for (int j = 0; j < no; ++j) {
      impl_->loss_weights[static_cast<std::size_t>(j)] = static_cast<float>(loss_weights[static_cast<std::size_t>(j)]);
      lw.push_back(Value::make_number(loss_weights[static_cast<std::size_t>(j)]));
    }
    impl_->saved_loss_weights = lw;
  }
  impl_->saved_loss = no == 1 ? ls[0] : saved;
  impl_->make_optimizer();
  impl_->compiled = true;
  impl_->not_compiled_reason.clear();
}

bool Model::compiled() const { return impl_->compiled; }

std::int64_t Model::iterations() const { return impl_->opt ? impl_->opt->iterations() : 0; }

History Model::Impl::run_fit(const DataView& d, const FitOptions& o) {
  Trainer& t = get_trainer(d.y_cols);
  if (!net->try_acquire_training()) throw std::logic_error("fit: the model is being trained in another thread");
  History h;
  try {
    t.set_train_data(d, o.batch_size);
    const std::int64_t steps = t.steps_per_epoch();
    for (int e = 0; e < o.epochs; ++e) {
      // The epoch's order: from the seed and the training step count (saved in files),
      // so a loaded model continues the same stream as the one that was saved.
      std::uint64_t s = o.seed + 0x9E3779B97F4A7C15ull * (net->train_steps + 1);
      t.begin_epoch(o.shuffle, splitmix64(s));
      std::int64_t done = 0;
      while (done < steps) done += t.run(steps - done, 0.0);
      h.loss.push_back(t.mean_loss());
      if (o.verbose) std::printf("epoch %d/%d - loss: %.6g\n", e + 1, o.epochs, t.mean_loss());
    }
    t.clear_train_data();
  } catch (...) {
    t.clear_train_data();
    net->release_training();
    throw;
  }
  net->release_training();
  return h;
}

namespace {

void check_fit_options(const FitOptions& o) {
  if (o.batch_size <= 0) throw std::invalid_argument("fit: batch_size must be positive");
  if (o.epochs < 0) throw std::invalid_argument("fit: epochs must be >= 0");
}

}  // namespace

History Model::fit(const float* x, const float* y, std::int64_t n, std::int64_t y_cols, const FitOptions& o) {
  return fit(std::vector<const float*>{x}, std::vector<const float*>{y}, std::vector<std::int64_t>{y_cols}, n, o);
}

History Model::fit(const std::vector<const float*>& xs, const std::vector<const float*>& ys,
                   const std::vector<std::int64_t>& y_cols, std::int64_t n, const FitOptions& o) {
  build_if_needed();
  if (!impl_->compiled)
    throw std::logic_error("Model.fit: call compile() first" +
                           (impl_->not_compiled_reason.empty() ? std::string()
                                                               : " (the saved training state could not be restored: " +
                                                                     impl_->not_compiled_reason + ")"));
  check_fit_options(o);
  impl_->check_data(xs, ys, y_cols, n, "fit");
  if (o.sample_weight && !all_finite(o.sample_weight, n))
    throw std::invalid_argument("fit: sample_weight contains NaN or inf");
  DataView d;
  d.xs = xs;
  d.ys = ys;
  d.y_cols = y_cols;
  d.sample_weights.assign(ys.size(), o.sample_weight);  // Keras: one sample_weight for every output
  d.n = n;
  return impl_->run_fit(d, o);
}

double Model::evaluate(const float* x, const float* y, std::int64_t n, std::int64_t y_cols, std::int64_t batch_size) {
  return evaluate(std::vector<const float*>{x}, std::vector<const float*>{y}, std::vector<std::int64_t>{y_cols}, n,
                  batch_size);
}

double Model::evaluate(const std::vector<const float*>& xs, const std::vector<const float*>& ys,
                       const std::vector<std::int64_t>& y_cols, std::int64_t n, std::int64_t batch_size) {
  build_if_needed();
  if (!impl_->compiled) throw std::logic_error("Model.evaluate: call compile() first");
  if (batch_size <= 0) throw std::invalid_argument("evaluate: batch_size must be positive");
  impl_->check_data(xs, ys, y_cols, n, "evaluate");
  DataView d;
  d.xs = xs;
  d.ys = ys;
  d.y_cols = y_cols;
  d.sample_weights.assign(ys.size(), nullptr);
  d.n = n;
  return impl_->get_trainer(y_cols).evaluate(d, batch_size);
}

void Model::predict(const float* x, std::int64_t n, float* out, std::int64_t batch_size) const {
  build_if_needed();
  if (impl_->net->num_inputs() != 1 || impl_->net->num_outputs() != 1)
    throw std::invalid_argument("predict: the model has " + std::to_string(impl_->net->num_inputs()) + " input(s) and " +
                                std::to_string(impl_->net->num_outputs()) +
                                " output(s); pass one array per input and per output (predict(xs, n, outs))");
  if (n < 0) throw std::invalid_argument("predict: n must be >= 0");
  if (n == 0) return;
  if (!x || !out) throw std::invalid_argument("predict: x and out must not be null");
  if (batch_size <= 0) throw std::invalid_argument("predict: batch_size must be positive");
  impl_->net->predict(x, n, out, batch_size);
}

std::vector<float> Model::predict(const std::vector<float>& x, std::int64_t batch_size) const {
  build_if_needed();
  const std::int64_t in = impl_->net->in_features();
  if (static_cast<std::int64_t>(x.size()) % in != 0)
    throw std::invalid_argument("predict: x has " + std::to_string(x.size()) + " values, not a multiple of the " +
                                std::to_string(in) + " input features");
  const std::int64_t n = static_cast<std::int64_t>(x.size()) / in;
  std::vector<float> out(static_cast<std::size_t>(n * impl_->net->out_features()));
  predict(x.data(), n, out.data(), batch_size);
  return out;
}

void Model::predict(const std::vector<const float*>& xs, std::int64_t n, const std::vector<float*>& outs,
                    std::int64_t batch_size) const {
  build_if_needed();
  Network& net = *impl_->net;
  if (static_cast<int>(xs.size()) != net.num_inputs())
    throw std::invalid_argument("predict: the model has " + std::to_string(net.num_inputs()) + " input(s), got " +
                                std::to_string(xs.size()) + " arrays");
  if (static_cast<int>(outs.size()) != net.num_outputs())
    throw std::invalid_argument("predict: the model has " + std::to_string(net.num_outputs()) + " output(s), got " +
                                std::to_string(outs.size()) + " output arrays");
  if (n < 0) throw std::invalid_argument("predict: n must be >= 0");
  if (n == 0) return;
  if (batch_size <= 0) throw std::invalid_argument("predict: batch_size must be positive");
  for (std::size_t i = 0; i < xs.size(); ++i)
    if (!xs[i]) throw std::invalid_argument("predict: x for input '" + net.input_name(static_cast<int>(i)) + "' is null");
  for (std::size_t j = 0; j < outs.size(); ++j)
    if (!outs[j]) throw std::invalid_argument("predict: the array of output " + std::to_string(j) + " is null");
  net.predict(xs, n, outs, batch_size);
}

std::vector<std::vector<float>> Model::predict(const std::vector<std::vector<float>>& xs,
                                               std::int64_t batch_size) const {
  build_if_needed();
  Network& net = *impl_->net;
  if (static_cast<int>(xs.size()) != net.num_inputs())
    throw std::invalid_argument("predict: the model has " + std::to_string(net.num_inputs()) + " input(s), got " +
                                std::to_string(xs.size()) + " arrays");
  std::int64_t n = -1;
  std::vector<const float*> ptrs;
  for (int i = 0; i < net.num_inputs(); ++i) {
    const auto& x = xs[static_cast<std::size_t>(i)];
    const std::int64_t w = net.input_features(i);
    const std::int64_t rows = static_cast<std::int64_t>(x.size()) / w;
    if (static_cast<std::int64_t>(x.size()) % w != 0 || (n >= 0 && rows != n))
      throw std::invalid_argument("predict: input '" + net.input_name(i) + "' has " + std::to_string(x.size()) +
                                  " values; it needs n rows of " + std::to_string(w) +
                                  (n >= 0 ? " with n = " + std::to_string(n) + " as the other inputs" : std::string()));
    n = rows;
    ptrs.push_back(x.data());
  }
  std::vector<std::vector<float>> out(static_cast<std::size_t>(net.num_outputs()));
  std::vector<float*> optrs;
  for (int j = 0; j < net.num_outputs(); ++j) {
    out[static_cast<std::size_t>(j)].resize(static_cast<std::size_t>(n * net.output_features(j)));
    optrs.push_back(out[static_cast<std::size_t>(j)].data());
  }
  predict(ptrs, n, optrs, batch_size);
  return out;
}

std::int64_t Model::input_size() const {
  if (!impl_->net && !impl_->arch.input_shape.empty()) return impl_->arch.in_features();
  build_if_needed();
  return impl_->net->in_features();
}

std::int64_t Model::output_size() const {
  build_if_needed();
  return impl_->net->out_features();
}

int Model::num_inputs() const { return impl_->num_inputs(); }
int Model::num_outputs() const { return impl_->num_outputs(); }

std::string Model::input_name(int i) const {
  impl_->check_input_index(i, "input_name");
  if (const io::GraphInput* gi = impl_->graph_input(i)) return gi->name;
  return impl_->arch.inputs.empty() ? std::string("input_layer") : impl_->arch.inputs[0].name;
}

std::string Model::output_name(int j) const {
  impl_->check_output_index(j, "output_name");
  if (impl_->arch.functional) return impl_->arch.output_names[static_cast<std::size_t>(j)];
  return impl_->arch.layers.empty() ? std::string() : impl_->arch.layers.back().name;
}

std::int64_t Model::input_width(int i) const {
  impl_->check_input_index(i, "input_width");
  if (!impl_->net) {
    const auto shape = input_shape(i);
    if (!shape.empty()) {
      std::int64_t p = 1;
      for (auto d : shape) p *= d;
      return p;
    }
  }
  build_if_needed();
  return impl_->net->input_features(i);
}

std::int64_t Model::output_width(int j) const {
  impl_->check_output_index(j, "output_width");
  build_if_needed();
  return impl_->net->output_features(j);
}

std::vector<std::int64_t> Model::input_shape(int i) const {
  impl_->check_input_index(i, "input_shape");
  if (const io::GraphInput* gi = impl_->graph_input(i)) return gi->shape;
  return impl_->arch.input_shape;
}

std::string Model::input_dtype(int i) const {
  impl_->check_input_index(i, "input_dtype");
  if (const io::GraphInput* gi = impl_->graph_input(i)) return gi->dtype;
  return impl_->arch.inputs.empty() ? std::string("float32") : impl_->arch.inputs[0].dtype;
}

std::int64_t Model::count_params() const {
  build_if_needed();
  return impl_->net->params().size() + impl_->net->state().size();
}

std::vector<std::string> Model::layer_names() const {
  std::vector<std::string> out;
  for (const auto& l : impl_->arch.layers) out.push_back(l.name);
  return out;
}

std::vector<std::string> Model::weight_names() const {
  build_if_needed();
  std::vector<std::string> out;
  for (const auto& t : impl_->net->tensors())
    out.push_back(impl_->node_names[static_cast<std::size_t>(t.layer)] + "/" + t.name);
  return out;
}

namespace {
const TensorSlot& find_slot(const Network& net, const std::vector<std::string>& node_names, const std::string& name) {
  for (const auto& t : net.tensors())
    if (node_names[static_cast<std::size_t>(t.layer)] + "/" + t.name == name) return t;
  throw std::invalid_argument("no weight named '" + name + "' (see weight_names())");
}
}  // namespace

std::vector<std::int64_t> Model::weight_shape(const std::string& name) const {
  build_if_needed();
  return find_slot(*impl_->net, impl_->node_names, name).shape;
}

std::vector<float> Model::get_weight(const std::string& name) const {
  build_if_needed();
  const TensorSlot& t = find_slot(*impl_->net, impl_->node_names, name);
  const float* p = (t.trainable ? impl_->net->params().data() : impl_->net->state().data()) + t.offset;
  return std::vector<float>(p, p + t.size);
}

void Model::set_weight(const std::string& name, const std::vector<float>& values) {
  build_if_needed();
  const TensorSlot& t = find_slot(*impl_->net, impl_->node_names, name);
  if (static_cast<std::int64_t>(values.size()) != t.size)
    throw std::invalid_argument("set_weight('" + name + "'): expected " + std::to_string(t.size) + " values, got " +
                                std::to_string(values.size()));
  float* p = (t.trainable ? impl_->net->params().data() : impl_->net->state().data()) + t.offset;
  std::copy(values.begin(), values.end(), p);
}

}  // namespace ranvier
