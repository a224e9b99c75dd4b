// optimizers/: the table-derived facts of each optimizer (names, defaults, argument
// checks) and each update rule's per-step constants (Keras 3's keras/src/optimizers/).
#include "optimizers/rules.h"

#include <cctype>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace ranvier {

namespace optimizer_rules {

std::string format_number(double x) {
  std::ostringstream o;
  o.precision(17);
  o << x;
  return o.str();
}

void bad_argument(const std::string& opt, const std::string& arg, const std::string& why, double value) {
  throw std::invalid_argument(opt + ": `" + arg + "` " + why + ". Received: " + arg + "=" + format_number(value));
}

namespace {

// The range checks named in optimizers.def.
void check_any(const char*, const char*, double) {}
void check_unit(const char* o, const char* arg, double v) {
  if (!(v >= 0.0 && v <= 1.0)) bad_argument(o, arg, "must be in [0, 1]", v);
}
void check_unit_open(const char* o, const char* arg, double v) {
  if (!(v > 0.0 && v <= 1.0)) bad_argument(o, arg, "must be in (0, 1]", v);
}
void check_nonneg(const char* o, const char* arg, double v) {
  if (!(v >= 0.0)) bad_argument(o, arg, "must be >= 0", v);
}
void check_nonpos(const char* o, const char* arg, double v) {
  if (!(v <= 0.0)) bad_argument(o, arg, "must be <= 0", v);
}

float f(double x) { return static_cast<float>(x); }

// ---- the rules: each sets its constants in `a` and returns its kernel ----

UpdateFn rule_sgd(const StepContext& s, UpdateArgs& a) {
  if (s.c.momentum == 0.0) return s.K.sgd;
  a.sgd_momentum.momentum = f(s.c.momentum);
  a.sgd_momentum.nesterov = s.c.nesterov ? 1 : 0;
  return s.K.sgd_momentum;
}

UpdateFn rule_rmsprop(const StepContext& s, UpdateArgs& a) {
  a.rmsprop.rho = f(s.c.rho);
  a.rmsprop.one_minus_rho = f(1.0 - s.c.rho);
  a.rmsprop.epsilon = f(s.c.epsilon);
  a.rmsprop.momentum = f(s.c.momentum);
  a.rmsprop.centered = s.c.centered ? 1 : 0;
  a.rmsprop.use_momentum = s.c.momentum > 0 ? 1 : 0;
  return s.K.rmsprop;
}

UpdateFn rule_adagrad(const StepContext& s, UpdateArgs& a) {
  a.adagrad.epsilon = f(s.c.epsilon);
  return s.K.adagrad;
}

UpdateFn rule_adadelta(const StepContext& s, UpdateArgs& a) {
  a.adadelta.rho = f(s.c.rho);
  a.adadelta.one_minus_rho = f(1.0 - s.c.rho);
  a.adadelta.epsilon = f(s.c.epsilon);
  return s.K.adadelta;
}

UpdateFn rule_adam(const StepContext& s, UpdateArgs& a) {
  const auto& c = s.c;
  const double b1p = std::pow(c.beta_1, s.t), b2p = std::pow(c.beta_2, s.t);
  a.adam.one_minus_beta_1 = f(1.0 - c.beta_1);
  a.adam.one_minus_beta_2 = f(1.0 - c.beta_2);
  a.adam.alpha = f(static_cast<double>(s.lr) * std::sqrt(1.0 - b2p) / (1.0 - b1p));
  a.adam.epsilon = f(c.epsilon);
  a.adam.amsgrad = c.amsgrad ? 1 : 0;
  return s.K.adam;
}

UpdateFn rule_adamw(const StepContext& s, UpdateArgs& a) { return rule_adam(s, a); }

UpdateFn rule_adamax(const StepContext& s, UpdateArgs& a) {
  a.adamax.one_minus_beta_1 = f(1.0 - s.c.beta_1);
  a.adamax.beta_2 = f(s.c.beta_2);
  a.adamax.bias_correction_1 = f(1.0 - std::pow(s.c.beta_1, s.t));
  a.adamax.epsilon = f(s.c.epsilon);
  return s.K.adamax;
}

UpdateFn rule_nadam(const StepContext& s, UpdateArgs& a) {
  const auto& c = s.c;
  const double u_t = c.beta_1 * (1.0 - 0.5 * std::pow(0.96, s.t));
  const double u_t1 = c.beta_1 * (1.0 - 0.5 * std::pow(0.96, s.t + 1.0));
  s.u_product *= u_t;  // once per update, before the per-variable steps
  const double prod_t1 = s.u_product * u_t1;
  a.nadam.one_minus_beta_1 = f(1.0 - c.beta_1);
  a.nadam.one_minus_beta_2 = f(1.0 - c.beta_2);
  a.nadam.m_coef = f(u_t1 / (1.0 - prod_t1));
  a.nadam.g_coef = f((1.0 - u_t) / (1.0 - s.u_product));
  a.nadam.bias_correction_2 = f(1.0 - std::pow(c.beta_2, s.t));
  a.nadam.epsilon = f(c.epsilon);
  return s.K.nadam;
}

UpdateFn rule_lion(const StepContext& s, UpdateArgs& a) {
  a.lion.beta_1 = f(s.c.beta_1);
  a.lion.one_minus_beta_1 = f(1.0 - s.c.beta_1);
  a.lion.beta_2 = f(s.c.beta_2);
  a.lion.one_minus_beta_2 = f(1.0 - s.c.beta_2);
  return s.K.lion;
}

UpdateFn rule_ftrl(const StepContext& s, UpdateArgs& a) {
  const auto& c = s.c;
  a.ftrl.power = f(-c.learning_rate_power);
  a.ftrl.l2_x2 = f(2.0 * (c.l2_regularization_strength + c.beta / (2.0 * static_cast<double>(s.lr))));
  a.ftrl.shrinkage_x2 = f(2.0 * c.l2_shrinkage_regularization_strength);
  a.ftrl.l1 = f(c.l1_regularization_strength);
  a.ftrl.power_kind = c.learning_rate_power == -0.5 ? 1 : (c.learning_rate_power == 0.0 ? 2 : 0);
  return s.K.ftrl;
}

// Keras's trust ratio: |w| / |u| when both are > 0, else 1 (a NaN norm gives 1).
void lamb_trust_ratio(const double* stats, float lr, UpdateArgs& a) {
  const float w_norm = static_cast<float>(std::sqrt(stats[0]));
  const float u_norm = static_cast<float>(std::sqrt(stats[1]));
  const float ratio = w_norm > 0.0f ? (u_norm > 0.0f ? w_norm / u_norm : 1.0f) : 1.0f;
  a.lamb.ratio_lr = ratio * lr;
}

StepPlan rule_lamb(const StepContext& s, UpdateArgs& a) {
  const auto& c = s.c;
  a.lamb.one_minus_beta_1 = f(1.0 - c.beta_1);
  a.lamb.one_minus_beta_2 = f(1.0 - c.beta_2);
  a.lamb.bias_correction_1 = f(1.0 - std::pow(c.beta_1, s.t));
  a.lamb.bias_correction_2 = f(1.0 - std::pow(c.beta_2, s.t));
  a.lamb.epsilon = f(c.epsilon);
  StepPlan p;
  p.fn = s.K.lamb;
  p.stats = s.K.lamb_stats;
  p.per_tensor = lamb_trust_ratio;
  return p;
}

StepPlan plan(UpdateFn fn) {
  StepPlan p;
  p.fn = fn;
  return p;
}
StepPlan plan(const StepPlan& p) { return p; }  // layer-wise rules return their plan

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

}  // namespace

StepPlan prepare_step(const StepContext& s, UpdateArgs& a) {
  switch (s.c.kind) {
#define RANVIER_OPTIMIZER(kind, cls, learning_rate, weight_decay) \
  case OptimizerKind::kind:                                       \
    return plan(rule_##kind(s, a));
#include "optimizers/optimizers.def"
  }
  throw std::invalid_argument("unknown optimizer kind " + std::to_string(static_cast<int>(s.c.kind)));
}

void validate_hypers(const OptimizerConfig& c) {
  const char* o = optimizer_kind_name(c.kind);
#define RANVIER_OPTIMIZER_HYPER(kind_, field, type, def, check) \
  if (c.kind == OptimizerKind::kind_) check_##check(o, #field, static_cast<double>(c.field));
#include "optimizers/optimizers.def"
}

}  // namespace optimizer_rules

const char* optimizer_kind_name(OptimizerKind k) {
  switch (k) {
#define RANVIER_OPTIMIZER(kind, cls, learning_rate, weight_decay) \
  case OptimizerKind::kind:                                       \
    return #kind;
#include "optimizers/optimizers.def"
  }
  return "unknown";
}

const char* optimizer_class_name(OptimizerKind k) {
  switch (k) {
#define RANVIER_OPTIMIZER(kind, cls, learning_rate, weight_decay) \
  case OptimizerKind::kind:                                       \
    return cls;
#include "optimizers/optimizers.def"
  }
  return "unknown";
}

const std::vector<OptimizerKind>& all_optimizer_kinds() {
  static const std::vector<OptimizerKind> kinds = {
#define RANVIER_OPTIMIZER(kind, cls, learning_rate, weight_decay) OptimizerKind::kind,
#include "optimizers/optimizers.def"
  };
  return kinds;
}

bool optimizer_kind_from_name(const std::string& name, OptimizerKind* kind) {
  const std::string l = optimizer_rules::lower(name);
  for (OptimizerKind k : all_optimizer_kinds())
    if (l == optimizer_kind_name(k) || l == optimizer_rules::lower(optimizer_class_name(k))) {
      *kind = k;
      return true;
    }
  return false;
}

const std::vector<OptimizerHyper>& optimizer_hypers(OptimizerKind k) {
  static const std::vector<std::vector<OptimizerHyper>> table = [] {
    std::vector<std::vector<OptimizerHyper>> t(all_optimizer_kinds().size());
#define RANVIER_OPTIMIZER_HYPER(kind, field, type, def, check) \
  t[static_cast<std::size_t>(OptimizerKind::kind)].push_back(  \
      OptimizerHyper{#field, std::string(#type) == "flag", static_cast<double>(def)});
#include "optimizers/optimizers.def"
    return t;
  }();
  static const std::vector<OptimizerHyper> none;
  const auto i = static_cast<std::size_t>(k);
  return i < table.size() ? table[i] : none;
}

const std::vector<OptimizerSlot>& optimizer_slots(OptimizerKind k) {
  static const std::vector<std::vector<OptimizerSlot>> table = [] {
    std::vector<std::vector<OptimizerSlot>> t(all_optimizer_kinds().size());
#define RANVIER_OPTIMIZER_SLOT(kind, name, group, init, when) \
  t[static_cast<std::size_t>(OptimizerKind::kind)].push_back(OptimizerSlot{#name, group});
#include "optimizers/optimizers.def"
    return t;
  }();
  static const std::vector<OptimizerSlot> none;
  const auto i = static_cast<std::size_t>(k);
  return i < table.size() ? table[i] : none;
}

OptimizerConfig keras_defaults(OptimizerKind kind) {
  OptimizerConfig c;
  c.kind = kind;
  switch (kind) {
#define RANVIER_OPTIMIZER(k, cls, lr, wd)    \
  case OptimizerKind::k:                     \
    c.learning_rate = static_cast<float>(lr); \
    c.weight_decay = wd;                     \
    break;
#include "optimizers/optimizers.def"
  }
#define RANVIER_OPTIMIZER_HYPER(k, field, type, def, check) \
  if (kind == OptimizerKind::k) c.field = def;
#include "optimizers/optimizers.def"
  return c;
}

}  // namespace ranvier
