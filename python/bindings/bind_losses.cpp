// Losses: glue only (checks, rank alignment and reductions happen in python/ranvier/losses/).
// y_true: (n, k) or (n, 1) float32; y_pred: (n, k) float32; sample_weight: (n,) float32 or None.
#include <stdexcept>
#include <string>
#include <vector>

#include "bind.h"
#include "losses/losses.h"

namespace ranvier_py {

namespace {

ranvier::LossKind loss_kind(int kind) {
  if (kind < 0 || kind >= ranvier::kLossKindCount)
    throw std::invalid_argument("loss kind " + std::to_string(kind) + " is out of range");
  return static_cast<ranvier::LossKind>(kind);
}

ranvier::ActKind act_kind_of(int kind) {
  if (kind < 0 || kind >= ranvier::kActKindCount)
    throw std::invalid_argument("activation kind " + std::to_string(kind) + " is out of range");
  return static_cast<ranvier::ActKind>(kind);
}

ranvier::LossParams loss_params(bool from_logits, float label_smoothing, float delta, float alpha, float gamma,
                                bool apply_class_balancing) {
  ranvier::LossParams p;
  p.from_logits = from_logits;
  p.label_smoothing = label_smoothing;
  p.delta = delta;
  p.alpha = alpha;
  p.gamma = gamma;
  p.apply_class_balancing = apply_class_balancing;
  return p;
}

struct Shapes {
  std::int64_t n, k, ytc;
};

Shapes check_shapes(const farray& y_true, const farray& y_pred, const py::object& sample_weight) {
  if (y_pred.ndim() != 2 || y_true.ndim() != 2)
    throw std::invalid_argument("y_true and y_pred must be 2-D (n, k)");
  Shapes s{y_pred.shape(0), y_pred.shape(1), y_true.shape(1)};
  if (y_true.shape(0) != s.n) throw std::invalid_argument("y_true and y_pred have different numbers of rows");
  if (!sample_weight.is_none()) {
    farray w = sample_weight.cast<farray>();
    if (w.ndim() != 1 || w.shape(0) != s.n) throw std::invalid_argument("sample_weight must have shape (n,)");
  }
  return s;
}

}  // namespace

void bind_losses(py::module_& m) {
  m.def("loss_kind_names", [] {
    std::vector<std::string> v;
    for (int k = 0; k < ranvier::kLossKindCount; ++k) v.emplace_back(ranvier::loss_info(static_cast<ranvier::LossKind>(k)).name);
    return v;
  }, "Names of ranvier::LossKind values, indexed by kind.");

  m.def("loss_table", [] {
    static const char* const kLabels[] = {"dense", "same", "sparse"};
    py::list rows;
    for (int k = 0; k < ranvier::kLossKindCount; ++k) {
      const auto kind = static_cast<ranvier::LossKind>(k);
      const ranvier::LossInfo& info = ranvier::loss_info(kind);
      py::dict params, row;
      for (const auto& kv : ranvier::loss_param_defaults(kind)) params[py::str(kv.first)] = kv.second;
      py::list aliases, file_aliases;
      for (const auto& a : ranvier::loss_aliases())
        if (a.kind == kind) (a.keras ? aliases : file_aliases).append(a.alias);
      row["name"] = info.name;
      row["class_name"] = info.class_name;
      row["kind"] = k;
      row["cost"] = info.cheap ? "cheap" : "transcendental";
      row["labels"] = kLabels[static_cast<int>(info.labels)];
      row["params"] = params;
      row["aliases"] = aliases;
      row["file_aliases"] = file_aliases;
      rows.append(row);
    }
    return rows;
  }, "The rows of losses.def in kind order: {name, class_name, kind, cost, labels, params "
     "(name -> default; booleans 0/1), aliases (Keras's), file_aliases (model files only)}.");

  m.def("loss_forward_backward",
        [](int kind, farray y_true, farray y_pred, py::object sample_weight, float grad_scale, bool compute_grad,
           bool from_logits, float label_smoothing, float delta, float alpha, float gamma,
           bool apply_class_balancing) {
          const auto k = loss_kind(kind);
          const auto p = loss_params(from_logits, label_smoothing, delta, alpha, gamma, apply_class_balancing);
          const Shapes s = check_shapes(y_true, y_pred, sample_weight);
          farray w;
          const float* pw = nullptr;
          if (!sample_weight.is_none()) {
            w = sample_weight.cast<farray>();
            pw = w.data();
          }
          farray per_sample(std::vector<py::ssize_t>{s.n});
          py::object grad = py::none();
          float* pg = nullptr;
          if (compute_grad) {
            farray g(std::vector<py::ssize_t>{s.n, s.k});
            pg = g.mutable_data();
            grad = g;
          }
          const float* pt = y_true.data();
          const float* pp = y_pred.data();
          float* ps = per_sample.mutable_data();
          {
            py::gil_scoped_release nogil;
            ranvier::loss_forward_backward(k, p, pt, s.ytc, pp, s.n, s.k, pw, grad_scale, ps, pg);
          }
          return py::make_tuple(per_sample, grad);
        },
        py::arg("kind"), py::arg("y_true"), py::arg("y_pred"), py::arg("sample_weight") = py::none(),
        py::arg("grad_scale") = 1.0f, py::arg("compute_grad") = true, py::arg("from_logits") = false,
        py::arg("label_smoothing") = 0.0f, py::arg("delta") = 1.0f, py::arg("alpha") = 0.25f,
        py::arg("gamma") = 2.0f, py::arg("apply_class_balancing") = false,
        "(per_sample (n,), grad (n, k) or None): per-sample losses before weights, and "
        "d(sum_i w_i l_i grad_scale)/d y_pred.");

  m.def("loss_fuses_with",
        [](int kind, int act_kind, bool from_logits) {
          ranvier::LossParams p;
          p.from_logits = from_logits;
          return ranvier::loss_fuses_with(loss_kind(kind), p, act_kind_of(act_kind));
        },
        py::arg("kind"), py::arg("act_kind"), py::arg("from_logits") = false);

  m.def("loss_forward_backward_fused",
        [](int kind, int act_kind, farray y_true, farray y_pred, py::object sample_weight, float grad_scale,
           bool from_logits, float label_smoothing, float delta, float alpha, float gamma,
           bool apply_class_balancing) {
          const auto k = loss_kind(kind);
          const auto p = loss_params(from_logits, label_smoothing, delta, alpha, gamma, apply_class_balancing);
          const Shapes s = check_shapes(y_true, y_pred, sample_weight);
          farray w;
          const float* pw = nullptr;
          if (!sample_weight.is_none()) {
            w = sample_weight.cast<farray>();
            pw = w.data();
          }
          farray per_sample(std::vector<py::ssize_t>{s.n});
          farray g(std::vector<py::ssize_t>{s.n, s.k});
          const float* pt = y_true.data();
          const float* pp = y_pred.data();
          float* ps = per_sample.mutable_data();
          float* pg = g.mutable_data();
          const auto act = act_kind_of(act_kind);
          {
            py::gil_scoped_release nogil;
            ranvier::loss_forward_backward_fused(k, p, act, pt, s.ytc, pp, s.n, s.k, pw, grad_scale, ps, pg);
          }
          return py::make_tuple(per_sample, g);
        },
        py::arg("kind"), py::arg("act_kind"), py::arg("y_true"), py::arg("y_pred"),
        py::arg("sample_weight") = py::none(), py::arg("grad_scale") = 1.0f, py::arg("from_logits") = false,
        py::arg("label_smoothing") = 0.0f, py::arg("delta") = 1.0f, py::arg("alpha") = 0.25f,
        py::arg("gamma") = 2.0f, py::arg("apply_class_balancing") = false,
        "(per_sample, grad_logits): y_pred is the activation's output; the gradient is with "
        "respect to its input (the logits), from the stable fused form.");
}

}  // namespace ranvier_py
