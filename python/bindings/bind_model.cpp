#include <memory>
#include <string>

#include "bind.h"
#include "model/trainer.h"
#include "optimizers/loss_scale.h"
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
      // ---- the graph (issue 17): tensor ids are the inputs first, then one per node
      .def("add_input", &Network::add_input, py::arg("features"), py::arg("name") = "")
      .def("add_node", &Network::add_node, py::arg("layer"), py::arg("inputs"), py::arg("shares_with") = -1)
      .def("set_outputs", &Network::set_outputs, py::arg("tensors"))
      .def("num_inputs", &Network::num_inputs)
      .def("num_outputs", &Network::num_outputs)
      .def("num_tensors", &Network::num_tensors)
      .def("input_features", &Network::input_features, py::arg("i"))
      .def("output_features", &Network::output_features, py::arg("j"))
      .def("input_name", &Network::input_name, py::arg("i"))
      .def("tensor_features", &Network::tensor_features, py::arg("t"))
      .def("outputs", &Network::outputs)
      // Binds every node's layer to its slots (a sharing node: to its owner's weights and its
      // own gradient region); call after finalize, again after the layers were re-bound.
      .def("bind_all", &Network::bind_all)
      .def("nodes", [](const Network& n) {
        py::list out;
        for (const auto& nd : n.nodes()) {
          py::dict d;
          d["layer"] = nd.layer; d["type"] = nd.layer->type_name(); d["inputs"] = nd.inputs;
          d["output"] = nd.output; d["shares_with"] = nd.shares_with;
          out.append(d);
        }
        return out;
      })
      // The workspace plan finalize() computed: buffers per row (widths in floats) for
      // predict's activations and training's gradients.
      .def("workspace_plan", [](const Network& n) {
        const ranvier::WorkspacePlan& p = n.plan();
        py::dict d;
        d["act_buffer"] = p.act_buffer; d["act_widths"] = p.act_widths;
        d["grad_buffer"] = p.grad_buffer; d["grad_widths"] = p.grad_widths;
        d["grad_scratch"] = p.grad_scratch; d["loss_scratch"] = p.loss_scratch;
        std::vector<bool> rb(p.run_backward.begin(), p.run_backward.end());
        d["run_backward"] = rb;
        return d;
      })
      .def("finalize", py::overload_cast<std::int64_t>(&Network::finalize), py::arg("input_features"))
      .def("finalize", py::overload_cast<>(&Network::finalize))
      .def_property_readonly("finalized", &Network::finalized)
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
        if (Py_TYPE(x.ptr()) != api.PyArray_Type_ || !farray::check_(x) || !n.finalized() || n.num_inputs() != 1 ||
            n.num_outputs() != 1)
          return py::none();
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
      }, py::arg("x"), py::arg("batch_size"))
      // Several inputs and outputs: xs[i] is (rows, input_features(i)), the same rows for
      // each; returns one (rows, output_features(j)) array per output.
      .def("predict_multi", [](Network& n, std::vector<farray> xs, std::int64_t batch_size) {
        refuse_inside_python_metric("predict");
        if (!n.finalized()) throw std::logic_error("Network.predict: the network is not finalized");
        if (static_cast<int>(xs.size()) != n.num_inputs())
          throw std::invalid_argument("predict: the model has " + std::to_string(n.num_inputs()) + " input(s), got " +
                                      std::to_string(xs.size()) + " array(s)");
        py::ssize_t rows = xs.empty() ? 0 : (xs[0].ndim() == 2 ? xs[0].shape(0) : -1);
        std::vector<const float*> px;
        for (std::size_t i = 0; i < xs.size(); ++i) {
          const auto w = n.input_features(static_cast<int>(i));
          if (xs[i].ndim() != 2 || xs[i].shape(1) != w || xs[i].shape(0) != rows)
            throw std::invalid_argument("predict: input " + std::to_string(i) + " must have shape (" +
                                        std::to_string(rows) + ", " + std::to_string(w) + "), got " +
                                        std::to_string(xs[i].ndim()) + " dimension(s) of " +
                                        std::to_string(xs[i].size()) + " values");
          px.push_back(xs[i].data());
        }
        std::vector<farray> outs;
        std::vector<float*> po;
        for (int j = 0; j < n.num_outputs(); ++j) {
          outs.emplace_back(std::vector<py::ssize_t>{rows, static_cast<py::ssize_t>(n.output_features(j))});
          po.push_back(outs.back().mutable_data());
        }
        {
          py::gil_scoped_release nogil;
          n.predict(px, rows, po, batch_size);
        }
        py::list r;
        for (auto& o : outs) r.append(o);
        return r;
      }, py::arg("xs"), py::arg("batch_size"));

  // Data arrays must stay alive while the trainer uses them: the Python model holds them
  // for the duration of fit/evaluate and calls clear_train_data() afterwards (the trainer
  // also keeps the arrays it converted, in its _data_refs attribute).
  // Checked so that a direct call never reads past an array: xs[i] is (rows, input_features(i)),
  // ys[j] has `rows` rows, sample weights `rows` values (models.py checks first, by name).
  // x, y, sample_weight: one array (one input / output) or a list with one entry per input
  // / output (a sample_weight list may hold None entries; y entries may be None for an
  // output without a loss).
  auto dataview = [](py::object self, const py::object& x, const py::object& y, const py::object& sw) {
    const ranvier::Trainer& t = self.cast<const ranvier::Trainer&>();
    const Network& net = t.network();
    const auto as_list = [](const py::object& o) {
      return py::isinstance<py::list>(o) || py::isinstance<py::tuple>(o);
    };
    py::list refs;
    std::vector<farray> xs;
    if (as_list(x)) {
      for (auto h : x) xs.push_back(py::cast<farray>(h));
    } else {
      xs.push_back(py::cast<farray>(x));
    }
    if (static_cast<int>(xs.size()) != net.num_inputs())
      throw std::invalid_argument("x: the model has " + std::to_string(net.num_inputs()) + " input(s), got " +
                                  std::to_string(xs.size()) + " array(s)");
    ranvier::DataView d;
    const py::ssize_t rows = xs[0].ndim() >= 1 ? xs[0].shape(0) : 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const std::int64_t in = net.input_features(static_cast<int>(i));
      const std::string name = xs.size() == 1 ? std::string("x") : "x[" + std::to_string(i) + "]";
      if (xs[i].ndim() != 2 || xs[i].shape(1) != in || xs[i].shape(0) != rows)
        throw std::invalid_argument(name + " must have shape (" + std::to_string(rows) + ", " + std::to_string(in) + ")");
      d.xs.push_back(xs[i].data());
      refs.append(xs[i]);
    }
    d.n = rows;
    const auto no = static_cast<std::size_t>(net.num_outputs());
    std::vector<py::object> ys, sws;
    if (as_list(y)) {
      for (auto h : y) ys.push_back(py::reinterpret_borrow<py::object>(h));
    } else {
      ys.push_back(y);
    }
    if (ys.size() != no)
      throw std::invalid_argument("y: the model has " + std::to_string(no) + " output(s), got " +
                                  std::to_string(ys.size()) + " array(s)");
    if (sw.is_none()) {
      sws.assign(no, py::none());
    } else if (as_list(sw)) {
      for (auto h : sw) sws.push_back(py::reinterpret_borrow<py::object>(h));
    } else {
      sws.push_back(sw);
    }
    if (sws.size() != no)
      throw std::invalid_argument("sample_weight: the model has " + std::to_string(no) + " output(s), got " +
                                  std::to_string(sws.size()) + " entries");
    for (std::size_t j = 0; j < no; ++j) {
      const std::string yn = no == 1 ? std::string("y") : "y[" + std::to_string(j) + "]";
      if (ys[j].is_none()) {
        d.ys.push_back(nullptr);
        d.y_cols.push_back(0);
      } else {
        auto ya = py::cast<farray>(ys[j]);
        if (ya.ndim() < 1 || ya.ndim() > 2 || ya.shape(0) != rows)
          throw std::invalid_argument(yn + " must have " + std::to_string(rows) + " rows (1-D or 2-D), as x");
        d.ys.push_back(ya.data());
        d.y_cols.push_back(ya.ndim() == 2 ? ya.shape(1) : 1);
        refs.append(ya);
      }
      if (sws[j].is_none()) {
        d.sample_weights.push_back(nullptr);
      } else {
        auto wa = py::cast<farray>(sws[j]);
        if (wa.size() != rows)
          throw std::invalid_argument((no == 1 ? std::string("sample_weight") : "sample_weight[" + std::to_string(j) + "]") +
                                      " must have " + std::to_string(rows) + " values, one per row");
        d.sample_weights.push_back(wa.data());
        refs.append(wa);
      }
    }
    return std::make_pair(d, refs);
  };
  // A loss entry: (kind, params dict, weight), or None for an output without a loss.
  auto loss_spec = [](int loss_kind, const py::dict& lp, float loss_weight) {
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
    return spec;
  };
  using MetricList = std::vector<std::shared_ptr<ranvier::Metric>>;
  using ranvier::Trainer;
  py::class_<Trainer, std::shared_ptr<Trainer>>(m, "Trainer", py::dynamic_attr())
      .def(py::init([loss_spec](std::shared_ptr<Network> net, std::shared_ptr<ranvier::Optimizer> opt, int loss_kind,
                                py::dict lp, float loss_weight, MetricList metrics, MetricList weighted) {
             return std::make_shared<Trainer>(std::move(net), std::move(opt), loss_spec(loss_kind, lp, loss_weight),
                                              std::move(metrics), std::move(weighted));
           }))
      // Several outputs: losses[j] = (kind, params, weight) or None (no loss), metrics[j] and
      // weighted[j] the lists of output j (empty lists: none).
      .def(py::init([loss_spec](std::shared_ptr<Network> net, std::shared_ptr<ranvier::Optimizer> opt, py::list losses,
                                std::vector<MetricList> metrics, std::vector<MetricList> weighted) {
             std::vector<ranvier::LossSpec> specs;
             std::vector<bool> has;
             for (auto h : losses) {
               if (h.is_none()) {
                 specs.emplace_back();
                 has.push_back(false);
                 continue;
               }
               auto t = h.cast<py::tuple>();
               if (t.size() != 3) throw std::invalid_argument("Trainer: a loss entry is (kind, params, weight) or None");
               specs.push_back(loss_spec(t[0].cast<int>(), t[1].cast<py::dict>(), t[2].cast<float>()));
               has.push_back(true);
             }
             return std::make_shared<Trainer>(std::move(net), std::move(opt), std::move(specs), std::move(metrics),
                                              std::move(weighted), std::move(has));
           }), py::arg("net"), py::arg("opt"), py::arg("losses"), py::arg("metrics"), py::arg("weighted"))
      .def("set_train_data", [dataview](py::object self, py::object x, py::object y, py::object sw, std::int64_t bs) {
        auto dr = dataview(self, x, y, sw);
        auto& t = self.cast<Trainer&>();
        {
          // It takes the inference lock: never wait for that holding the GIL (a thread that
          // holds the lock may need the GIL before it lets go: Layer.__call__ does).
          py::gil_scoped_release nogil;
          t.set_train_data(dr.first, bs);
        }
        self.attr("_data_refs") = dr.second;
      })
      .def("clear_train_data", [](py::object self) {
        self.cast<Trainer&>().clear_train_data();
        self.attr("_data_refs") = py::none();
      })
      .def("steps_per_epoch", &Trainer::steps_per_epoch)
      .def("begin_epoch", &Trainer::begin_epoch)
      .def("run", [](Trainer& t, std::int64_t max_steps, double budget) {
        refuse_inside_python_metric("fit");
        py::gil_scoped_release nogil;
        return t.run(max_steps, budget);
      })
      .def("train_batch", [dataview](py::object self, py::object x, py::object y, py::object sw, bool reset) {
        refuse_inside_python_metric("train_on_batch");
        auto dr = dataview(self, x, y, sw);
        auto& t = self.cast<Trainer&>();
        py::gil_scoped_release nogil;
        return t.train_batch(dr.first, reset);
      }, py::arg("x"), py::arg("y"), py::arg("sample_weight"), py::arg("reset") = true)
      .def("evaluate", [dataview](py::object self, py::object x, py::object y, py::object sw, std::int64_t bs,
                                  bool reset) {
        refuse_inside_python_metric("evaluate");
        auto dr = dataview(self, x, y, sw);
        auto& t = self.cast<Trainer&>();
        py::gil_scoped_release nogil;
        return t.evaluate(dr.first, bs, reset);
      }, py::arg("x"), py::arg("y"), py::arg("sample_weight"), py::arg("batch_size"), py::arg("reset") = true)
      .def("mean_loss", &Trainer::mean_loss)
      .def("output_mean_losses", &Trainer::output_mean_losses)
      .def("num_outputs", &Trainer::num_outputs)
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
      // Dynamic loss scaling: a LossScaler, or None to remove it.
      .def("set_loss_scaler", &Trainer::set_loss_scaler, py::arg("scaler"))
      .def_property_readonly("loss_scaler", &Trainer::loss_scaler)
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
