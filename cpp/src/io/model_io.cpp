// io/model_io: model files in and out: the metadata checks, build_network, check_model,
// and load_model. The optimizer JSON is optimizers/optimizer_json.cpp, the loss JSON
// losses/loss_json.cpp; the architecture section is io/architecture.cpp.
#include "io/model_io.h"

#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "config/config_reader.h"
#include "layers/layer_table.h"

namespace ranvier {
namespace io {

namespace {

using json::Value;

[[noreturn]] void bad(const std::string& msg) { throw std::invalid_argument("invalid model file: " + msg); }

}  // namespace

namespace {

// Bytes a built-in metric allocates for its config (AUC's buckets, Precision/Recall's top_k
// scratch), from the numbers as written (a float such as 3e9 counts as well).
double metric_bytes(const Value& m) {
  if (!m.is_object()) return 0.0;
  const Value* cn = m.find("class_name");
  const Value* cfg = m.find("config");
  if (!cn || !cn->is_string() || !cfg || !cfg->is_object()) return 0.0;
  std::string k;
  for (char c : cn->as_string())
    if (c != '_') k += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto num = [&](const char* key) {
    const Value* v = cfg->find(key);
    return v && v->is_number() ? std::max(0.0, v->as_double()) : 0.0;
  };
  if (k == "auc") return num("num_thresholds") * 2 * sizeof(double);
  if (k == "precision" || k == "recall") return num("top_k") * (sizeof(std::size_t) + sizeof(float));
  return 0.0;
}

void add_metric_bytes(const Value& v, double& total, int depth) {
  if (depth > 8) return;
  if (v.is_array()) {
    for (const auto& e : v.as_array()) add_metric_bytes(e, total, depth + 1);
  } else if (v.is_object() && !v.find("class_name")) {  // {output name: metrics}
    for (const auto& kv : v.as_object()) add_metric_bytes(kv.second, total, depth + 1);
  } else {
    total += metric_bytes(v);
  }
}

std::string mib(double bytes) {
  char buf[64];
  if (bytes >= 1024.0 * 1024 * 1024) std::snprintf(buf, sizeof buf, "%.1f GiB", bytes / (1024.0 * 1024 * 1024));
  else std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / (1024.0 * 1024));
  return buf;
}

}  // namespace

void check_compile_budget(const Value& compile_config) {
  if (!compile_config.is_object()) return;
  double total = 0.0;
  for (const char* key : {"metrics", "weighted_metrics"})
    if (const Value* m = compile_config.find(key)) add_metric_bytes(*m, total, 0);
  if (total > static_cast<double>(kLoadBudgetBytes))
    bad("compile_config: its metrics would allocate " + mib(total) + " (AUC num_thresholds, Precision/Recall " +
        "top_k), more than the " + mib(static_cast<double>(kLoadBudgetBytes)) +
        " a model file may ask for beyond its weights");
}

void check_model_metadata(const std::vector<std::pair<std::string, std::string>>& metadata, std::uint64_t file_elems,
                          bool allow_unknown) {
  const auto parse_meta = [&](const char* key) -> Value {
    for (const auto& kv : metadata) {
      if (kv.first != key) continue;
      try {
        return json::parse(kv.second.data(), kv.second.size(), 64, metadata_value_limit(kv.second.size()));
      } catch (const std::invalid_argument& e) {
        bad(std::string("metadata '") + key + "': " + e.what());
      }
    }
    return Value();
  };
  const Value arch = parse_meta("architecture");
  if (!arch.is_null()) check_weights_fit(parse_architecture(arch), file_elems, allow_unknown);
  check_compile_budget(parse_meta("compile_config"));
}

std::shared_ptr<Network> build_network(const Architecture& arch, const std::vector<std::uint64_t>& seeds,
                                       std::vector<std::string>* node_names, const SeedLookup* seed_by_name) {
  if (arch.input_shape.empty()) bad("the model is not built (no input shape): nothing to load");
  if (arch.layers.empty()) bad("the model has no layers");
  auto net = std::make_shared<Network>();
  if (arch.functional) {
    SeedLookup by_name = seed_by_name ? *seed_by_name : SeedLookup{};
    for (std::size_t i = 0; i < arch.layers.size() && i < seeds.size(); ++i)
      if (seeds[i]) by_name[arch.layers[i].name] = seeds[i];
    std::vector<std::string> names;
    build_graph(*net, arch, by_name, names);
    try {
      net->finalize();
    } catch (const std::invalid_argument& e) {
      bad(e.what());
    }
    net->bind_all();
    if (node_names) *node_names = std::move(names);
    return net;
  }
  if (node_names) {
    node_names->clear();
    for (const auto& l : arch.layers) node_names->push_back(l.name);
  }
  std::int64_t in = arch.in_features();
  std::vector<std::int64_t> dims = arch.input_shape;  // the samples' shape before layer i (empty: unknown)
  for (std::size_t i = 0; i < arch.layers.size(); ++i) {
    const LayerConfig& lc = arch.layers[i];
    check_layer_width(lc, in);
    // the first layer sees the samples' own shape (a channels_first Flatten reorders them),
    // and so does a global pooling layer anywhere
    auto layer = layer_from_config(lc, in, i < seeds.size() ? seeds[i] : 0,
                                   i == 0 || layer_needs_sample_shape(lc.class_name) ? &dims : nullptr);
    in = layer->out_features();
    dims = layer_output_sample_shape(lc.class_name, lc.config, dims, in);
    net->add(std::move(layer));
  }
  try {
    net->finalize(arch.in_features());
  } catch (const std::invalid_argument& e) {
    bad(e.what());
  }
  net->bind_all();
  return net;
}

namespace {

// The metadata of a model file, parsed and checked (no network yet). allow_unknown: see
// check_model.
LoadedModel parse_model_meta(const Header& h, bool allow_unknown) {
  check_ranvier(h);
  const std::string* contents = h.find_meta("contents");
  if (contents && *contents == "weights")
    bad("the file holds weights only (save_weights); it has no architecture to build a model from");
  const std::string* arch_text = h.find_meta("architecture");
  if (!arch_text) bad("metadata 'architecture' is missing");
  auto parse_meta = [&](const char* key) -> Value {
    const std::string* s = h.find_meta(key);
    if (!s) return Value();
    try {
      return json::parse(s->data(), s->size(), 64, metadata_value_limit(s->size()));
    } catch (const std::invalid_argument& e) {
      bad(std::string("metadata '") + key + "': " + e.what());
    }
  };
  LoadedModel m;
  m.arch = parse_architecture(parse_meta("architecture"));
  if (m.arch.input_shape.empty() && !allow_unknown) bad("the saved model was never built (no input shape)");

  // Dropout seeds (layer_seeds: {"name": seed}) for layers created without one.
  const Value seeds = parse_meta("layer_seeds");
  m.seeds.assign(m.arch.layers.size(), 0);
  if (seeds.is_object()) {
    std::unordered_map<std::string, const Value*> by_name;  // O(1) per layer, not O(seeds)
    for (const auto& kv : seeds.as_object()) {
      by_name.emplace(kv.first, &kv.second);
      if (m.arch.functional) {  // nested models' layers too
        try {
          m.seed_by_name[kv.first] = kv.second.as_uint("layer seed");
        } catch (const std::invalid_argument& e) {
          bad(std::string("metadata 'layer_seeds': ") + e.what());
        }
      }
    }
    for (std::size_t i = 0; i < m.arch.layers.size(); ++i) {
      const auto it = by_name.find(m.arch.layers[i].name);
      if (const Value* s = it == by_name.end() ? nullptr : it->second) {
        try {
          m.seeds[i] = s->as_uint("layer seed");
        } catch (const std::invalid_argument& e) {
          bad(std::string("metadata 'layer_seeds': ") + e.what());
        }
      }
    }
  } else if (!seeds.is_null()) {
    bad("metadata 'layer_seeds' must be an object");
  }

  // Refuse architectures whose weights the file cannot hold (before allocating them), and
  // layers built for another input width than the model gives them.
  std::uint64_t file_elems = 0;
  for (const auto& t : h.tensors) file_elems += t.numel;
  check_weights_fit(m.arch, file_elems, allow_unknown);
  check_compile_budget(parse_meta("compile_config"));

  if (const std::string* ts = h.find_meta("train_steps")) {
    try {
      m.train_steps = json::parse(*ts).as_uint("train_steps");
    } catch (const std::invalid_argument& e) {
      bad(std::string("metadata 'train_steps': ") + e.what());
    }
  }
  m.compile_config = parse_meta("compile_config");
  m.has_compile = m.compile_config.is_object();
  m.optimizer = parse_meta("optimizer");
  m.optimizer_state = parse_meta("optimizer_state");
  return m;
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s;
  for (auto d : shape) s += (s.empty() ? "" : ", ") + std::to_string(d);
  return "(" + s + ")";
}

// The file's tensor for weight `wname` of layer `lname`, with exactly `shape`.
const TensorInfo& expect_tensor(const Header& h, const std::string& lname, const std::string& wname,
                                const std::vector<std::int64_t>& shape) {
  const std::string key = "layers/" + lname + "/" + wname;
  const TensorInfo* t = h.find_tensor(key);
  if (!t) bad("weight '" + key + "' is missing");
  if (t->shape != shape)
    bad("weight '" + key + "' has shape " + shape_text(t->shape) + " but the layer expects " + shape_text(shape));
  return *t;
}

}  // namespace

void check_model(const Header& h, bool allow_unknown) {
  const LoadedModel m = parse_model_meta(h, allow_unknown);
  if (m.arch.functional) return check_graph_model(h, m.arch, m.seed_by_name, allow_unknown);
  if (m.arch.input_shape.empty()) return;  // an unbuilt model (Python): no weights to check
  std::int64_t in = m.arch.in_features();
  std::vector<std::int64_t> dims = m.arch.input_shape;
  for (std::size_t i = 0; i < m.arch.layers.size(); ++i) {
    const LayerConfig& lc = m.arch.layers[i];
    std::shared_ptr<Layer> layer;
    try {
      layer = layer_from_config(lc, in, m.seeds[i], i == 0 || layer_needs_sample_shape(lc.class_name) ? &dims : nullptr);
    } catch (const std::invalid_argument&) {
      if (allow_unknown && !find_layer_row(lc.class_name)) return;  // a custom layer: Python checks the rest
      throw;
    }
    for (const auto& spec : layer->param_specs()) expect_tensor(h, lc.name, spec.name, spec.shape);
    in = layer->out_features();
    dims = layer_output_sample_shape(lc.class_name, lc.config, dims, in);
  }
}

LoadedModel load_model(const File& f) {
  const Header& h = f.header;
  LoadedModel m = parse_model_meta(h, false);
  m.net = build_network(m.arch, m.seeds, &m.node_names, &m.seed_by_name);
  // Weights: "layers/<layer>/<weight>", exact shapes.
  for (const auto& slot : m.net->tensors()) {
    const std::string& lname = m.node_names[static_cast<std::size_t>(slot.layer)];
    const TensorInfo& t = expect_tensor(h, lname, slot.name, slot.shape);
    float* dst = (slot.trainable ? m.net->params().data() : m.net->state().data()) + slot.offset;
    f.read_f32(t, dst);
  }
  m.net->train_steps = m.train_steps;
  return m;
}

LoadedModel load_model_file(const std::string& path) {
  const File f = read_file(path);
  try {
    return load_model(f);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("'" + path + "': " + e.what());
  }
}

}  // namespace io
}  // namespace ranvier
