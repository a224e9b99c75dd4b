#include "optimizers/optimizer_json.h"

#include <cctype>
#include <cmath>
#include <stdexcept>

namespace ranvier {

namespace {

using json::Value;

[[noreturn]] void bad(const std::string& msg) { throw std::invalid_argument("invalid model file: " + msg); }

double read_num(const Value& cfg, const char* key, double def, const std::string& where) {
  const Value* v = cfg.find(key);
  if (!v || v->is_null()) return def;
  if (!v->is_number()) bad(where + ": '" + key + "' must be a number, got " + Value::type_name(v->type()));
  const double d = v->as_double();
  if (!std::isfinite(d)) bad(where + ": '" + key + "' is not a finite number");
  return d;
}

bool read_flag(const Value& cfg, const char* key, bool def, const std::string& where) {
  const Value* v = cfg.find(key);
  if (!v || v->is_null()) return def;
  if (!v->is_bool()) bad(where + ": '" + key + "' must be true or false, got " + Value::type_name(v->type()));
  return v->as_bool();
}

Value write_num(double v) { return Value::make_number(v); }
Value write_flag(bool v) { return Value::make_bool(v); }

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

}  // namespace

OptimizerConfig optimizer_from_json(const Value& v) {
  std::string cls;
  const Value* cfg = nullptr;
  if (v.is_string()) {
    cls = v.as_string();
  } else if (v.is_object()) {
    const Value* c = v.find("class_name");
    if (!c || !c->is_string()) bad("optimizer: class_name missing");
    cls = c->as_string();
    cfg = v.find("config");
  } else {
    bad("optimizer: expected a name or a config object");
  }
  OptimizerKind kind{};
  if (!optimizer_kind_from_name(cls, &kind)) bad("optimizer '" + cls + "' is unknown");
  OptimizerConfig o = keras_defaults(kind);
  if (!cfg || cfg->is_null()) return o;
  if (!cfg->is_object()) bad("optimizer config must be an object");
  const std::string where = "optimizer " + cls;
  const Value* lr = cfg->find("learning_rate");
  if (lr && !lr->is_null()) {
    if (!lr->is_number()) bad(where + ": learning-rate schedules are not supported by the C++ loader");
    o.learning_rate = static_cast<float>(read_num(*cfg, "learning_rate", o.learning_rate, where));
  }
#define RANVIER_OPTIMIZER_HYPER(k, field, type, def, check) \
  if (kind == OptimizerKind::k) o.field = read_##type(*cfg, #field, o.field, where);
#include "optimizers/optimizers.def"
  o.weight_decay = read_num(*cfg, "weight_decay", o.weight_decay, where);
  o.clipnorm = read_num(*cfg, "clipnorm", 0.0, where);
  o.clipvalue = read_num(*cfg, "clipvalue", 0.0, where);
  o.global_clipnorm = read_num(*cfg, "global_clipnorm", 0.0, where);
  o.loss_scale_factor = read_num(*cfg, "loss_scale_factor", 0.0, where);
  o.use_ema = read_flag(*cfg, "use_ema", false, where);
  o.ema_momentum = read_num(*cfg, "ema_momentum", 0.99, where);
  o.ema_overwrite_frequency = static_cast<std::int64_t>(read_num(*cfg, "ema_overwrite_frequency", 0.0, where));
  o.gradient_accumulation_steps = static_cast<std::int64_t>(read_num(*cfg, "gradient_accumulation_steps", 0.0, where));
  return o;
}

json::Value optimizer_to_json(const OptimizerConfig& c, const std::string& name) {
  const std::string cls = optimizer_class_name(c.kind);
  Value cfg = Value::make_object();
  cfg.set("name", Value::make_string(name.empty() ? lower(cls) : name));
  cfg.set("learning_rate", Value::make_number(static_cast<double>(c.learning_rate)));
  const auto opt_num = [&](const char* key, double v) { cfg.set(key, v > 0 ? Value::make_number(v) : Value()); };
  opt_num("weight_decay", c.weight_decay);
  opt_num("clipnorm", c.clipnorm);
  opt_num("global_clipnorm", c.global_clipnorm);
  opt_num("clipvalue", c.clipvalue);
  cfg.set("use_ema", Value::make_bool(c.use_ema));
  cfg.set("ema_momentum", Value::make_number(c.ema_momentum));
  cfg.set("ema_overwrite_frequency",
          c.ema_overwrite_frequency > 0 ? Value::make_int(c.ema_overwrite_frequency) : Value());
  opt_num("loss_scale_factor", c.loss_scale_factor);
  cfg.set("gradient_accumulation_steps",
          c.gradient_accumulation_steps > 0 ? Value::make_int(c.gradient_accumulation_steps) : Value());
#define RANVIER_OPTIMIZER_HYPER(k, field, type, def, check) \
  if (c.kind == OptimizerKind::k) cfg.set(#field, write_##type(c.field));
#include "optimizers/optimizers.def"
  Value out = Value::make_object();
  out.set("module", Value::make_string("ranvier.optimizers"));
  out.set("class_name", Value::make_string(cls));
  out.set("config", cfg);
  out.set("registered_name", Value());
  return out;
}

}  // namespace ranvier
