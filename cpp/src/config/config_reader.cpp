#include "config/config_reader.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace ranvier {
namespace cfg {

using json::Value;

namespace {
[[noreturn]] void fail(const std::string& msg) { throw std::invalid_argument(msg); }
}  // namespace

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

double get_num(const Value& c, const char* key, double def, const std::string& where) {
  const Value* v = c.find(key);
  if (!v || v->is_null()) return def;
  if (!v->is_number()) fail(where + ": '" + key + "' must be a number, got " + Value::type_name(v->type()));
  const double d = v->as_double();
  if (!std::isfinite(d)) fail(where + ": '" + key + "' is not a finite number");
  return d;
}

bool get_bool(const Value& c, const char* key, bool def, const std::string& where) {
  const Value* v = c.find(key);
  if (!v || v->is_null()) return def;
  if (!v->is_bool()) fail(where + ": '" + key + "' must be true or false, got " + Value::type_name(v->type()));
  return v->as_bool();
}

double get_num_not_null(const Value& c, const char* key, double def, const std::string& where) {
  const Value* v = c.find(key);
  if (v && v->is_null()) fail(where + ": '" + key + "' must be a number, got None");
  return get_num(c, key, def, where);
}

bool get_bool_not_null(const Value& c, const char* key, bool def, const std::string& where) {
  const Value* v = c.find(key);
  if (v && v->is_null()) fail(where + ": '" + key + "' must be true or false, got None");
  return get_bool(c, key, def, where);
}

std::uint64_t get_uint(const Value& c, const char* key, std::uint64_t def, const std::string& where) {
  const Value* v = c.find(key);
  if (!v || v->is_null()) return def;
  try {
    return v->as_uint(key);
  } catch (const std::invalid_argument& e) {
    fail(where + ": " + e.what());
  }
}

std::string shown(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  return Value::make_number(d).number_text();
}

namespace {

std::string shown_full(const Value& v) {
  switch (v.type()) {
    case Value::Type::null: return "None";
    case Value::Type::boolean: return v.as_bool() ? "True" : "False";
    case Value::Type::number: return v.number_text();
    case Value::Type::string: {
      std::string out = "'";
      for (char c : v.as_string()) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\'' || c == '\\') {
          out += '\\';
          out += c;
        } else if (u < 0x20 || u == 0x7f) {  // as Python's repr: a NUL would end the C message
          static const char hex[] = "0123456789abcdef";
          out += "\\x";
          out += hex[u >> 4];
          out += hex[u & 15];
        } else {
          out += c;
        }
      }
      return out + "'";
    }
    case Value::Type::array: {
      std::string out = "[";
      for (const auto& e : v.as_array()) {
        out += (out.size() > 1 ? ", " : "") + shown_full(e);
        if (out.size() > 4 * kShownMax) break;  // shown() cuts it anyway
      }
      return out + "]";
    }
    case Value::Type::object: {
      std::string out = "{";
      for (const auto& kv : v.as_object()) {
        out += (out.size() > 1 ? ", " : "") + shown_full(Value::make_string(kv.first)) + ": " + shown_full(kv.second);
        if (out.size() > 4 * kShownMax) break;
      }
      return out + "}";
    }
  }
  return "?";
}

}  // namespace

std::string shown(const Value& v) {
  std::string out = shown_full(v);
  if (out.size() <= kShownMax) return out;
  std::size_t cut = kShownMax - 3;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // whole UTF-8 characters
  return out.substr(0, cut) + "...";
}

const char* activation_name(ActKind kind) { return activation_info(kind).name; }

void parse_activation(const Value& v, ActKind& kind, ActParams& params, const std::string& where) {
  params = ActParams();
  kind = ActKind::linear;
  if (v.is_null()) return;
  std::string name;
  if (v.is_string()) {
    name = v.as_string();
  } else if (v.is_object()) {
    // Keras's serialized function: {"class_name": "function", "config": "relu", ...}
    const Value* c = v.find("config");
    const Value* cn = v.find("class_name");
    if (c && c->is_string()) name = c->as_string();
    else if (cn && cn->is_string()) name = cn->as_string();
    else fail(where + ": cannot interpret the activation");
  } else {
    fail(where + ": activation must be a name, got " + Value::type_name(v.type()));
  }
  if (!activation_from_name(lower(name), &kind)) fail(where + ": unknown activation '" + name + "'");
  params = activation_default_params(kind);
  // The keyword parameters of a functools.partial of a built-in (ranvier.activations.serialize):
  // the kind's own parameters (activations.def), gelu's approximate and the softmax axis (-1).
  const Value* rp = v.is_object() ? v.find("ranvier_params") : nullptr;
  if (!rp || rp->is_null()) return;
  if (!rp->is_object()) fail(where + ": activation 'ranvier_params' must be an object");
  const auto defaults = activation_param_defaults(kind);
  for (const auto& kv : rp->as_object()) {
    const std::string& key = kv.first;
    const Value& val = kv.second;
    if (key == "approximate" && kind == ActKind::gelu && val.is_bool()) {
      if (val.as_bool()) kind = ActKind::gelu_approx;
      continue;
    }
    if (key == "axis" && activation_info(kind).rowwise && val.is_number() && val.as_double() == -1.0) continue;
    bool known = false;
    for (const auto& d : defaults) known = known || d.first == key;
    if (!known) fail(where + ": activation '" + name + "' has no parameter '" + key + "' that the C++ kernels take");
    if (key == "max_value" && val.is_null()) {
      params.max_value = INFINITY;
    } else if (val.is_number()) {
      set_activation_param(params, key, static_cast<float>(val.as_double()));
    } else {
      fail(where + ": activation parameter '" + key + "' must be a number, got " + Value::type_name(val.type()));
    }
  }
}

}  // namespace cfg
}  // namespace ranvier
