#include "losses/loss_json.h"

#include <stdexcept>
#include <string>

#include "config/config_reader.h"

namespace ranvier {

namespace {

using json::Value;

[[noreturn]] void bad(const std::string& msg) { throw std::invalid_argument("invalid model file: " + msg); }

// The shared config readers (config/config_reader.h), with the model file's prefix on errors.
double get_num(const Value& c, const char* key, double def, const std::string& where) {
  try {
    return cfg::get_num(c, key, def, where);
  } catch (const std::invalid_argument& e) {
    bad(e.what());
  }
}

bool get_bool(const Value& c, const char* key, bool def, const std::string& where) {
  try {
    return cfg::get_bool(c, key, def, where);
  } catch (const std::invalid_argument& e) {
    bad(e.what());
  }
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
  const std::string l = cfg::lower(name);
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
