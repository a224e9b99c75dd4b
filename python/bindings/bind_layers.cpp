// Layers: _core.Layer (the interface the network drives, held by std::shared_ptr)
// and one subclass per concrete layer. Glue only: the Python facade (ranvier.layers)
// validates arguments and owns the parameter arrays; the checks here only keep a
// wrong call from touching memory it does not own.
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "bind.h"
#include "layers/counter_rng.h"
#include "layers/layer_table.h"
#include "layers/layers.h"

namespace ranvier_py {

namespace {

using ranvier::ActKind;
using ranvier::ActParams;
using ranvier::Layer;

ActParams act_params(float negative_slope, float max_value, float threshold, float alpha) {
  ActParams p;
  p.negative_slope = negative_slope;
  p.max_value = max_value;
  p.threshold = threshold;
  p.alpha = alpha;
  return p;
}

ActKind act_kind(int k) {
  if (k < 0 || k >= ranvier::kActKindCount)
    throw std::invalid_argument("unknown activation kind " + std::to_string(k));
  return static_cast<ActKind>(k);
}

ranvier::Penalty penalty(py::tuple t) {
  if (t.size() != 2) throw std::invalid_argument("a regularizer is (l1, l2)");
  return ranvier::Penalty{t[0].cast<float>(), t[1].cast<float>()};
}

// (kind, max_value, min_value, rate, axis)
ranvier::Constraint constraint(py::tuple t) {
  if (t.size() != 5) throw std::invalid_argument("a constraint is (kind, max_value, min_value, rate, axis)");
  ranvier::Constraint c;
  const int k = t[0].cast<int>();
  if (k < 0 || k > static_cast<int>(ranvier::ConstraintKind::min_max_norm))
    throw std::invalid_argument("unknown constraint kind " + std::to_string(k));
  c.kind = static_cast<ranvier::ConstraintKind>(k);
  c.max_value = t[1].cast<float>();
  c.min_value = t[2].cast<float>();
  c.rate = t[3].cast<float>();
  c.axis = t[4].cast<int>();
  return c;
}

std::int64_t numel(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

float* data_of(py::handle h, std::int64_t expected, const std::string& what) {
  if (h.is_none()) return nullptr;
  auto a = py::cast<farray>(h);  // c_style float32, no conversion (TypeError otherwise)
  if (!a.writeable()) throw std::invalid_argument(what + " must be writeable");
  if (a.size() != expected)
    throw std::invalid_argument(what + " has " + std::to_string(a.size()) + " values, expected " +
                                std::to_string(expected));
  return a.mutable_data();
}

void check_rows(const farray& a, std::int64_t batch, std::int64_t cols, const char* what) {
  if (a.ndim() != 2 || a.shape(0) != batch || a.shape(1) != cols)
    throw std::invalid_argument(std::string(what) + " must have shape (" + std::to_string(batch) + ", " +
                                std::to_string(cols) + ")");
}

// Nesting a config may have: the JSON parser's limit for model files (io/json.h), so a
// self-referencing or absurdly deep list is refused instead of overflowing the stack.
constexpr int kMaxConfigDepth = 64;

// A layer's Python arguments as the JSON config the table reads: None, bool, int, float
// (NaN and inf kept, for the checks to name them), str, list/tuple, dict with str keys; a
// NumPy array as its tolist(). Anything else (or an __index__/__float__ that raises) is
// its repr, a string, which the checks refuse by name. `where` names the argument.
ranvier::json::Value to_config(py::handle h, const std::string& where, int depth = 0) {
  using ranvier::json::Value;
  if (depth > kMaxConfigDepth)
    throw std::invalid_argument(where + " nests deeper than " + std::to_string(kMaxConfigDepth) +
                                " levels (a list or dict that contains itself?)");
  if (h.is_none()) return Value();
  if (py::isinstance<py::bool_>(h)) return Value::make_bool(h.cast<bool>());
  if (py::isinstance<py::str>(h)) {  // a lone surrogate is not UTF-8: escaped, so the check can name it
    const auto utf8 = py::reinterpret_steal<py::object>(PyUnicode_AsEncodedString(h.ptr(), "utf-8", "backslashreplace"));
    if (!utf8) throw py::error_already_set();
    return Value::make_string(utf8.cast<std::string>());
  }
  if (PyLong_CheckExact(h.ptr())) {  // the common int (a vocabulary's keys), when it fits int64
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(h.ptr(), &overflow);
    if (!overflow && !(v == -1 && PyErr_Occurred())) return Value::make_int(v);
    PyErr_Clear();  // larger: its digits, as below
  }
  if (py::isinstance(h, py::module_::import("numpy").attr("bool_")))  // before __float__ reads it as 1.0
    return Value::make_bool(PyObject_IsTrue(h.ptr()) == 1);
  if (py::isinstance<py::array>(h)) return to_config(h.attr("tolist")(), where, depth + 1);
  if (py::hasattr(h, "__index__")) {  // int and NumPy integers, of any size (the checks name the limit)
    PyObject* index = PyNumber_Index(h.ptr());
    if (index) {
      const auto as_int = py::reinterpret_steal<py::object>(index);
      PyObject* digits = PyObject_Str(as_int.ptr());  // fails past Python's 4300-digit limit
      if (!digits) {
        PyErr_Clear();
        throw std::invalid_argument(where + " is an integer too large to read (more than 4300 digits)");
      }
      return ranvier::json::parse(py::reinterpret_steal<py::str>(digits).cast<std::string>());
    }
    PyErr_Clear();  // not an integer after all: read as below
  }
  if (py::isinstance<py::float_>(h) || py::hasattr(h, "__float__")) {
    const double d = PyFloat_AsDouble(h.ptr());
    if (!(d == -1.0 && PyErr_Occurred())) return Value::make_number_any(d);
    PyErr_Clear();
  } else if (py::isinstance<py::list>(h) || py::isinstance<py::tuple>(h)) {
    Value a = Value::make_array();
    for (auto item : h) a.push_back(to_config(item, where, depth + 1));
    return a;
  } else if (py::isinstance<py::dict>(h)) {
    Value o = Value::make_object();
    for (auto kv : h.cast<py::dict>()) {
      const std::string key = to_config(py::str(kv.first), where, depth + 1).as_string();
      o.set(key, to_config(kv.second, depth == 0 ? where + ": " + key : where, depth + 1));
    }
    return o;
  }
  return Value::make_string(py::str(py::repr(h)));
}

}  // namespace

void bind_layers(py::module_& m) {
  // The layer table (cpp/src/layers/layers.def): the classes C++ builds from a config.
  m.def("layer_class_names", [] {
    std::vector<std::string> out;
    for (const auto* row : ranvier::layer_table()) out.emplace_back(row->class_name);
    return out;
  });
  // The core constructors' checks on a layer's arguments (ValueError with their message).
  m.def("layer_check_config", [](const std::string& class_name, py::dict config) {
    ranvier::check_layer_config(class_name, to_config(config, class_name));
  }, py::arg("class_name"), py::arg("config"));
  // The layer of `config` through its table row, constructed (build() it next).
  // input_shapes: a merge layer's per-sample input shapes (build it next with build_inputs).
  m.def("layer_from_config", [](const std::string& class_name, py::dict config, std::uint64_t seed,
                                std::vector<std::int64_t> sample_shape,
                                std::vector<std::vector<std::int64_t>> input_shapes) -> std::shared_ptr<Layer> {
    const auto* row = ranvier::find_layer_row(class_name);
    if (!row) throw std::invalid_argument("unknown layer class '" + class_name + "'");
    ranvier::LayerArgs args;
    args.seed = seed;
    args.sample_shape = &sample_shape;
    args.input_shapes = &input_shapes;
    args.where = class_name;
    const auto cfg = to_config(config, class_name);
    ranvier::set_compute_dtype(args, cfg);
    return row->from_config(cfg, args);
  }, py::arg("class_name"), py::arg("config"), py::arg("seed") = 0,
     py::arg("sample_shape") = std::vector<std::int64_t>(),
     py::arg("input_shapes") = std::vector<std::vector<std::int64_t>>());
  // The seed of a random layer's `call`-th call in a graph (call 0: the layer's own seed).
  m.def("call_seed", &ranvier::counter_rng::call_seed, py::arg("seed"), py::arg("call"));
  // The merge layers (rows with merge_shape): their class names, and the output's per-sample
  // shape for per-sample input shapes (-1: a dimension of unknown size), ValueError naming
  // the shapes when they cannot be merged.
  m.def("merge_layer_class_names", [] {
    std::vector<std::string> out;
    for (const auto* row : ranvier::layer_table())
      if (row->merge_shape) out.emplace_back(row->class_name);
    return out;
  });
  m.def("layer_merge_shape", [](const std::string& class_name, py::dict config,
                                std::vector<std::vector<std::int64_t>> input_shapes) {
    const auto* row = ranvier::find_layer_row(class_name);
    if (!row || !row->merge_shape) throw std::invalid_argument("'" + class_name + "' is not a merge layer class");
    return row->merge_shape(to_config(config, class_name), input_shapes, class_name);
  }, py::arg("class_name"), py::arg("config"), py::arg("input_shapes"));

  py::class_<Layer, std::shared_ptr<Layer>>(m, "Layer")
      .def_property_readonly("type_name", &Layer::type_name)
      .def("build", &Layer::build, py::arg("in_features"))
      .def_property_readonly("in_features", &Layer::in_features)
      .def_property_readonly("out_features", &Layer::out_features)
      .def("param_specs", [](const Layer& l) {
        py::list out;
        for (const auto& s : l.param_specs())
          out.append(py::make_tuple(s.name, py::tuple(py::cast(s.shape)), s.trainable));
        return out;
      })
      // Pointers into the given arrays are kept: the caller keeps the arrays alive.
      .def("bind", [](Layer& l, py::list params, py::list grads) {
        const auto specs = l.param_specs();
        if (params.size() != specs.size() || grads.size() != specs.size())
          throw std::invalid_argument("bind: expected " + std::to_string(specs.size()) + " params and grads");
        std::vector<float*> p, g;
        for (std::size_t i = 0; i < specs.size(); ++i) {
          const std::int64_t n = numel(specs[i].shape);
          float* pi = data_of(params[i], n, "param " + specs[i].name);
          if (!pi) throw std::invalid_argument("bind: param " + specs[i].name + " is None");
          p.push_back(pi);
          g.push_back(data_of(grads[i], n, "grad " + specs[i].name));
        }
        l.bind(p, g);
      }, py::arg("params"), py::arg("grads"))
      .def("reserve", [](Layer& l, std::int64_t max_batch) {
        if (max_batch < 0) throw std::invalid_argument("reserve: max_batch must be >= 0");
        l.reserve(max_batch);
      }, py::arg("max_batch"))
      .def("forward", [](Layer& l, farray x, farray y, bool training, std::uint64_t step) {
        const std::int64_t b = x.ndim() == 2 ? x.shape(0) : -1;
        check_rows(x, b, l.in_features(), "x");
        check_rows(y, b, l.out_features(), "y");
        const float* px = x.data();
        float* py_ = y.mutable_data();
        ranvier::ForwardCtx ctx;
        ctx.training = training;
        ctx.step = step;
        py::gil_scoped_release nogil;
        return l.forward(px, py_, b, ctx);
      }, py::arg("x"), py::arg("y"), py::arg("training") = false, py::arg("step") = 0)
      .def("backward", [](Layer& l, farray x, farray y, farray dy, py::object dx, bool pre) {
        const std::int64_t b = x.ndim() == 2 ? x.shape(0) : -1;
        check_rows(x, b, l.in_features(), "x");
        check_rows(y, b, l.out_features(), "y");
        check_rows(dy, b, l.out_features(), "dy");
        float* pdx = nullptr;
        if (!dx.is_none()) {
          auto dxa = py::cast<farray>(dx);
          check_rows(dxa, b, l.in_features(), "dx");
          pdx = dxa.mutable_data();
        }
        const float* px = x.data();
        const float* pyv = y.data();
        float* pdy = dy.mutable_data();
        py::gil_scoped_release nogil;
        l.backward(px, pyv, pdy, pdx, b, pre);
      }, py::arg("x"), py::arg("y"), py::arg("dy"), py::arg("dx") = py::none(),
         py::arg("dy_is_preactivation") = false)
      // Several inputs (the merge layers; a one-input layer answers for its one input).
      .def_property_readonly("num_inputs", &Layer::num_inputs)
      .def("input_features", [](const Layer& l, int i) {
        if (i < 0 || i >= l.num_inputs())
          throw py::index_error("input_features: no input " + std::to_string(i) + " (the layer has " +
                                std::to_string(l.num_inputs()) + ")");
        return l.input_features(i);
      }, py::arg("i"))
      .def("build_inputs", &Layer::build_inputs, py::arg("in_features"))
      .def("forward_inputs", [](Layer& l, py::list xs, farray y, bool training, std::uint64_t step) {
        const int k = l.num_inputs();
        if (static_cast<int>(xs.size()) != k)
          throw std::invalid_argument("forward_inputs: expected " + std::to_string(k) + " inputs, got " +
                                      std::to_string(xs.size()));
        const std::int64_t b = y.ndim() == 2 ? y.shape(0) : -1;
        std::vector<farray> keep;
        std::vector<const float*> p;
        for (int i = 0; i < k; ++i) {
          keep.push_back(py::cast<farray>(xs[static_cast<std::size_t>(i)]));
          check_rows(keep.back(), b, l.input_features(i), ("xs[" + std::to_string(i) + "]").c_str());
          p.push_back(keep.back().data());
        }
        check_rows(y, b, l.out_features(), "y");
        float* py_ = y.mutable_data();
        ranvier::ForwardCtx ctx;
        ctx.training = training;
        ctx.step = step;
        py::gil_scoped_release nogil;
        return l.forward_inputs(p.data(), py_, b, ctx);
      }, py::arg("xs"), py::arg("y"), py::arg("training") = false, py::arg("step") = 0)
      .def("backward_inputs", [](Layer& l, py::list xs, farray y, farray dy, py::list dxs, bool pre) {
        const int k = l.num_inputs();
        if (static_cast<int>(xs.size()) != k || static_cast<int>(dxs.size()) != k)
          throw std::invalid_argument("backward_inputs: expected " + std::to_string(k) + " inputs and " +
                                      std::to_string(k) + " gradients (None: not wanted), got " +
                                      std::to_string(xs.size()) + " and " + std::to_string(dxs.size()));
        const std::int64_t b = y.ndim() == 2 ? y.shape(0) : -1;
        check_rows(y, b, l.out_features(), "y");
        check_rows(dy, b, l.out_features(), "dy");
        std::vector<farray> keep;
        std::vector<const float*> p;
        std::vector<float*> d;
        for (int i = 0; i < k; ++i) {
          const auto si = std::to_string(i);
          keep.push_back(py::cast<farray>(xs[static_cast<std::size_t>(i)]));
          check_rows(keep.back(), b, l.input_features(i), ("xs[" + si + "]").c_str());
          p.push_back(keep.back().data());
          py::handle h = dxs[static_cast<std::size_t>(i)];
          if (h.is_none()) {
            d.push_back(nullptr);
            continue;
          }
          if (!py::isinstance<farray>(h))  // a converted copy would take the gradient and be dropped
            throw py::type_error("backward_inputs: dxs[" + si + "] must be a C-contiguous float32 array or None");
          keep.push_back(py::reinterpret_borrow<farray>(h));
          if (!keep.back().writeable()) throw std::invalid_argument("backward_inputs: dxs[" + si + "] must be writeable");
          check_rows(keep.back(), b, l.input_features(i), ("dxs[" + si + "]").c_str());
          d.push_back(keep.back().mutable_data());
        }
        const float* pyv = y.data();
        float* pdy = dy.mutable_data();
        py::gil_scoped_release nogil;
        l.backward_inputs(p.data(), pyv, pdy, d.data(), b, pre);
      }, py::arg("xs"), py::arg("y"), py::arg("dy"), py::arg("dxs"), py::arg("dy_is_preactivation") = false)
      .def_property_readonly("output_activation", [](const Layer& l) { return static_cast<int>(l.output_activation()); })
      .def("regularization", [](Layer& l, bool add_grad) {
        py::gil_scoped_release nogil;
        return l.regularization(add_grad);
      }, py::arg("add_grad") = false)
      .def("apply_constraints", [](Layer& l) {
        py::gil_scoped_release nogil;
        l.apply_constraints();
      })
      .def_property("trainable", &Layer::trainable, &Layer::set_trainable);

  py::class_<ranvier::Dense, Layer, std::shared_ptr<ranvier::Dense>>(m, "Dense")
      .def(py::init([](std::int64_t units, int act, float negative_slope, float max_value, float threshold,
                       float alpha, bool use_bias, py::tuple kernel_reg, py::tuple bias_reg, py::tuple activity_reg,
                       py::tuple kernel_constraint, py::tuple bias_constraint, bool bf16, bool f16) {
             ranvier::DenseConfig c;
             c.bf16 = bf16;
             c.f16 = f16;
             c.units = units;
             c.activation = act_kind(act);
             c.act_params = act_params(negative_slope, max_value, threshold, alpha);
             c.use_bias = use_bias;
             c.kernel_regularizer = penalty(kernel_reg);
             c.bias_regularizer = penalty(bias_reg);
             c.activity_regularizer = penalty(activity_reg);
             c.kernel_constraint = constraint(kernel_constraint);
             c.bias_constraint = constraint(bias_constraint);
             return std::make_shared<ranvier::Dense>(c);
           }),
           py::arg("units"), py::arg("activation") = 0, py::arg("negative_slope") = 0.0f,
           py::arg("max_value") = INFINITY, py::arg("threshold") = 0.0f, py::arg("alpha") = 1.0f,
           py::arg("use_bias") = true, py::arg("kernel_regularizer") = py::make_tuple(0.0f, 0.0f),
           py::arg("bias_regularizer") = py::make_tuple(0.0f, 0.0f),
           py::arg("activity_regularizer") = py::make_tuple(0.0f, 0.0f),
           py::arg("kernel_constraint") = py::make_tuple(0, 2.0f, 0.0f, 1.0f, 0),
           py::arg("bias_constraint") = py::make_tuple(0, 2.0f, 0.0f, 1.0f, 0), py::arg("bf16") = false,
           py::arg("f16") = false)
      .def_property_readonly("bf16", [](const ranvier::Dense& d) { return d.config().bf16; })
      .def_property_readonly("f16", [](const ranvier::Dense& d) { return d.config().f16; });

  py::class_<ranvier::BatchNormalization, Layer, std::shared_ptr<ranvier::BatchNormalization>>(m, "BatchNormalization")
      .def(py::init([](double momentum, float epsilon, bool center, bool scale, py::tuple gamma_reg, py::tuple beta_reg,
                       py::tuple gamma_constraint, py::tuple beta_constraint) {
             ranvier::BatchNormConfig c;
             c.momentum = momentum;
             c.epsilon = epsilon;
             c.center = center;
             c.scale = scale;
             c.gamma_regularizer = penalty(gamma_reg);
             c.beta_regularizer = penalty(beta_reg);
             c.gamma_constraint = constraint(gamma_constraint);
             c.beta_constraint = constraint(beta_constraint);
             return std::make_shared<ranvier::BatchNormalization>(c);
           }),
           py::arg("momentum") = 0.99, py::arg("epsilon") = 1e-3f, py::arg("center") = true,
           py::arg("scale") = true, py::arg("gamma_regularizer") = py::make_tuple(0.0f, 0.0f),
           py::arg("beta_regularizer") = py::make_tuple(0.0f, 0.0f),
           py::arg("gamma_constraint") = py::make_tuple(0, 2.0f, 0.0f, 1.0f, 0),
           py::arg("beta_constraint") = py::make_tuple(0, 2.0f, 0.0f, 1.0f, 0));

  py::class_<ranvier::LayerNormalization, Layer, std::shared_ptr<ranvier::LayerNormalization>>(m, "LayerNormalization")
      .def(py::init([](float epsilon, bool center, bool scale, py::tuple gamma_reg, py::tuple beta_reg,
                       py::tuple gamma_constraint, py::tuple beta_constraint) {
             ranvier::LayerNormConfig c;
             c.epsilon = epsilon;
             c.center = center;
             c.scale = scale;
             c.gamma_regularizer = penalty(gamma_reg);
             c.beta_regularizer = penalty(beta_reg);
             c.gamma_constraint = constraint(gamma_constraint);
             c.beta_constraint = constraint(beta_constraint);
             return std::make_shared<ranvier::LayerNormalization>(c);
           }),
           py::arg("epsilon") = 1e-3f, py::arg("center") = true, py::arg("scale") = true,
           py::arg("gamma_regularizer") = py::make_tuple(0.0f, 0.0f),
           py::arg("beta_regularizer") = py::make_tuple(0.0f, 0.0f),
           py::arg("gamma_constraint") = py::make_tuple(0, 2.0f, 0.0f, 1.0f, 0),
           py::arg("beta_constraint") = py::make_tuple(0, 2.0f, 0.0f, 1.0f, 0));

  py::class_<ranvier::Flatten, Layer, std::shared_ptr<ranvier::Flatten>>(m, "Flatten")
      .def(py::init<std::vector<std::int64_t>, bool>(), py::arg("sample_shape") = std::vector<std::int64_t>(),
           py::arg("channels_first") = false)
      .def_property_readonly("channels_first", &ranvier::Flatten::channels_first);

  py::class_<ranvier::ActivationLayer, Layer, std::shared_ptr<ranvier::ActivationLayer>>(m, "ActivationLayer")
      .def(py::init([](int kind, float negative_slope, float max_value, float threshold, float alpha,
                       std::string type_name) {
             return std::make_shared<ranvier::ActivationLayer>(
                 act_kind(kind), act_params(negative_slope, max_value, threshold, alpha), std::move(type_name));
           }),
           py::arg("activation"), py::arg("negative_slope") = 0.0f, py::arg("max_value") = INFINITY,
           py::arg("threshold") = 0.0f, py::arg("alpha") = 1.0f, py::arg("type_name") = "Activation");

  // Standalone weight rules, for ranvier.constraints / tests.
  m.def("_constraint_apply", [](py::tuple spec, farray w, std::int64_t rows, std::int64_t cols) {
    if (w.size() != rows * cols) throw std::invalid_argument("constraint: w has the wrong size");
    std::vector<double> ws(static_cast<std::size_t>(cols > 0 ? cols : 1));
    const auto c = constraint(spec);
    float* p = w.mutable_data();
    py::gil_scoped_release nogil;
    ranvier::constraint_apply(c, p, rows, cols, ws.data());
  });
}

}  // namespace ranvier_py
