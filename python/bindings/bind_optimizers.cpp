// Optimizers and learning-rate schedules: glue only (the logic is in cpp/src/optimizers
// and python/ranvier/optimizers). The Python facade checks every argument first.
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "bind.h"
#include "dispatch/dispatch.h"
#include "optimizers/loss_scale.h"
#include "optimizers/optimizer.h"
#include "runtime/runtime.h"

namespace ranvier_py {

namespace {

void check_size(const farray& a, std::int64_t n, const char* what) {
  if (a.size() != n)
    throw std::invalid_argument(std::string(what) + " has " + std::to_string(a.size()) +
                                " floats but the optimizer was built for " + std::to_string(n));
}

}  // namespace

void bind_optimizers(py::module_& m) {
  using ranvier::Optimizer;
  using ranvier::OptimizerConfig;
  using ranvier::OptimizerKind;
  using ranvier::ScheduleConfig;
  using ranvier::ScheduleKind;

  {
    py::enum_<OptimizerKind> kinds(m, "OptimizerKind");  // members: the rows of optimizers.def
    for (OptimizerKind k : ranvier::all_optimizer_kinds()) kinds.value(ranvier::optimizer_kind_name(k), k);
  }
  // The one list of optimizers, for the Python lookups: [(kind name, Keras class name,
  // [(hyperparameter, is_bool, Keras default), ...], [(slot, Keras variable group), ...]),
  // ...] in table order.
  m.def("optimizer_kinds", [] {
    py::list out;
    for (OptimizerKind k : ranvier::all_optimizer_kinds()) {
      py::list hypers;
      for (const auto& h : ranvier::optimizer_hypers(k))
        hypers.append(py::make_tuple(h.name, h.flag,
                                     h.flag ? py::object(py::bool_(h.value != 0.0)) : py::object(py::float_(h.value))));
      py::list slots;
      for (const auto& sl : ranvier::optimizer_slots(k)) slots.append(py::make_tuple(sl.name, sl.group));
      out.append(py::make_tuple(ranvier::optimizer_kind_name(k), ranvier::optimizer_class_name(k), hypers, slots));
    }
    return out;
  });

  py::enum_<ScheduleKind>(m, "ScheduleKind")
      .value("constant", ScheduleKind::constant)
      .value("exponential_decay", ScheduleKind::exponential_decay)
      .value("piecewise_constant_decay", ScheduleKind::piecewise_constant_decay)
      .value("inverse_time_decay", ScheduleKind::inverse_time_decay)
      .value("polynomial_decay", ScheduleKind::polynomial_decay)
      .value("cosine_decay", ScheduleKind::cosine_decay)
      .value("cosine_decay_restarts", ScheduleKind::cosine_decay_restarts)
      .value("external", ScheduleKind::external);

  py::class_<ScheduleConfig>(m, "ScheduleConfig")
      .def(py::init<>())
      .def_readwrite("kind", &ScheduleConfig::kind)
      .def_readwrite("initial_learning_rate", &ScheduleConfig::initial_learning_rate)
      .def_readwrite("decay_steps", &ScheduleConfig::decay_steps)
      .def_readwrite("decay_rate", &ScheduleConfig::decay_rate)
      .def_readwrite("staircase", &ScheduleConfig::staircase)
      .def_readwrite("end_learning_rate", &ScheduleConfig::end_learning_rate)
      .def_readwrite("power", &ScheduleConfig::power)
      .def_readwrite("cycle", &ScheduleConfig::cycle)
      .def_readwrite("alpha", &ScheduleConfig::alpha)
      .def_readwrite("has_warmup", &ScheduleConfig::has_warmup)
      .def_readwrite("warmup_target", &ScheduleConfig::warmup_target)
      .def_readwrite("warmup_steps", &ScheduleConfig::warmup_steps)
      .def_readwrite("t_mul", &ScheduleConfig::t_mul)
      .def_readwrite("m_mul", &ScheduleConfig::m_mul)
      .def_readwrite("boundaries", &ScheduleConfig::boundaries)
      .def_readwrite("values", &ScheduleConfig::values);

  m.def("validate_schedule", &ranvier::validate_schedule);
  m.def("schedule_value", &ranvier::schedule_value, py::arg("schedule"), py::arg("step"));
  m.def("schedule_value_real", &ranvier::schedule_value_real, py::arg("schedule"), py::arg("step"));

  py::class_<OptimizerConfig>(m, "OptimizerConfig")
      .def(py::init<>())
      .def_readwrite("kind", &OptimizerConfig::kind)
      .def_readwrite("learning_rate", &OptimizerConfig::learning_rate)
      .def_readwrite("schedule", &OptimizerConfig::schedule)
      .def_readwrite("momentum", &OptimizerConfig::momentum)
      .def_readwrite("nesterov", &OptimizerConfig::nesterov)
      .def_readwrite("rho", &OptimizerConfig::rho)
      .def_readwrite("epsilon", &OptimizerConfig::epsilon)
      .def_readwrite("centered", &OptimizerConfig::centered)
      .def_readwrite("initial_accumulator_value", &OptimizerConfig::initial_accumulator_value)
      .def_readwrite("beta_1", &OptimizerConfig::beta_1)
      .def_readwrite("beta_2", &OptimizerConfig::beta_2)
      .def_readwrite("amsgrad", &OptimizerConfig::amsgrad)
      .def_readwrite("learning_rate_power", &OptimizerConfig::learning_rate_power)
      .def_readwrite("l1_regularization_strength", &OptimizerConfig::l1_regularization_strength)
      .def_readwrite("l2_regularization_strength", &OptimizerConfig::l2_regularization_strength)
      .def_readwrite("l2_shrinkage_regularization_strength", &OptimizerConfig::l2_shrinkage_regularization_strength)
      .def_readwrite("beta", &OptimizerConfig::beta)
      .def_readwrite("weight_decay", &OptimizerConfig::weight_decay)
      .def_readwrite("clipnorm", &OptimizerConfig::clipnorm)
      .def_readwrite("clipvalue", &OptimizerConfig::clipvalue)
      .def_readwrite("global_clipnorm", &OptimizerConfig::global_clipnorm)
      .def_readwrite("loss_scale_factor", &OptimizerConfig::loss_scale_factor)
      .def_readwrite("use_ema", &OptimizerConfig::use_ema)
      .def_readwrite("ema_momentum", &OptimizerConfig::ema_momentum)
      .def_readwrite("ema_overwrite_frequency", &OptimizerConfig::ema_overwrite_frequency)
      .def_readwrite("gradient_accumulation_steps", &OptimizerConfig::gradient_accumulation_steps);

  m.def("optimizer_keras_defaults", &ranvier::keras_defaults);

  py::class_<Optimizer, std::shared_ptr<Optimizer>>(m, "Optimizer")
      .def(py::init<const OptimizerConfig&>(), py::arg("config"))
      .def_property_readonly("config", &Optimizer::config)
      // segments: (offset, size, weight_decay) per trainable tensor
      .def("build", [](Optimizer& o, std::int64_t n, const std::vector<std::tuple<std::int64_t, std::int64_t, bool>>& segs) {
        std::vector<ranvier::ParamSegment> v;
        v.reserve(segs.size());
        for (const auto& s : segs) v.push_back(ranvier::ParamSegment{std::get<0>(s), std::get<1>(s), std::get<2>(s)});
        o.build(n, std::move(v));
      }, py::arg("n"), py::arg("segments"))
      .def_property_readonly("built", &Optimizer::built)
      .def_property_readonly("size", &Optimizer::size)
      .def("apply", [](Optimizer& o, farray w, farray g) {
        check_size(w, o.size(), "w");
        check_size(g, o.size(), "g");
        float* pw = w.mutable_data();
        float* pg = g.mutable_data();
        py::gil_scoped_release nogil;
        o.apply(pw, pg);
      }, py::arg("w"), py::arg("g"))
      .def("apply_masked", [](Optimizer& o, farray w, farray g, py::array_t<std::uint8_t, py::array::c_style> active) {
        check_size(w, o.size(), "w");
        check_size(g, o.size(), "g");
        if (active.size() != static_cast<py::ssize_t>(o.segments().size()))
          throw std::invalid_argument("active needs one entry per segment");
        float* pw = w.mutable_data();
        float* pg = g.mutable_data();
        const unsigned char* pa = active.data();
        py::gil_scoped_release nogil;
        o.apply(pw, pg, pa);
      }, py::arg("w"), py::arg("g"), py::arg("active"))
      .def("current_learning_rate", &Optimizer::current_learning_rate)
      .def("set_learning_rate", &Optimizer::set_learning_rate, py::arg("lr"))
      .def("set_schedule", &Optimizer::set_schedule, py::arg("schedule"), py::arg("learning_rate"))
      .def_property_readonly("uses_schedule", &Optimizer::uses_schedule)
      .def_property_readonly("uses_external_lr", &Optimizer::uses_external_lr)
      .def_property("iterations", &Optimizer::iterations, &Optimizer::set_iterations)
      .def_property("raw_iterations", &Optimizer::raw_iterations, &Optimizer::set_raw_iterations)
      .def("next_is_update_step", &Optimizer::next_is_update_step)
      // {name: float32 view of the slot buffer (no copy; keeps the optimizer alive)}
      .def("slots", [](py::object self) {
        auto& o = self.cast<Optimizer&>();
        py::dict d;
        for (const auto& s : o.slots())
          d[py::str(s.name)] = py::array_t<float>({s.size}, {static_cast<py::ssize_t>(sizeof(float))}, s.data, self);
        return d;
      })
      .def("scalar_names", &Optimizer::scalar_names)
      .def("scalar", &Optimizer::scalar, py::arg("name"))
      .def("set_scalar", &Optimizer::set_scalar, py::arg("name"), py::arg("value"))
      .def("finalize_ema", [](const Optimizer& o, farray w) {
        check_size(w, o.size(), "w");
        float* pw = w.mutable_data();
        py::gil_scoped_release nogil;
        o.finalize_ema(pw);
      }, py::arg("w"));

  m.def("optimizer_parallel_threshold", &Optimizer::parallel_threshold);
  m.def("set_optimizer_parallel_threshold", &Optimizer::set_parallel_threshold, py::arg("elements"));

  // The bench's bandwidth yardstick: a[i] = b[i] + s*c[i] with the active ISA's kernel,
  // split over threads like the optimizer step.
  m.def("update_triad", [](farray a, farray b, farray c, float s, int nthreads) {
    if (a.size() != b.size() || a.size() != c.size()) throw std::invalid_argument("triad: sizes differ");
    float* pa = a.mutable_data();
    const float* pb = b.data();
    const float* pc = c.data();
    const std::int64_t n = a.size();
    py::gil_scoped_release nogil;
    ranvier::update_triad(pa, pb, pc, s, n, nthreads);
  }, py::arg("a"), py::arg("b"), py::arg("c"), py::arg("s"), py::arg("nthreads"));

  // Dynamic loss scaling (optimizers/loss_scale.h): the state a LossScaleOptimizer hands
  // the trainer (Trainer.set_loss_scaler); pre_step on a float32 array for the tests.
  py::class_<ranvier::LossScaler, std::shared_ptr<ranvier::LossScaler>>(m, "LossScaler")
      .def(py::init<double, std::int64_t>(), py::arg("initial_scale"), py::arg("growth_steps"))
      .def_property("scale", &ranvier::LossScaler::scale, &ranvier::LossScaler::set_scale)
      .def_property("step_counter", &ranvier::LossScaler::step_counter, &ranvier::LossScaler::set_step_counter)
      .def_property_readonly("growth_steps", &ranvier::LossScaler::growth_steps)
      .def_property_readonly("skipped_steps", &ranvier::LossScaler::skipped_steps)
      .def("pre_step", [](ranvier::LossScaler& s, py::array_t<float, py::array::c_style> g) {
        float* p = g.mutable_data();
        const std::int64_t n = static_cast<std::int64_t>(g.size());
        py::gil_scoped_release nogil;
        ranvier::FtzScope ftz;  // as in the trainer
        return s.pre_step(p, n);
      }, py::arg("grads"));
}

}  // namespace ranvier_py
