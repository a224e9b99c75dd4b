#include <memory>
#include <string>

#include "bind.h"
#include "model/trainer.h"
#include "optimizers/optimizer.h"

namespace ranvier_py {

namespace {

// A NumPy view of `n` floats at `p` that keeps `owner` alive (no copy).
py::array_t<float> view(float* p, std::int64_t n, py::object owner) {
  return py::array_t<float>({n}, {static_cast<py::ssize_t>(sizeof(float))}, p, owner);
}

}  // namespace

void bind_model(py::module_& m) {
  using ranvier::Network;
  py::class_<Network, std::shared_ptr<Network>>(m, "Network")
      .def(py::init<>())
      .def("add", &Network::add)
      .def("finalize", &Network::finalize, py::arg("input_features"))
      .def_property_readonly("in_features", &Network::in_features)
      .def_property_readonly("out_features", &Network::out_features)
      .def("tensors", [](Network& n) {
        py::list out;
        for (const auto& t : n.tensors()) {
          py::dict d;
          d["layer"] = t.layer; d["index"] = t.index; d["name"] = t.name; d["shape"] = py::tuple(py::cast(t.shape));
          d["trainable"] = t.trainable; d["offset"] = t.offset; d["size"] = t.size;
          out.append(d);
        }
        return out;
      })
      .def("params", [](py::object self) {
        auto& n = self.cast<Network&>();
        return view(n.params().data(), n.params().size(), self);
      })
      .def("grads", [](py::object self) {
        auto& n = self.cast<Network&>();
        return view(n.grads().data(), n.grads().size(), self);
      })
      .def("state", [](py::object self) {
        auto& n = self.cast<Network&>();
        return view(n.state().data(), n.state().size(), self);
      })
      .def_readwrite("train_steps", &Network::train_steps)
      .def("try_acquire_training", &Network::try_acquire_training)
      .def("release_training", &Network::release_training)
      // The mutex predict() and the trainer hold while they run the layers: Python code
      // that runs the layers itself (Sequential.__call__ in training mode) takes it too.
      // Waits with the GIL released; unlock from the thread that locked.
      .def("lock_inference", [](Network& n) {
        refuse_inside_python_metric("the model");
        py::gil_scoped_release nogil;
        n.inference_mutex().lock();
      })
      .def("unlock_inference", [](Network& n) { n.inference_mutex().unlock(); })
      .def("predict", [](Network& n, farray x, std::int64_t batch_size) {
        refuse_inside_python_metric("predict");
        // Never read past x: rows of exactly in_features values (models.py checks first,
        // with the layer's name; this keeps a direct call from touching other memory).
        if (n.finalized() && (x.ndim() != 2 || x.shape(1) != n.in_features()))
          throw std::invalid_argument("predict: x must have shape (rows, " + std::to_string(n.in_features()) +
                                      "), got " + std::to_string(x.ndim()) + " dimension(s) of " +
                                      std::to_string(x.size()) + " values");
        const auto rows = x.shape(0);
        farray out({rows, static_cast<py::ssize_t>(n.out_features())});
        const float* px = x.data();
        float* po = out.mutable_data();
        {
          py::gil_scoped_release nogil;
          n.predict(px, rows, po, batch_size);
        }
        return out;
      }, py::arg("x"), py::arg("batch_size"))
      // predict() without conversions for what a latency-bound caller passes: x exactly a
      // NumPy ndarray (no subclass) of native float32, 2-D, C-contiguous and aligned, with
      // at least one row of in_features values, all finite, on a finalized network. Then
      // the same as predict(x, batch_size); otherwise None, and the caller's general path
      // converts, checks and raises as usual. One C++ call instead of a dozen attribute
      // reads in Python (a 1-sample predict is a few microseconds).
      .def("predict_fast", [](Network& n, py::handle x, std::int64_t batch_size) -> py::object {
        auto& api = py::detail::npy_api::get();
        if (Py_TYPE(x.ptr()) != api.PyArray_Type_ || !farray::check_(x) || !n.finalized()) return py::none();
        const auto a = py::reinterpret_borrow<py::array>(x);
        if (a.ndim() != 2 || a.shape(0) < 1 || a.shape(1) != n.in_features() ||
            !(a.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_))
          return py::none();
        const auto rows = a.shape(0);
        const float* px = static_cast<const float*>(a.data());
        if (!ranvier::all_finite(px, rows * a.shape(1))) return py::none();
        refuse_inside_python_metric("predict");
        farray out({rows, static_cast<py::ssize_t>(n.out_features())});
        float* po = out.mutable_data();
        {
          py::gil_scoped_release nogil;
          n.predict(px, rows, po, batch_size);
        }
        return std::move(out);
      }, py::arg("x"), py::arg("batch_size"));

  // Data arrays must stay alive while the trainer uses them: the Python model holds them
  // for the duration of fit/evaluate and calls clear_train_data() afterwards.
  // Checked so that a direct call never reads past an array: x is (rows, in_features), y
  // has `rows` rows, sample weights `rows` values (models.py checks first, by name).
  auto dataview = [](const ranvier::Trainer& t, const farray& x, const farray& y, const py::object& sw) {
    const std::int64_t in = t.network().in_features();
    if (x.ndim() != 2 || (t.network().finalized() && x.shape(1) != in))
      throw std::invalid_argument("x must have shape (rows, " + std::to_string(in) + ")");
    if (y.ndim() < 1 || y.ndim() > 2 || y.shape(0) != x.shape(0))
      throw std::invalid_argument("y must have " + std::to_string(x.shape(0)) + " rows (1-D or 2-D), as x");
    if (!sw.is_none() && sw.cast<farray>().size() != x.shape(0))
      throw std::invalid_argument("sample_weight must have " + std::to_string(x.shape(0)) + " values, one per row");
    ranvier::DataView d;
    d.x = x.data();
    d.n = x.shape(0);
    d.y = y.data();
    d.y_cols = y.ndim() == 2 ? y.shape(1) : 1;
    if (!sw.is_none()) d.sample_weight = sw.cast<farray>().data();
    return d;
  };
  using ranvier::Trainer;
  py::class_<Trainer, std::shared_ptr<Trainer>>(m, "Trainer")
      .def(py::init([](std::shared_ptr<Network> net, std::shared_ptr<ranvier::Optimizer> opt, int loss_kind,
                       py::dict lp, float loss_weight, std::vector<std::shared_ptr<ranvier::Metric>> metrics,
                       std::vector<std::shared_ptr<ranvier::Metric>> weighted) {
             ranvier::LossSpec spec;
             spec.kind = static_cast<ranvier::LossKind>(loss_kind);
             ranvier::loss_info(spec.kind);  // throws for a kind out of range
             if (lp.contains("from_logits")) spec.params.from_logits = lp["from_logits"].cast<bool>();
             if (lp.contains("label_smoothing")) spec.params.label_smoothing = lp["label_smoothing"].cast<float>();
             if (lp.contains("delta")) spec.params.delta = lp["delta"].cast<float>();
             if (lp.contains("alpha")) spec.params.alpha = lp["alpha"].cast<float>();
             if (lp.contains("gamma")) spec.params.gamma = lp["gamma"].cast<float>();
             if (lp.contains("apply_class_balancing"))
               spec.params.apply_class_balancing = lp["apply_class_balancing"].cast<bool>();
             spec.weight = loss_weight;
             return std::make_shared<Trainer>(std::move(net), std::move(opt), spec, std::move(metrics),
                                              std::move(weighted));
           }))
      .def("set_train_data", [dataview](Trainer& t, farray x, farray y, py::object sw, std::int64_t bs) {
        auto d = dataview(t, x, y, sw);
        // It takes the inference lock: never wait for that holding the GIL (a thread that
        // holds the lock may need the GIL before it lets go: Layer.__call__ does).
        py::gil_scoped_release nogil;
        t.set_train_data(d, bs);
      })
      .def("clear_train_data", &Trainer::clear_train_data)
      .def("steps_per_epoch", &Trainer::steps_per_epoch)
      .def("begin_epoch", &Trainer::begin_epoch)
      .def("run", [](Trainer& t, std::int64_t max_steps, double budget) {
        refuse_inside_python_metric("fit");
        py::gil_scoped_release nogil;
        return t.run(max_steps, budget);
      })
      .def("train_batch", [dataview](Trainer& t, farray x, farray y, py::object sw, bool reset) {
        refuse_inside_python_metric("train_on_batch");
        auto d = dataview(t, x, y, sw);
        py::gil_scoped_release nogil;
        return t.train_batch(d, reset);
      }, py::arg("x"), py::arg("y"), py::arg("sample_weight"), py::arg("reset") = true)
      .def("evaluate", [dataview](Trainer& t, farray x, farray y, py::object sw, std::int64_t bs, bool reset) {
        refuse_inside_python_metric("evaluate");
        auto d = dataview(t, x, y, sw);
        py::gil_scoped_release nogil;
        return t.evaluate(d, bs, reset);
      }, py::arg("x"), py::arg("y"), py::arg("sample_weight"), py::arg("batch_size"), py::arg("reset") = true)
      .def("mean_loss", &Trainer::mean_loss)
      .def("reset_metrics", &Trainer::reset_metrics)
      // --- data-parallel training (issue 9; python/ranvier/distributed.py) ---
      // set_grad_hook(fn): fn() (no arguments; it reads and writes the network's grads()
      // view) is called with the GIL held once per training step; None removes it.
      .def("set_grad_hook", [](Trainer& t, py::object fn) {
        if (fn.is_none()) {
          t.set_grad_hook(nullptr);
          return;
        }
        // Shared so copies of the std::function share one reference; released (with the
        // GIL held) when the hook is replaced or the Trainer is destroyed from Python.
        auto holder = std::make_shared<py::object>(std::move(fn));
        t.set_grad_hook([holder](float*, std::int64_t) {
          py::gil_scoped_acquire gil;
          (*holder)();
        });
      }, py::arg("fn"))
      .def("set_shard", &Trainer::set_shard, py::arg("rank"), py::arg("size"))
      .def("step_in_epoch", &Trainer::step_in_epoch)
      .def("set_profiling", &Trainer::set_profiling, py::arg("on"))
      .def("reset_profile", &Trainer::reset_profile)
      .def("profile", [](const Trainer& t) {
        const ranvier::TrainerProfile& p = t.profile();
        py::dict d;
        d["forward_s"] = p.forward_s;
        d["backward_s"] = p.backward_s;
        d["data_s"] = p.data_s;
        d["loss_s"] = p.loss_s;
        d["metrics_s"] = p.metrics_s;
        d["update_s"] = p.update_s;
        d["train_steps"] = p.train_steps;
        d["eval_steps"] = p.eval_steps;
        d["samples"] = p.samples;
        return d;
      });

  m.def("all_finite", [](farray a) {
    const float* p = a.data();
    const auto n = a.size();
    py::gil_scoped_release nogil;
    return ranvier::all_finite(p, n);
  });
}

}  // namespace ranvier_py
