#include "losses/loss_json.h"

#include <cctype>
#include <cmath>
#include <stdexcept>
#include <string>

namespace ranvier {

namespace {

using json::Value;

[[noreturn]] void bad(const std::string& msg) { throw std::invalid_argument("invalid model file: " + msg); }

double get_num(const Value& cfg, const char* key, double def, const std::string& where) {
  const Value* v = cfg.find(key);
  if (!v || v->is_null()) return def;
  if (!v->is_number()) bad(where + ": '" + key + "' must be a number, got " + Value::type_name(v->type()));
  const double d = v->as_double();
  if (!std::isfinite(d)) bad(where + ": '" + key + "' is not a finite number");
  return d;
}

bool get_bool(const Value& cfg, const char* key, bool def, const std::string& where) {
  const Value* v = cfg.find(key);
  if (!v || v->is_null()) return def;
  if (!v->is_bool()) bad(where + ": '" + key + "' must be true or false, got " + Value::type_name(v->type()));
  return v->as_bool();
}

}  // namespace

LossSpec loss_from_json(const Value& v, std::int64_t out_features, std::int64_t y_cols) {
  std::string name;
  const Value* cfg = nullptr;
  if (v.is_string()) {
    name = v.as_string();
  } else if (v.is_object()) {
    const Value* c = v.find("class_name");
    if (!c || !c->is_string()) bad("loss: class_name missing");
    name = c->as_string();
    cfg = v.find("config");
  } else {
    bad("loss: expected a name or a config object");
  }
  LossSpec s;
  std::string l = name;
  for (auto& ch : l) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (l == "crossentropy" || l == "ce") {
    if (out_features == 1) s.kind = LossKind::binary_crossentropy;
    else if (y_cols == 1) s.kind = LossKind::sparse_categorical_crossentropy;
    else s.kind = LossKind::categorical_crossentropy;
  } else if (!loss_from_name(l, &s.kind)) {
    bad("loss '" + name + "' is unknown");
  }
  if (cfg && cfg->is_object()) {
    const std::string where = "loss " + name;
    s.params.from_logits = get_bool(*cfg, "from_logits", false, where);
    s.params.label_smoothing = static_cast<float>(get_num(*cfg, "label_smoothing", 0.0, where));
    s.params.delta = static_cast<float>(get_num(*cfg, "delta", 1.0, where));
    s.params.alpha = static_cast<float>(get_num(*cfg, "alpha", 0.25, where));
    s.params.gamma = static_cast<float>(get_num(*cfg, "gamma", 2.0, where));
    s.params.apply_class_balancing = get_bool(*cfg, "apply_class_balancing", false, where);
  }
  return s;
}

bool loss_is_sparse(const LossSpec& s) { return loss_info(s.kind).labels == LossLabels::sparse; }

}  // namespace ranvier
