#include "io/config_reader.h"

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

std::string shown(const Value& v) {
  switch (v.type()) {
    case Value::Type::null: return "None";
    case Value::Type::boolean: return v.as_bool() ? "True" : "False";
    case Value::Type::number: return v.number_text();
    case Value::Type::string: {
      std::string out = "'";
      for (char c : v.as_string()) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
      }
      return out + "'";
    }
    case Value::Type::array: {
      std::string out = "[";
      for (const auto& e : v.as_array()) out += (out.size() > 1 ? ", " : "") + shown(e);
      return out + "]";
    }
    case Value::Type::object: {
      std::string out = "{";
      for (const auto& kv : v.as_object())
        out += (out.size() > 1 ? ", '" : "'") + kv.first + "': " + shown(kv.second);
      return out + "}";
    }
  }
  return "?";
}

namespace {
struct ActName {
  const char* name;
  ActKind kind;
};
const ActName kActNames[] = {
    {"linear", ActKind::linear}, {"relu", ActKind::relu}, {"leaky_relu", ActKind::leaky_relu},
    {"relu6", ActKind::relu6}, {"elu", ActKind::elu}, {"selu", ActKind::selu}, {"celu", ActKind::celu},
    {"gelu", ActKind::gelu}, {"gelu_approx", ActKind::gelu_approx}, {"sigmoid", ActKind::sigmoid},
    {"hard_sigmoid", ActKind::hard_sigmoid}, {"hard_silu", ActKind::hard_silu}, {"tanh", ActKind::tanh},
    {"softplus", ActKind::softplus}, {"softsign", ActKind::softsign}, {"silu", ActKind::silu},
    {"mish", ActKind::mish}, {"exponential", ActKind::exponential}, {"log_sigmoid", ActKind::log_sigmoid},
    {"softmax", ActKind::softmax}, {"log_softmax", ActKind::log_softmax},
    // Keras aliases
    {"swish", ActKind::silu}, {"hard_swish", ActKind::hard_silu},
};
}  // namespace

const char* activation_name(ActKind kind) {
  for (const auto& a : kActNames)
    if (a.kind == kind) return a.name;
  return "linear";
}

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
  const std::string l = lower(name);
  for (const auto& a : kActNames) {
    if (l == a.name) {
      kind = a.kind;
      if (kind == ActKind::leaky_relu) params.negative_slope = 0.2f;
      return;
    }
  }
  fail(where + ": unknown activation '" + name + "'");
}

}  // namespace cfg
}  // namespace ranvier
