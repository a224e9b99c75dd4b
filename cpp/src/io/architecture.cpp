// io/architecture: the "architecture" metadata of a model file (Keras's Sequential config)
// parsed and written, each layer built through the layer table (layers/layer_table.h),
// and the sizes an architecture asks for checked against the file before anything is
// allocated.
#include <algorithm>
#include <limits>
#include <stdexcept>
#include <unordered_set>

#include "io/model_io.h"
#include "layers/layer_table.h"

namespace ranvier {
namespace io {

namespace {

using json::Value;

[[noreturn]] void bad(const std::string& msg) { throw std::invalid_argument("invalid model file: " + msg); }

}  // namespace

std::pair<std::int64_t, std::int64_t> input_shape_widths(const Value& shape, const std::string& where) {
  if (!shape.is_array() || shape.as_array().size() < 2) bad(where + ": input_shape must be [null, d, ...]");
  const auto& dims = shape.as_array();
  std::uint64_t prod = 1, d = 0;
  for (std::size_t i = 1; i < dims.size(); ++i) {
    if (dims[i].is_null()) bad(where + ": input_shape needs known feature dimensions, got null");
    try {
      d = dims[i].as_uint("input_shape dimension");
    } catch (const std::invalid_argument& e) {
      bad(where + ": " + e.what());
    }
    if (d == 0 || d > (std::uint64_t{1} << 40) || prod > (std::uint64_t{1} << 40) / d)
      bad(where + ": input_shape dimension out of range");
    prod *= d;
  }
  return {static_cast<std::int64_t>(d), static_cast<std::int64_t>(prod)};
}

std::int64_t Architecture::in_features() const {
  std::int64_t n = 1;
  for (auto d : input_shape) n *= d;
  return n;
}

Architecture parse_architecture(const Value& arch) {
  if (!arch.is_object()) bad("architecture must be a JSON object");
  const Value* cls = arch.find("class_name");
  if (cls && cls->is_string() && (cls->as_string() == "Functional" || cls->as_string() == "Model"))
    return parse_functional(arch);
  if (cls && (!cls->is_string() || cls->as_string() != "Sequential"))
    bad("architecture: only Sequential and Functional models can be loaded");
  const Value* cfg = arch.find("config");
  if (!cfg || !cfg->is_object()) bad("architecture: 'config' must be an object");
  Architecture a;
  if (const Value* n = cfg->find("name"); n && n->is_string()) a.name = n->as_string();
  const Value* layers = cfg->find("layers");
  if (!layers || !layers->is_array()) bad("architecture: 'layers' must be an array");
  if (layers->as_array().size() > kMaxLayers + 1)  // + 1: the InputLayer entry
    bad("architecture: " + std::to_string(layers->as_array().size()) + " layers; a model file may hold at most " +
        std::to_string(kMaxLayers));
  bool first = true;
  std::unordered_set<std::string> names;
  for (const auto& l : layers->as_array()) {
    if (!l.is_object()) bad("architecture: each layer must be an object");
    const Value* c = l.find("class_name");
    const Value* lc = l.find("config");
    if (!c || !c->is_string()) bad("architecture: a layer has no class_name");
    if (!lc || !lc->is_object()) bad("architecture: layer '" + c->as_string() + "' has no config object");
    if (c->as_string() == "InputLayer") {
      if (!first) bad("architecture: InputLayer must come first");
      const Value* bs = lc->find("batch_shape");
      if (!bs) bs = lc->find("batch_input_shape");
      if (!bs || !bs->is_array() || bs->as_array().size() < 2) bad("architecture: InputLayer needs a batch_shape [null, d, ...]");
      const auto& dims = bs->as_array();
      std::uint64_t prod = 1;
      for (std::size_t i = 1; i < dims.size(); ++i) {
        std::uint64_t d = 0;
        try {
          d = dims[i].as_uint("InputLayer dimension");
        } catch (const std::invalid_argument& e) {
          bad(std::string("architecture: ") + e.what());
        }
        if (d == 0 || d > (std::uint64_t{1} << 40) || prod > (std::uint64_t{1} << 40) / d)
          bad("architecture: InputLayer dimension out of range");
        prod *= d;
        a.input_shape.push_back(static_cast<std::int64_t>(d));
      }
      GraphInput gi;
      gi.shape = a.input_shape;
      const Value* in_name = lc->find("name");
      gi.name = in_name && in_name->is_string() ? in_name->as_string() : "input_layer";
      if (const Value* dt = lc->find("dtype"); dt && dt->is_string()) gi.dtype = dt->as_string();
      a.inputs.push_back(std::move(gi));  // its name (a Sequential's inputs are not a graph's)
      first = false;
      continue;
    }
    first = false;
    LayerConfig L;
    L.class_name = c->as_string();
    L.config = *lc;
    if (const Value* b = l.find("build_config")) L.build_config = *b;
    const Value* name = lc->find("name");
    L.name = (name && name->is_string()) ? name->as_string() : std::string();
    if (L.name.empty()) bad("architecture: layer of class " + L.class_name + " has no name");
    if (const Value* bc = l.find("build_config"); bc && !bc->is_null()) {
      const std::string where = "architecture: layer '" + L.name + "' (" + L.class_name + "): build_config";
      if (!bc->is_object()) bad(where + " must be an object");
      const Value* is = bc->find("input_shape");
      if (is && !is->is_null()) {
        const auto w = input_shape_widths(*is, where);
        L.built_in_features = layer_takes_whole_sample(L.class_name, L.config) ? w.second : w.first;
      }
    }
    if (!names.insert(L.name).second) bad("architecture: two layers are named '" + L.name + "'");
    a.layers.push_back(std::move(L));
  }
  if (a.input_shape.empty()) {
    // Unbuilt Sequential with a build_config: take the input shape from it.
    const Value* bc = arch.find("build_config");
    const Value* is = bc && bc->is_object() ? bc->find("input_shape") : nullptr;
    if (!is) is = cfg->find("build_input_shape");
    if (is && is->is_array() && is->as_array().size() >= 2) {
      std::uint64_t prod = 1;
      for (std::size_t i = 1; i < is->as_array().size(); ++i) {
        std::uint64_t d = 0;
        try {
          d = is->as_array()[i].as_uint("input dimension");
        } catch (const std::invalid_argument& e) {
          bad(std::string("architecture: ") + e.what());
        }
        if (d == 0 || d > (std::uint64_t{1} << 40) || prod > (std::uint64_t{1} << 40) / d)
          bad("architecture: input dimension out of range");
        prod *= d;
        a.input_shape.push_back(static_cast<std::int64_t>(d));
      }
    }
  }
  return a;
}

json::Value architecture_json(const Architecture& a) {
  if (a.functional) return functional_json(a);
  Value layers = Value::make_array();
  Value in = Value::make_object();
  in.set("class_name", Value::make_string("InputLayer"));
  Value inc = Value::make_object();
  Value bs = Value::make_array();
  bs.push_back(Value());
  for (auto d : a.input_shape) bs.push_back(Value::make_int(d));
  inc.set("batch_shape", bs);
  inc.set("dtype", Value::make_string("float32"));
  inc.set("name", Value::make_string("input_layer"));
  in.set("config", inc);
  layers.push_back(in);
  for (const auto& l : a.layers) {
    Value e = Value::make_object();
    e.set("module", Value::make_string("keras.layers"));
    e.set("class_name", Value::make_string(l.class_name));
    e.set("config", l.config);
    e.set("registered_name", Value());
    layers.push_back(e);
  }
  Value cfg = Value::make_object();
  cfg.set("name", Value::make_string(a.name));
  cfg.set("trainable", Value::make_bool(true));
  cfg.set("dtype", Value::make_string("float32"));
  cfg.set("layers", layers);
  cfg.set("build_input_shape", bs);
  Value out = Value::make_object();
  out.set("module", Value::make_string("keras"));
  out.set("class_name", Value::make_string("Sequential"));
  out.set("config", cfg);
  Value bc = Value::make_object();
  bc.set("input_shape", bs);
  out.set("build_config", bc);
  return out;
}

std::shared_ptr<Layer> layer_from_config(const LayerConfig& lc, std::int64_t in_features, std::uint64_t seed,
                                         const std::vector<std::int64_t>* sample_shape) {
  LayerArgs args;
  args.in_features = in_features;
  args.seed = seed;
  args.sample_shape = sample_shape;
  args.where = "layer '" + lc.name + "' (" + lc.class_name + ")";
  try {
    return make_layer(lc.class_name, lc.config, std::move(args));
  } catch (const std::invalid_argument& e) {
    bad(e.what());
  }
}

namespace {

// Parameter elements a layer of this config will hold for in_features inputs (checked
// arithmetic; ~0 on overflow), so a hostile architecture is refused before allocating.
std::uint64_t param_elems(const LayerRow& row, const LayerConfig& lc, std::uint64_t in, std::uint64_t& out) {
  out = in;
  if (!row.param_count) return 0;
  const std::string where = "layer '" + lc.name + "' (" + lc.class_name + ")";
  try {
    return row.param_count(lc.config, in, &out, where);
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    bad(msg.compare(0, where.size(), where) == 0 ? msg : where + ": " + msg);  // an argument check names no layer
  }
}

}  // namespace

void check_layer_width(const LayerConfig& lc, std::int64_t in_features) {
  if (lc.built_in_features > 0 && lc.built_in_features != in_features)
    bad("layer '" + lc.name + "' (" + lc.class_name + ") was built for " + std::to_string(lc.built_in_features) +
        " input features (its build_config), but the model's input gives it " + std::to_string(in_features));
}

namespace {

// The input width a layer's own "build_config" says it was built for (the product of its
// non-batch dimensions), 0 when it has none or names an unknown (null) width. A width out of
// range is refused here: the Python loader builds such a layer before the model is assembled.
std::uint64_t build_config_width(const Value& build_config, const std::string& where) {
  const Value* bc = &build_config;
  if (bc->is_null()) return 0;
  if (!bc->is_object()) bad(where + ": build_config must be an object");
  const Value* is = bc->find("input_shape");
  if (!is || is->is_null()) return 0;
  if (!is->is_array() || is->as_array().size() < 2)
    bad(where + ": build_config input_shape must be [batch, d, ...]");
  const auto& dims = is->as_array();
  std::uint64_t prod = 1;
  for (std::size_t i = 1; i < dims.size(); ++i) {
    if (dims[i].is_null()) return 0;
    std::uint64_t d = 0;
    try {
      d = dims[i].as_uint("build_config input dimension");
    } catch (const std::invalid_argument& e) {
      bad(where + ": " + e.what());
    }
    if (d == 0 || d > (std::uint64_t{1} << 40) || prod > (std::uint64_t{1} << 40) / d)
      bad(where + ": build_config input dimension " + std::to_string(d) + " is out of range");
    prod *= d;
  }
  return prod;
}

}  // namespace

void check_weights_fit(const Architecture& arch, std::uint64_t file_elems, bool allow_unknown) {
  if (arch.functional) return check_graph_weights_fit(arch, file_elems, allow_unknown);
  // Every layer is checked for the width the model feeds it (when known) and for the width
  // its own build_config names (the Python loader builds a layer with it as soon as the
  // layer is deserialized): the weights of either must fit in what the file holds.
  std::uint64_t need = 0;
  std::uint64_t in = arch.input_shape.empty() ? 0 : static_cast<std::uint64_t>(arch.in_features());
  std::vector<std::int64_t> dims = arch.input_shape;  // the samples' shape (empty: unknown)
  for (const auto& lc : arch.layers) {
    const std::string where = "layer '" + lc.name + "' (" + lc.class_name + ")";
    const LayerRow* row = find_layer_row(lc.class_name);
    if (!row) {
      if (!allow_unknown) bad("layer '" + lc.name + "': class '" + lc.class_name + "' is not one C++ can load");
      in = 0;  // a custom layer: its output width is unknown from here on
      dims.clear();
      continue;
    }
    std::uint64_t p = 0, out = 0;
    if (in) p = param_elems(*row, lc, in, out);
    if (const std::uint64_t bw = build_config_width(lc.build_config, where)) {
      std::uint64_t bout = 0;
      p = std::max(p, param_elems(*row, lc, bw, bout));
    }
    if (in) check_layer_width(lc, static_cast<std::int64_t>(in));
    if (p > file_elems || need > file_elems - p)
      bad("the architecture needs more weights than the file holds (" + where + " alone needs " +
          std::to_string(p) + " values; the file holds " + std::to_string(file_elems) + " in all)");
    need += p;
    // the shape after the layer; a global pooling layer's width is its shape's (an unknown
    // shape keeps its input width: an upper bound)
    dims = in ? layer_output_sample_shape(lc.class_name, lc.config, dims, static_cast<std::int64_t>(out))
              : std::vector<std::int64_t>();
    if (layer_needs_sample_shape(lc.class_name) && !dims.empty()) {
      std::uint64_t w = 1;
      for (auto d : dims) w = sat_mul(w, static_cast<std::uint64_t>(d));
      out = w;
    }
    in = out;
  }
}

}  // namespace io
}  // namespace ranvier
