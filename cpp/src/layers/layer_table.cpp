#include "layers/layer_table.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace ranvier {

using json::Value;

namespace {
[[noreturn]] void fail(const std::string& msg) { throw std::invalid_argument(msg); }
}  // namespace

const std::vector<const LayerRow*>& layer_table() {
  static const std::vector<const LayerRow*> rows = {
#define RV_LAYER(cls) &layer_row_##cls,
#include "layers/layers.def"
#undef RV_LAYER
  };
  return rows;
}

const LayerRow* find_layer_row(const std::string& class_name) {
  for (const LayerRow* r : layer_table())
    if (class_name == r->class_name) return r;
  return nullptr;
}

std::string layer_class_names() {
  std::string s;
  for (const LayerRow* r : layer_table()) s += (s.empty() ? "" : ", ") + std::string(r->class_name);
  return s;
}

std::shared_ptr<Layer> make_layer(const std::string& class_name, const Value& config, LayerArgs args) {
  const std::string& where = args.where;
  const LayerRow* row = find_layer_row(class_name);
  if (!row)
    fail(where + ": layer class '" + class_name + "' cannot be loaded in C++ (known: " + layer_class_names() + ")");
  set_compute_dtype(args, config);  // only Dense has GEMMs; the others check it
  std::shared_ptr<Layer> layer;
  try {
    layer = row->from_config(config, args);
    if (row->merge_shape) {
      if (!args.input_shapes || args.input_shapes->empty())
        fail(where + ": " + class_name + " is a merge layer: it takes a list of inputs (a node of a "
             "functional graph), not the single input of a layer chain");
      std::vector<std::int64_t> widths;
      for (const auto& s : *args.input_shapes) {
        std::int64_t w = 1;
        for (const std::int64_t d : s) {
          if (d <= 0 || w > (std::int64_t{1} << 40) / d) {
            w = -1;  // refused by build_inputs, naming the shape
            break;
          }
          w *= d;
        }
        widths.push_back(w);
      }
      layer->build_inputs(widths);
    } else {
      layer->build(args.in_features);
    }
  } catch (const std::invalid_argument& e) {
    const std::string msg = e.what();
    if (msg.compare(0, where.size(), where) == 0) throw;  // a config reader's message names the layer already
    fail(where + ": " + msg);
  }
  if (!cfg::get_bool(config, "trainable", true, where)) layer->set_trainable(false);
  return layer;
}

bool layer_takes_whole_sample(const std::string& class_name, const Value& config) {
  if (class_name == "Flatten" || class_name == "Reshape" || class_name == "Embedding" ||
      layer_needs_sample_shape(class_name))
    return true;
  if (class_name != "CategoryEncoding") return false;
  const Value* m = config.find("output_mode");
  return m && m->is_string() && m->as_string() == "one_hot";
}

bool layer_needs_sample_shape(const std::string& class_name) {
  return class_name == "GlobalAveragePooling1D" || class_name == "GlobalMaxPooling1D";
}

namespace {
std::int64_t dims_product(const std::vector<std::int64_t>& d) {
  std::int64_t p = 1;
  for (const std::int64_t v : d) {
    if (v <= 0 || p > (std::int64_t{1} << 40) / v) return -1;
    p *= v;
  }
  return p;
}
std::int64_t config_int(const Value& c, const char* key) {
  const Value* v = c.find(key);
  if (!v || !v->is_number()) return -1;
  const double d = v->as_double();
  return d >= 1 && d <= double(std::int64_t{1} << 40) && d == std::floor(d) ? static_cast<std::int64_t>(d) : -1;
}
}  // namespace

std::vector<std::int64_t> layer_output_sample_shape(const std::string& class_name, const Value& config,
                                                    const std::vector<std::int64_t>& in, std::int64_t out_width) {
  const std::int64_t in_width = in.empty() ? -1 : dims_product(in);
  if (layer_needs_sample_shape(class_name)) {
    if (in.size() != 2 || in_width <= 0) return {};
    const Value* df = config.find("data_format");
    const bool cf = df && df->is_string() && cfg::lower(df->as_string()) == "channels_first";
    const Value* kd = config.find("keepdims");
    const bool keep = kd && kd->is_bool() && kd->as_bool();
    const std::int64_t f = cf ? in[0] : in[1];
    if (!keep) return {f};
    return cf ? std::vector<std::int64_t>{f, 1} : std::vector<std::int64_t>{1, f};
  }
  if (class_name == "Embedding" && in_width > 0) {
    const std::int64_t d = config_int(config, "output_dim");
    if (d <= 0) return {};
    std::vector<std::int64_t> s = in;
    s.push_back(d);
    return s;
  }
  if (class_name == "CategoryEncoding" && in_width > 0) {  // as its Python compute_output_shape
    const std::int64_t t = config_int(config, "num_tokens");
    if (t <= 0) return {};
    const Value* m = config.find("output_mode");
    const bool one_hot = m && m->is_string() && m->as_string() == "one_hot";  // default: multi_hot
    std::vector<std::int64_t> s = in;
    if (!one_hot || s.back() == 1) s.pop_back();
    s.push_back(t);
    return s;
  }
  if (class_name == "RepeatVector" && in_width > 0) {
    const std::int64_t n = config_int(config, "n");
    if (n <= 0) return {};
    return {n, in_width};
  }
  if (class_name == "Reshape" && in_width > 0) {
    const Value* t = config.find("target_shape");
    if (!t || !t->is_array()) return {};
    std::vector<std::int64_t> s;
    std::int64_t known = 1;
    int unknown = -1;
    for (const auto& v : t->as_array()) {
      if (!v.is_number()) return {};
      const double d = v.as_double();
      if (d == -1) {
        unknown = static_cast<int>(s.size());
        s.push_back(-1);
        continue;
      }
      if (d < 1 || d > double(std::int64_t{1} << 40)) return {};
      s.push_back(static_cast<std::int64_t>(d));
      known *= s.back();
      if (known > in_width) return {};
    }
    if (unknown >= 0) {
      if (in_width % known) return {};
      s[static_cast<std::size_t>(unknown)] = in_width / known;
    }
    return dims_product(s) == in_width ? s : std::vector<std::int64_t>{};
  }
  if (out_width <= 0) return {};
  if (class_name != "Flatten" && in_width == out_width) return in;
  return {out_width};
}

void check_layer_config(const std::string& class_name, const Value& config) {
  const LayerRow* row = find_layer_row(class_name);
  if (!row) fail("unknown layer class '" + class_name + "' (known: " + layer_class_names() + ")");
  LayerArgs args;
  args.where = class_name;
  row->from_config(config, args);
}

// ---------------------------------------------------------------- config readers
ComputeDtype parse_dtype_policy(const Value& c, const std::string& where) {
  const Value* v = c.find("dtype");
  if (!v || v->is_null()) return ComputeDtype::float32;
  const Value* name = v;
  if (v->is_object()) {
    const Value* inner = v->find("config");
    name = (inner && inner->is_object()) ? inner->find("name") : v->find("name");
    if (!name || name->is_null()) return ComputeDtype::float32;
  }
  if (!name->is_string()) fail(where + ": 'dtype' must be a policy name or a DTypePolicy");
  const std::string& s = name->as_string();
  if (s == "float32") return ComputeDtype::float32;
  if (s == "mixed_bfloat16") return ComputeDtype::bfloat16;
  if (s == "mixed_float16") return ComputeDtype::float16;
  fail(where + ": dtype policy '" + s +
       "' is not supported (ranvier computes 'float32', 'mixed_bfloat16' and 'mixed_float16')");
}

void set_compute_dtype(LayerArgs& args, const Value& config) {
  const ComputeDtype d = parse_dtype_policy(config, args.where);
  args.bf16 = d == ComputeDtype::bfloat16;
  args.f16 = d == ComputeDtype::float16;
}

void check_last_axis(const Value& c, const std::string& where) {
  const Value* v = c.find("axis");
  if (!v || v->is_null()) return;
  const Value* a = v;
  if (v->is_array()) {
    if (v->as_array().size() != 1) fail(where + ": only axis=-1 is supported");
    a = &v->as_array()[0];
  }
  if (!a->is_number()) fail(where + ": axis must be an integer");
  const double d = a->as_double();
  if (d != -1.0 && d != 1.0) fail(where + ": only the last axis (-1) is supported");
}

Penalty parse_regularizer(const Value* v, const std::string& where) {
  Penalty p;
  if (!v || v->is_null()) return p;
  std::string cls;
  const Value* c = nullptr;
  if (v->is_string()) {
    cls = v->as_string();
  } else if (v->is_object()) {
    const Value* n = v->find("class_name");
    if (!n || !n->is_string()) fail(where + ": a regularizer needs a string class_name");
    cls = n->as_string();
    c = v->find("config");
    if (c && !c->is_object() && !c->is_null()) fail(where + ": a regularizer config must be an object");
  } else {
    fail(where + ": a regularizer must be null, a name or a config object");
  }
  const std::string l = cfg::lower(cls);
  const Value empty = Value::make_object();
  const Value& k = (c && c->is_object()) ? *c : empty;
  if (l == "l1") {
    p.l1 = static_cast<float>(cfg::get_num(k, "l1", 0.01, where));
  } else if (l == "l2") {
    p.l2 = static_cast<float>(cfg::get_num(k, "l2", 0.01, where));
  } else if (l == "l1l2" || l == "l1_l2") {
    p.l1 = static_cast<float>(cfg::get_num(k, "l1", 0.0, where));
    p.l2 = static_cast<float>(cfg::get_num(k, "l2", 0.0, where));
  } else {
    fail(where + ": regularizer '" + cls + "' is not one the C++ core knows (L1, L2, L1L2)");
  }
  return p;
}

namespace {
int constraint_axis(const Value* axis, int ndim, const std::string& where) {
  if (ndim == 1) return 0;
  if (!axis || axis->is_null()) return 0;
  std::vector<const Value*> items;
  if (axis->is_array()) {
    for (const auto& a : axis->as_array()) items.push_back(&a);
  } else {
    items.push_back(axis);
  }
  bool has0 = false, has1 = false;
  for (const Value* a : items) {
    if (!a->is_number()) fail(where + ": constraint axis must be an integer");
    const double d = a->as_double();
    if (d == 0 || d == -2) has0 = true;
    else if (d == 1 || d == -1) has1 = true;
    else fail(where + ": constraint axis out of range");
  }
  if (has0 && has1) return -1;
  return has0 ? 0 : 1;
}
}  // namespace

Constraint parse_constraint(const Value* v, int ndim, const std::string& where) {
  Constraint c;
  if (!v || v->is_null()) return c;
  std::string cls;
  const Value* cf = nullptr;
  if (v->is_string()) {
    cls = v->as_string();
  } else if (v->is_object()) {
    const Value* n = v->find("class_name");
    if (!n || !n->is_string()) fail(where + ": a constraint needs a string class_name");
    cls = n->as_string();
    cf = v->find("config");
  } else {
    fail(where + ": a constraint must be null, a name or a config object");
  }
  const Value empty = Value::make_object();
  const Value& k = (cf && cf->is_object()) ? *cf : empty;
  const std::string l = cfg::lower(cls);
  if (l == "maxnorm" || l == "max_norm") {
    c.kind = ConstraintKind::max_norm;
    c.max_value = static_cast<float>(cfg::get_num(k, "max_value", 2.0, where));
    c.axis = constraint_axis(k.find("axis"), ndim, where);
  } else if (l == "nonneg" || l == "non_neg") {
    c.kind = ConstraintKind::non_neg;
  } else if (l == "unitnorm" || l == "unit_norm") {
    c.kind = ConstraintKind::unit_norm;
    c.axis = constraint_axis(k.find("axis"), ndim, where);
  } else if (l == "minmaxnorm" || l == "min_max_norm") {
    c.kind = ConstraintKind::min_max_norm;
    c.min_value = static_cast<float>(cfg::get_num(k, "min_value", 0.0, where));
    c.max_value = static_cast<float>(cfg::get_num(k, "max_value", 1.0, where));
    c.rate = static_cast<float>(cfg::get_num(k, "rate", 1.0, where));
    c.axis = constraint_axis(k.find("axis"), ndim, where);
  } else {
    fail(where + ": constraint '" + cls + "' is not one the C++ core knows (MaxNorm, NonNeg, UnitNorm, MinMaxNorm)");
  }
  return c;
}

std::uint64_t config_seed(const Value& c, std::uint64_t fallback, const std::string& where) {
  return cfg::get_uint(c, "seed", fallback, where);
}

std::uint64_t sat_mul(std::uint64_t a, std::uint64_t b) {
  return (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) ? std::numeric_limits<std::uint64_t>::max()
                                                                       : a * b;
}

}  // namespace ranvier
