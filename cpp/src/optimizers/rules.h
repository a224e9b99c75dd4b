// optimizers/: the per-kind pieces the Optimizer driver calls, generated from
// optimizers.def (private to cpp/src/optimizers/).
#pragma once

#include <string>

#include "kernels/f32-update/update.h"
#include "optimizers/optimizer.h"

namespace ranvier {
namespace optimizer_rules {

// What a rule sees at one update step.
struct StepContext {
  const OptimizerConfig& c;
  const UpdateKernels& K;
  double t;           // the update step, 1-based
  float lr;           // the learning rate of this step
  double& u_product;  // Nadam's running product of the momentum schedule
};

// How one step of a rule runs.
struct StepPlan {
  UpdateFn fn = nullptr;  // the fused pass over every element
  // Layer-wise rules only: a first pass per tensor (over the fixed norm blocks, in order)
  // that does the pre-processing and the slot updates and sums two squares per tensor;
  // `per_tensor` then sets a tensor's constants from its two sums, and `fn` finishes
  // (without weight decay: the first pass applied it).
  UpdateStatsFn stats = nullptr;
  void (*per_tensor)(const double* stats, float lr, UpdateArgs& a) = nullptr;
};

// Sets the rule's constants in `a` for this step and returns its plan (one per kind,
// `rule_<kind>` in rules.cpp, called through the table).
StepPlan prepare_step(const StepContext& s, UpdateArgs& a);

// Throws std::invalid_argument naming the argument when a hyperparameter of c.kind is
// out of its range (the checks of optimizers.def).
void validate_hypers(const OptimizerConfig& c);

// Calls add(name, initial value) for each slot of c.kind that c uses, in the rule's order.
template <class Add>
void for_each_slot(const OptimizerConfig& c, Add&& add) {
#define RANVIER_OPTIMIZER_SLOT(kind_, name, group, init, when) \
  if (c.kind == OptimizerKind::kind_ && (when)) add(#name, static_cast<float>(init));
#include "optimizers/optimizers.def"
}

// Messages: "<opt>: `<arg>` <why>. Received: <arg>=<value>".
[[noreturn]] void bad_argument(const std::string& opt, const std::string& arg, const std::string& why, double value);
std::string format_number(double x);

}  // namespace optimizer_rules
}  // namespace ranvier
