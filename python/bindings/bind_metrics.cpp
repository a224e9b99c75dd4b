// ranvier._core.Metric: one C++ metric (held by std::shared_ptr so the model's training
// loop can hold the very object the Python metric wraps). Glue only.
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bind.h"
#include "metrics/metrics.h"

namespace ranvier_py {

namespace {

const ranvier::MetricKind kAllKinds[] = {
    ranvier::MetricKind::binary_accuracy,
    ranvier::MetricKind::categorical_accuracy,
    ranvier::MetricKind::sparse_categorical_accuracy,
    ranvier::MetricKind::top_k_categorical_accuracy,
    ranvier::MetricKind::sparse_top_k_categorical_accuracy,
    ranvier::MetricKind::mean_squared_error,
    ranvier::MetricKind::mean_absolute_error,
    ranvier::MetricKind::mean_absolute_percentage_error,
    ranvier::MetricKind::mean_squared_logarithmic_error,
    ranvier::MetricKind::root_mean_squared_error,
    ranvier::MetricKind::auc,
    ranvier::MetricKind::precision,
    ranvier::MetricKind::recall,
    ranvier::MetricKind::accuracy,
};

ranvier::MetricKind kind_from_name(const std::string& name) {
  for (auto k : kAllKinds)
    if (name == ranvier::metric_kind_name(k)) return k;
  throw std::invalid_argument("unknown metric kind '" + name + "'");
}

}  // namespace

void bind_metrics(py::module_& m) {
  py::enum_<ranvier::MetricKind> kind(m, "MetricKind");
  for (auto k : kAllKinds) kind.value(ranvier::metric_kind_name(k), k);

  py::class_<ranvier::MetricParams>(m, "MetricParams")
      .def(py::init<>())
      .def_readwrite("threshold", &ranvier::MetricParams::threshold)
      .def_readwrite("k", &ranvier::MetricParams::k)
      .def_readwrite("num_thresholds", &ranvier::MetricParams::num_thresholds)
      .def_readwrite("curve", &ranvier::MetricParams::curve)
      .def_readwrite("summation_method", &ranvier::MetricParams::summation_method)
      .def_readwrite("from_logits", &ranvier::MetricParams::from_logits)
      .def_readwrite("class_id", &ranvier::MetricParams::class_id)
      .def_readwrite("top_k", &ranvier::MetricParams::top_k);

  m.def("metric_higher_is_better", [](const std::string& name) {
    return ranvier::metric_higher_is_better(kind_from_name(name));
  });

  py::class_<ranvier::Metric, std::shared_ptr<ranvier::Metric>>(m, "Metric")
      .def(py::init([](const std::string& kind, const ranvier::MetricParams& p) {
             return std::shared_ptr<ranvier::Metric>(ranvier::make_metric(kind_from_name(kind), p));
           }),
           py::arg("kind"), py::arg("params"))
      .def("reset", &ranvier::Metric::reset)
      // y_true (n, c), y_pred (n, k), sample_weight (n,) or None; shapes checked by the facade.
      .def(
          "update",
          [](ranvier::Metric& self, const farray& y_true, const farray& y_pred, py::object sample_weight) {
            if (y_true.ndim() != 2 || y_pred.ndim() != 2 || y_true.shape(0) != y_pred.shape(0))
              throw std::invalid_argument("Metric.update: expects y_true (n, c) and y_pred (n, k) float32 arrays");
            farray sw;
            const float* swp = nullptr;
            if (!sample_weight.is_none()) {
              sw = sample_weight.cast<farray>();
              if (sw.ndim() != 1 || sw.shape(0) != y_pred.shape(0))
                throw std::invalid_argument("Metric.update: sample_weight must be a float32 array of shape (n,)");
              swp = sw.data();
            }
            const float* yt = y_true.data();
            const float* yp = y_pred.data();
            const auto c = static_cast<std::int64_t>(y_true.shape(1));
            const auto n = static_cast<std::int64_t>(y_pred.shape(0));
            const auto k = static_cast<std::int64_t>(y_pred.shape(1));
            py::gil_scoped_release release;
            self.update(yt, c, yp, n, k, swp);
          },
          py::arg("y_true"), py::arg("y_pred"), py::arg("sample_weight") = py::none())
      .def("result", &ranvier::Metric::result)
      .def("state", &ranvier::Metric::state)
      .def("set_state", &ranvier::Metric::set_state, py::arg("state"));
}

}  // namespace ranvier_py
