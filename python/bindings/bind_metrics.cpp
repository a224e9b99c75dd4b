// ranvier._core.Metric: one C++ metric (held by std::shared_ptr so the model's training
// loop can hold the very object the Python metric wraps). Glue only.
#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bind.h"
#include "metrics/metrics.h"

namespace ranvier_py {

namespace {

ranvier::MetricKind kind_from_name(const std::string& name) {
  for (auto k : ranvier::all_metric_kinds())
    if (name == ranvier::metric_kind_name(k)) return k;
  throw std::invalid_argument("unknown metric kind '" + name + "'");
}

thread_local int g_python_metric_depth = 0;  // > 0 while this thread runs a Python metric

// Calls back into Python with the GIL taken (the trainer runs with it released). A Python
// exception propagates out of the trainer's step as a C++ exception and back to Python.
class PyMetric final : public ranvier::Metric {
 public:
  PyMetric(py::object update, py::object reset) : update_(std::move(update)), reset_(std::move(reset)) {}
  ~PyMetric() override {
    if (!Py_IsInitialized()) {  // interpreter gone: leak the references rather than touch it
      update_.release();
      reset_.release();
      return;
    }
    py::gil_scoped_acquire gil;
    update_ = py::object();
    reset_ = py::object();
  }
  void reset() override {
    py::gil_scoped_acquire gil;
    reset_();
  }
  void update(const float* y_true, std::int64_t y_true_cols, const float* y_pred, std::int64_t n, std::int64_t k,
              const float* sample_weight) override {
    py::gil_scoped_acquire gil;
    farray yt({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(y_true_cols)});
    farray yp({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(k)});
    std::copy(y_true, y_true + n * y_true_cols, yt.mutable_data());
    std::copy(y_pred, y_pred + n * k, yp.mutable_data());
    py::object sw = py::none();
    if (sample_weight) {
      farray w({static_cast<py::ssize_t>(n)});
      std::copy(sample_weight, sample_weight + n, w.mutable_data());
      sw = std::move(w);
    }
    struct Depth {
      Depth() { ++g_python_metric_depth; }
      ~Depth() { --g_python_metric_depth; }
    } depth;
    update_(yt, yp, sw);
  }
  double result() const override { return 0.0; }  // read in Python, from the metric itself
  std::vector<double> state() const override { return {}; }
  void set_state(const std::vector<double>& s) override {
    if (!s.empty()) throw std::invalid_argument("a Python metric keeps its state in Python (set_state takes [])");
  }

 private:
  py::object update_, reset_;
};

}  // namespace

void refuse_inside_python_metric(const char* what) {
  if (g_python_metric_depth > 0)
    throw std::runtime_error(std::string(what) +
                             ": a Python metric's update_state runs inside the model's training step and "
                             "cannot run the model itself (it would wait on its own step); compute it from "
                             "the y_true and y_pred it is given");
}

void bind_metrics(py::module_& m) {
  py::enum_<ranvier::MetricKind> kind(m, "MetricKind");
  for (auto k : ranvier::all_metric_kinds()) kind.value(ranvier::metric_kind_name(k), k);

  py::class_<ranvier::MetricParams>(m, "MetricParams")
      .def(py::init<>())
      .def_readwrite("threshold", &ranvier::MetricParams::threshold)
      .def_readwrite("k", &ranvier::MetricParams::k)
      .def_readwrite("num_thresholds", &ranvier::MetricParams::num_thresholds)
      .def_readwrite("curve", &ranvier::MetricParams::curve)
      .def_readwrite("summation_method", &ranvier::MetricParams::summation_method)
      .def_readwrite("from_logits", &ranvier::MetricParams::from_logits)
      .def_readwrite("class_id", &ranvier::MetricParams::class_id)
      .def_readwrite("top_k", &ranvier::MetricParams::top_k)
      .def_readwrite("thresholds", &ranvier::MetricParams::thresholds)
      .def_readwrite("label_smoothing", &ranvier::MetricParams::label_smoothing)
      .def_readwrite("has_ignore_class", &ranvier::MetricParams::has_ignore_class)
      .def_readwrite("ignore_class", &ranvier::MetricParams::ignore_class)
      .def_readwrite("value", &ranvier::MetricParams::value)
      .def_readwrite("beta", &ranvier::MetricParams::beta)
      .def_readwrite("average", &ranvier::MetricParams::average)
      .def_readwrite("class_aggregation", &ranvier::MetricParams::class_aggregation)
      .def_readwrite("num_regressors", &ranvier::MetricParams::num_regressors)
      .def_readwrite("multi_label", &ranvier::MetricParams::multi_label)
      .def_readwrite("num_labels", &ranvier::MetricParams::num_labels)
      .def_readwrite("label_weights", &ranvier::MetricParams::label_weights);

  m.def("metric_higher_is_better", [](const std::string& name) {
    return ranvier::metric_higher_is_better(kind_from_name(name));
  });
  m.def("metric_direction", [](const std::string& name) { return ranvier::metric_direction(kind_from_name(name)); });
  m.def("metric_kind_names", []() {
    std::vector<std::string> names;
    for (auto k : ranvier::all_metric_kinds()) names.emplace_back(ranvier::metric_kind_name(k));
    return names;
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
      .def("result_values", &ranvier::Metric::result_values)
      .def("prepare", &ranvier::Metric::prepare, py::arg("k"))
      .def("state", &ranvier::Metric::state)
      .def("set_state", &ranvier::Metric::set_state, py::arg("state"));

  // A metric computed in Python (a user's function or Metric subclass) that the C++ epoch
  // calls once per batch: `update(y_true, y_pred, sample_weight)` gets fresh NumPy copies
  // (n, c), (n, k), (n,) or None, `reset()` clears it. Python owns the logic
  // (ranvier.metrics); this is the glue that lets the trainer hold it like a C++ metric.
  m.def(
      "python_metric",
      [](py::object update, py::object reset) -> std::shared_ptr<ranvier::Metric> {
        return std::make_shared<PyMetric>(std::move(update), std::move(reset));
      },
      py::arg("update"), py::arg("reset"));
}

}  // namespace ranvier_py
