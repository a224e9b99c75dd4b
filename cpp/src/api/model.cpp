// The public C++ API (cpp/include/ranvier/model.hpp) over the core: Network, Trainer,
// Optimizer, the layers, and io/ for files. Logic beyond glue lives in io/model_io.
#include "ranvier/model.hpp"

#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>

#include "config/json.h"
#include "io/model_io.h"
#include "io/safetensors.h"
#include "layers/layer_table.h"
#include "layers/layers.h"
#include "layers/lookup.h"
#include "losses/loss_json.h"
#include "model/trainer.h"
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

struct Model::Impl {
  std::uint64_t seed = 0;
  std::uint64_t rng = 0;  // stream for Dropout seeds and initializers
  io::Architecture arch;
  std::vector<std::uint64_t> seeds;  // Dropout seeds for layers whose config has none
  std::map<std::string, int> name_counts;
  std::shared_ptr<Network> net;

  // training
  bool compiled = false;
  OptimizerConfig opt_cfg;
  std::string opt_name;
  Value loss_json;          // the loss identifier as saved
  float loss_weight = 1.0f;
  std::shared_ptr<Optimizer> opt;
  std::shared_ptr<Trainer> trainer;
  LossSpec trainer_loss;
  bool trainer_loss_set = false;
  std::string not_compiled_reason;

  std::string unique_name(const std::string& base) {
    int& n = name_counts[base];
    std::string name = n == 0 ? base : base + "_" + std::to_string(n);
    ++n;
    return name;
  }

  void build() {
    if (net) return;
    if (arch.input_shape.empty()) throw std::logic_error("Model: call input(features) before using the model");
    if (arch.layers.empty()) throw std::logic_error("Model: add at least one layer before using the model");
    net = io::build_network(arch, seeds);
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

  std::vector<ParamSegment> segments() const {
    std::vector<ParamSegment> segs;
    for (const auto& t : net->tensors())
      if (t.trainable) segs.push_back(ParamSegment{t.offset, t.size, true});
    return segs;
  }

  void make_optimizer() {
    opt = std::make_shared<Optimizer>(opt_cfg);
    opt->build(net->params().size(), segments());
    trainer.reset();
  }

  Trainer& get_trainer(std::int64_t y_cols) {
    const LossSpec want = [&] {
      LossSpec l = loss_from_json(loss_json, net->out_features(), y_cols);
      l.weight = loss_weight;
      return l;
    }();
    if (!trainer || !trainer_loss_set || want.kind != trainer_loss.kind) {
      trainer = std::make_shared<Trainer>(net, opt, want, std::vector<std::shared_ptr<Metric>>{},
                                          std::vector<std::shared_ptr<Metric>>{});
      trainer_loss = want;
      trainer_loss_set = true;
    }
    return *trainer;
  }

  void check_xy(const float* x, const float* y, std::int64_t n, std::int64_t y_cols, const char* what) {
    if (!x || !y) throw std::invalid_argument(std::string(what) + ": x and y must not be null");
    if (n <= 0) throw std::invalid_argument(std::string(what) + ": n must be positive, got " + std::to_string(n));
    const LossSpec l = loss_from_json(loss_json, net->out_features(), y_cols);
    const std::int64_t out = net->out_features();
    if (loss_is_sparse(l)) {
      if (y_cols != 1)
        throw std::invalid_argument(std::string(what) + ": sparse_categorical_crossentropy needs y_cols == 1 (class "
                                    "indices), got y_cols=" + std::to_string(y_cols));
    } else if (y_cols != out) {
      throw std::invalid_argument(std::string(what) + ": y has " + std::to_string(y_cols) +
                                  " columns but the model has " + std::to_string(out) + " outputs");
    }
    if (!all_finite(x, n * net->in_features()))
      throw std::invalid_argument(std::string(what) + ": x contains NaN or inf");
    if (!all_finite(y, n * y_cols)) throw std::invalid_argument(std::string(what) + ": y contains NaN or inf");
  }
};

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

Model& Model::add(const LayerSpec& layer) {
  if (impl_->net) throw std::logic_error("Model.add: add layers before the first fit/predict/save");
  io::LayerConfig lc;
  lc.class_name = layer.class_name();
  lc.config = json::parse(layer.config_json());
  if (!lc.config.is_object()) throw std::invalid_argument("Model.add: the layer config must be a JSON object");
  const Value* n = lc.config.find("name");
  lc.name = (n && n->is_string() && !n->as_string().empty()) ? n->as_string() : impl_->unique_name(to_snake(lc.class_name));
  for (const auto& other : impl_->arch.layers)
    if (other.name == lc.name)
      throw std::invalid_argument("Model.add: all layers must have unique names; '" + lc.name + "' is already in the model");
  lc.config.set("name", Value::make_string(lc.name));
  const LayerRow* row = find_layer_row(lc.class_name);
  if (row && row->seeded) {  // a seed from the model's stream, as Python's layers draw one
    const Value* s = lc.config.find("seed");
    if (!s || s->is_null()) lc.config.set("seed", Value::make_uint(splitmix64(impl_->rng) >> 1));
  }
  // Validate now (a throw-away build on a dummy width) so errors point at the add() call.
  io::layer_from_config(lc, 1, 0);
  impl_->arch.layers.push_back(lc);
  impl_->seeds.push_back(0);
  return *this;
}

void Model::compile(const OptimizerOptions& optimizer, const LossOptions& loss) {
  build_if_needed();
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
  const OptimizerConfig cfg = io::optimizer_from_json(o);
  Value l = Value::make_object();
  l.set("class_name", Value::make_string(loss.name));
  Value lc = Value::make_object();
  lc.set("from_logits", Value::make_bool(loss.from_logits));
  lc.set("label_smoothing", Value::make_number(loss.label_smoothing));
  l.set("config", lc);
  loss_from_json(l, impl_->net->out_features(), 0);  // validates the name
  impl_->opt_cfg = cfg;
  impl_->opt_name.clear();
  impl_->loss_json = (loss.from_logits || loss.label_smoothing != 0.0) ? l : Value::make_string(loss.name);
  impl_->loss_weight = 1.0f;
  impl_->make_optimizer();
  impl_->compiled = true;
  impl_->not_compiled_reason.clear();
}

bool Model::compiled() const { return impl_->compiled; }

std::int64_t Model::iterations() const { return impl_->opt ? impl_->opt->iterations() : 0; }

History Model::fit(const float* x, const float* y, std::int64_t n, std::int64_t y_cols, const FitOptions& o) {
  build_if_needed();
  if (!impl_->compiled)
    throw std::logic_error("Model.fit: call compile() first" +
                           (impl_->not_compiled_reason.empty() ? std::string()
                                                               : " (the saved training state could not be restored: " +
                                                                     impl_->not_compiled_reason + ")"));
  if (o.batch_size <= 0) throw std::invalid_argument("fit: batch_size must be positive");
  if (o.epochs < 0) throw std::invalid_argument("fit: epochs must be >= 0");
  impl_->check_xy(x, y, n, y_cols, "fit");
  if (o.sample_weight && !all_finite(o.sample_weight, n))
    throw std::invalid_argument("fit: sample_weight contains NaN or inf");
  Trainer& t = impl_->get_trainer(y_cols);
  Network& net = *impl_->net;
  if (!net.try_acquire_training()) throw std::logic_error("fit: the model is being trained in another thread");
  History h;
  try {
    const DataView d = DataView::single(x, y, y_cols, o.sample_weight, n);
    t.set_train_data(d, o.batch_size);
    const std::int64_t steps = t.steps_per_epoch();
    for (int e = 0; e < o.epochs; ++e) {
      // The epoch's order: from the seed and the training step count (saved in files),
      // so a loaded model continues the same stream as the one that was saved.
      std::uint64_t s = o.seed + 0x9E3779B97F4A7C15ull * (net.train_steps + 1);
      t.begin_epoch(o.shuffle, splitmix64(s));
      std::int64_t done = 0;
      while (done < steps) done += t.run(steps - done, 0.0);
      h.loss.push_back(t.mean_loss());
      if (o.verbose) std::printf("epoch %d/%d - loss: %.6g\n", e + 1, o.epochs, t.mean_loss());
    }
    t.clear_train_data();
  } catch (...) {
    t.clear_train_data();
    net.release_training();
    throw;
  }
  net.release_training();
  return h;
}

double Model::evaluate(const float* x, const float* y, std::int64_t n, std::int64_t y_cols, std::int64_t batch_size) {
  build_if_needed();
  if (!impl_->compiled) throw std::logic_error("Model.evaluate: call compile() first");
  if (batch_size <= 0) throw std::invalid_argument("evaluate: batch_size must be positive");
  impl_->check_xy(x, y, n, y_cols, "evaluate");
  const DataView d = DataView::single(x, y, y_cols, nullptr, n);
  return impl_->get_trainer(y_cols).evaluate(d, batch_size);
}

void Model::predict(const float* x, std::int64_t n, float* out, std::int64_t batch_size) const {
  build_if_needed();
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

namespace {

// The lookup layer `name` ("" = the first layer) of a built model.
const IndexLookup& lookup_layer(const io::Architecture& arch, const Network& net, const std::string& name,
                                bool strings) {
  const auto& layers = net.layers();
  std::size_t i = 0;
  if (!name.empty()) {
    while (i < arch.layers.size() && arch.layers[i].name != name) ++i;
    if (i == arch.layers.size()) throw std::invalid_argument("encode: the model has no layer named '" + name + "'");
  }
  if (i >= layers.size()) throw std::invalid_argument("encode: the model has no layers");
  const auto* l = dynamic_cast<const IndexLookup*>(layers[i].get());
  const std::string which = name.empty() ? "the first layer" : "layer '" + name + "'";
  if (!l) throw std::invalid_argument("encode: " + which + " is not a StringLookup or IntegerLookup");
  if (l->string_keys() != strings)
    throw std::invalid_argument("encode: " + which + " is " + (strings ? "an IntegerLookup: encode_ints" :
                                "a StringLookup: encode_strings") + " takes its keys");
  return *l;
}

void check_encode_args(const void* keys, std::int64_t n, const float* out) {
  if (n < 0) throw std::invalid_argument("encode: n must be >= 0");
  if (n > 0 && (!keys || !out)) throw std::invalid_argument("encode: keys and out must not be null");
}

}  // namespace

void Model::encode_strings(const std::string* keys, std::int64_t n, float* out, const std::string& layer) const {
  build_if_needed();
  check_encode_args(keys, n, out);
  lookup_layer(impl_->arch, *impl_->net, layer, true).encode(keys, n, out);
}

void Model::encode_strings(const char* const* keys, const std::int64_t* lens, std::int64_t n, float* out,
                           const std::string& layer) const {
  build_if_needed();
  check_encode_args(keys, n, out);
  const IndexLookup& l = lookup_layer(impl_->arch, *impl_->net, layer, true);
  std::vector<std::string_view> views(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    if (!keys[i]) throw std::invalid_argument("encode_strings: key " + std::to_string(i) + " is null");
    if (lens && lens[i] < 0) throw std::invalid_argument("encode_strings: lens[" + std::to_string(i) + "] is negative");
    views[static_cast<std::size_t>(i)] =
        lens ? std::string_view(keys[i], static_cast<std::size_t>(lens[i])) : std::string_view(keys[i]);
  }
  l.encode(views.data(), n, out);
}

std::vector<float> Model::encode_strings(const std::vector<std::string>& keys, const std::string& layer) const {
  std::vector<float> out(keys.size());
  encode_strings(keys.data(), static_cast<std::int64_t>(keys.size()), out.data(), layer);
  return out;
}

void Model::encode_ints(const std::int64_t* keys, std::int64_t n, float* out, const std::string& layer) const {
  build_if_needed();
  check_encode_args(keys, n, out);
  lookup_layer(impl_->arch, *impl_->net, layer, false).encode(keys, n, out);
}

void Model::save(const std::string& path) const {
  build_if_needed();
  Impl& m = *impl_;
  Network& net = *m.net;
  std::vector<std::pair<std::string, std::string>> meta = {
      {"format", "ranvier"},
      {"format_version", std::to_string(io::kFormatVersion)},
      {"ranvier_version", build_info().version},
      {"contents", "model"},
      {"architecture", json::dump(io::architecture_json(m.arch))},
  };
  Value listing = Value::make_array();
  std::vector<io::TensorOut> tensors;
  const auto& slots = net.tensors();
  for (std::size_t li = 0; li < m.arch.layers.size(); ++li) {
    Value e = Value::make_object();
    e.set("name", Value::make_string(m.arch.layers[li].name));
    e.set("class_name", Value::make_string(m.arch.layers[li].class_name));
    Value names = Value::make_array();
    for (const auto& t : slots) {
      if (t.layer != static_cast<int>(li)) continue;
      names.push_back(Value::make_string(t.name));
      const float* p = (t.trainable ? net.params().data() : net.state().data()) + t.offset;
      tensors.push_back(io::TensorOut{"layers/" + m.arch.layers[li].name + "/" + t.name, t.shape, p});
    }
    e.set("weights", names);
    listing.push_back(e);
  }
  meta.emplace_back("weights", json::dump(listing));
  meta.emplace_back("train_steps", std::to_string(net.train_steps));
  Value seeds = Value::make_object();
  for (std::size_t i = 0; i < m.seeds.size(); ++i)
    if (m.seeds[i]) seeds.set(m.arch.layers[i].name, Value::make_uint(m.seeds[i]));
  if (!seeds.as_object().empty()) meta.emplace_back("layer_seeds", json::dump(seeds));
  if (m.compiled) {
    const Value opt_json = io::optimizer_to_json(m.opt_cfg, m.opt_name);
    Value cc = Value::make_object();
    cc.set("optimizer", opt_json);
    cc.set("loss", m.loss_json);
    cc.set("loss_weights", m.loss_weight == 1.0f ? Value() : Value::make_number(m.loss_weight));
    cc.set("metrics", Value::make_array());
    cc.set("weighted_metrics", Value::make_array());
    meta.emplace_back("compile_config", json::dump(cc));
    // The optimizer's current state (learning rate included).
    Value cur = opt_json;
    Value ccfg = *cur.find("config");
    ccfg.set("learning_rate", Value::make_number(static_cast<double>(m.opt->current_learning_rate())));
    cur.set("config", ccfg);
    meta.emplace_back("optimizer", json::dump(cur));
    Value st = Value::make_object();
    st.set("iterations", Value::make_int(m.opt->raw_iterations()));
    st.set("learning_rate", Value::make_number(static_cast<double>(m.opt->current_learning_rate())));
    Value scalars = Value::make_object();
    for (const auto& k : m.opt->scalar_names()) scalars.set(k, Value::make_number(m.opt->scalar(k)));
    st.set("scalars", scalars);
    Value names = Value::make_array();
    for (const auto& sv : m.opt->slots()) {
      names.push_back(Value::make_string(sv.name));
      tensors.push_back(io::TensorOut{"optimizer/" + sv.name, {sv.size}, sv.data});
    }
    st.set("slots", names);
    meta.emplace_back("optimizer_state", json::dump(st));
  }
  io::write_file(path, tensors, meta);  // atomic; the weights are written from the network itself
}

Model Model::load(const std::string& path) {
  const io::File f = io::read_file(path);
  io::LoadedModel lm;
  try {
    lm = io::load_model(f);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("'" + path + "': " + e.what());
  }
  Model m(0);
  Impl& im = *m.impl_;
  im.arch = lm.arch;
  im.seeds = lm.seeds;
  im.net = lm.net;
  for (const auto& l : im.arch.layers) im.name_counts[l.name] = 1;
  if (lm.has_compile) {
    try {
      const Value& cc = lm.compile_config;
      const Value* opt = lm.optimizer.is_object() ? &lm.optimizer : cc.find("optimizer");
      if (!opt) throw std::invalid_argument("no optimizer config");
      im.opt_cfg = io::optimizer_from_json(*opt);
      if (const Value* c = opt->find("config"); c && c->is_object())
        if (const Value* nm = c->find("name"); nm && nm->is_string()) im.opt_name = nm->as_string();
      const Value* loss = cc.find("loss");
      if (!loss || loss->is_null()) throw std::invalid_argument("no loss");
      loss_from_json(*loss, im.net->out_features(), 0);
      im.loss_json = *loss;
      if (const Value* lw = cc.find("loss_weights"); lw && !lw->is_null()) {
        const Value* w = lw->is_array() && lw->as_array().size() == 1 ? &lw->as_array()[0] : lw;
        im.loss_weight = static_cast<float>(w->as_double("loss_weights"));
      }
      im.make_optimizer();
      if (lm.optimizer_state.is_object()) {
        const Value& st = lm.optimizer_state;
        for (auto& sv : im.opt->slots()) {
          const io::TensorInfo* t = f.header.find_tensor("optimizer/" + sv.name);
          if (!t) throw std::invalid_argument("optimizer slot '" + sv.name + "' missing");
          if (static_cast<std::int64_t>(t->numel) != sv.size)
            throw std::invalid_argument("optimizer slot '" + sv.name + "' has the wrong size");
          f.read_f32(*t, sv.data);
        }
        if (const Value* it = st.find("iterations")) im.opt->set_raw_iterations(it->as_int("iterations"));
        if (const Value* sc = st.find("scalars"); sc && sc->is_object())
          for (const auto& kv : sc->as_object()) im.opt->set_scalar(kv.first, kv.second.as_double(kv.first.c_str()));
        if (const Value* lr = st.find("learning_rate"); lr && lr->is_number() && !im.opt->uses_schedule())
          im.opt->set_learning_rate(static_cast<float>(lr->as_double()));
      }
      im.compiled = true;
    } catch (const std::bad_alloc&) {
      throw;  // out of memory is not "the training state cannot be restored": refuse the load
    } catch (const std::exception& e) {
      im.compiled = false;
      im.opt.reset();
      im.trainer.reset();
      im.not_compiled_reason = e.what();
    }
  }
  return m;
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
    out.push_back(impl_->arch.layers[static_cast<std::size_t>(t.layer)].name + "/" + t.name);
  return out;
}

namespace {
const TensorSlot& find_slot(const Network& net, const io::Architecture& arch, const std::string& name) {
  for (const auto& t : net.tensors())
    if (arch.layers[static_cast<std::size_t>(t.layer)].name + "/" + t.name == name) return t;
  throw std::invalid_argument("no weight named '" + name + "' (see weight_names())");
}
}  // namespace

std::vector<std::int64_t> Model::weight_shape(const std::string& name) const {
  build_if_needed();
  return find_slot(*impl_->net, impl_->arch, name).shape;
}

std::vector<float> Model::get_weight(const std::string& name) const {
  build_if_needed();
  const TensorSlot& t = find_slot(*impl_->net, impl_->arch, name);
  const float* p = (t.trainable ? impl_->net->params().data() : impl_->net->state().data()) + t.offset;
  return std::vector<float>(p, p + t.size);
}

void Model::set_weight(const std::string& name, const std::vector<float>& values) {
  build_if_needed();
  const TensorSlot& t = find_slot(*impl_->net, impl_->arch, name);
  if (static_cast<std::int64_t>(values.size()) != t.size)
    throw std::invalid_argument("set_weight('" + name + "'): expected " + std::to_string(t.size) + " values, got " +
                                std::to_string(values.size()));
  float* p = (t.trainable ? impl_->net->params().data() : impl_->net->state().data()) + t.offset;
  std::copy(values.begin(), values.end(), p);
}

}  // namespace ranvier
