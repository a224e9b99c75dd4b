// Core robustness on the C++ side alone: the network's input-width check, exception-safe
// workspaces under injected allocation failures (runtime/alloc.h), AllocError messages, and
// the bounded AUC buckets.
#include <cstdint>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "layers/layers.h"
#include "metrics/metrics.h"
#include "model/trainer.h"
#include "optimizers/optimizer.h"
#include "runtime/alloc.h"
#include "testing.h"

namespace {

std::shared_ptr<ranvier::Network> dense_net(std::int64_t in, std::int64_t units, std::int64_t input_features) {
  ranvier::DenseConfig cfg;
  cfg.units = units;
  auto d = std::make_shared<ranvier::Dense>(cfg);
  d->build(in);
  auto net = std::make_shared<ranvier::Network>();
  net->add(d);
  net->finalize(input_features);
  net->bind_all();
  return net;
}

}  // namespace

RANVIER_TEST(network_refuses_a_first_layer_built_for_another_width) {
  for (std::int64_t n : {1, 7, 300}) {
    for (std::int64_t m : {2, 8, 1000}) {
      if (n == m) continue;
      std::string msg;
      try {
        dense_net(n, 3, m);
      } catch (const std::invalid_argument& e) {
        msg = e.what();
      }
      RANVIER_CHECK(msg.find(std::to_string(n)) != std::string::npos && msg.find(std::to_string(m)) != std::string::npos,
                    "n=%lld m=%lld: '%s'", static_cast<long long>(n), static_cast<long long>(m), msg.c_str());
    }
  }
  auto ok = dense_net(5, 3, 5);
  RANVIER_CHECK(ok->in_features() == 5, "in_features");
}

RANVIER_TEST(trainer_workspaces_survive_every_injected_allocation_failure) {
  std::vector<float> x(64 * 5), y(64);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 7) * 0.1f;
  for (std::size_t i = 0; i < y.size(); ++i) y[i] = static_cast<float>(i % 3);
  const ranvier::DataView d = ranvier::DataView::single(x.data(), y.data(), 1, nullptr, 64);
  auto make = [&] {
    auto net = dense_net(5, 4, 5);
    auto opt = std::make_shared<ranvier::Optimizer>(ranvier::keras_defaults(ranvier::OptimizerKind::sgd));
    std::vector<ranvier::ParamSegment> segs;
    for (const auto& t : net->tensors()) segs.push_back(ranvier::ParamSegment{t.offset, t.size, true});
    opt->build(net->params().size(), segs);
    return std::make_shared<ranvier::Trainer>(net, opt, ranvier::LossSpec{}, std::vector<std::shared_ptr<ranvier::Metric>>{},
                                              std::vector<std::shared_ptr<ranvier::Metric>>{});
  };
  auto reference = make();
  reference->evaluate(d, 4);
  const double want = reference->evaluate(d, 64);
  ranvier::alloc_fault_count_only(true);
  {
    auto t = make();
    t->evaluate(d, 4);
    ranvier::alloc_fault_count_only(true);
    t->evaluate(d, 64);
  }
  ranvier::alloc_fault_count_only(false);
  const std::int64_t sites = ranvier::alloc_fault_calls();
  RANVIER_CHECK(sites >= 3, "only %lld checked allocations", static_cast<long long>(sites));
  for (std::int64_t k = 1; k <= sites; ++k) {
    auto t = make();
    t->evaluate(d, 4);  // warm: small workspaces
    ranvier::alloc_fault_arm(k);
    bool threw = false;
    try {
      t->evaluate(d, 64);
    } catch (const std::bad_alloc& e) {
      threw = std::string(e.what()).find("allocating") != std::string::npos;
    }
    ranvier::alloc_fault_arm(0);
    RANVIER_CHECK(threw, "site %lld did not throw an AllocError", static_cast<long long>(k));
    RANVIER_CHECK(t->evaluate(d, 4) == reference->evaluate(d, 4), "site %lld: small batch", static_cast<long long>(k));
    RANVIER_CHECK(t->evaluate(d, 64) == want, "site %lld: retry", static_cast<long long>(k));
  }
}

RANVIER_TEST(alloc_error_names_the_buffer_and_its_size) {
  std::string msg;
  try {
    ranvier::FloatBuffer b;
    b.resize(std::int64_t{1} << 60, "a test buffer");
  } catch (const std::bad_alloc& e) {
    msg = e.what();
  }
  RANVIER_CHECK(msg.find("a test buffer") != std::string::npos && msg.find("GiB") != std::string::npos, "'%s'",
                msg.c_str());
  msg.clear();
  try {
    ranvier::alloc_bytes("an overflowing buffer", std::uint64_t{1} << 40, std::uint64_t{1} << 40, 4);
  } catch (const std::bad_alloc& e) {
    msg = e.what();
  }
  RANVIER_CHECK(msg.find("overflow") != std::string::npos, "'%s'", msg.c_str());
}

RANVIER_TEST(auc_num_thresholds_is_bounded_and_buckets_clamped) {
  ranvier::MetricParams p;
  for (int t : {ranvier::kMaxAucThresholds + 1, ranvier::kMaxAucThresholds + 4, 2147483647}) {
    p.num_thresholds = t;
    bool threw = false;
    try {
      ranvier::make_metric(ranvier::MetricKind::auc, p);
    } catch (const std::invalid_argument&) {
      threw = true;
    }
    RANVIER_CHECK(threw, "num_thresholds=%d accepted", t);
  }
  p.num_thresholds = 3;
  auto m = ranvier::make_metric(ranvier::MetricKind::auc, p);
  const float yt[4] = {1, 0, 1, 0}, yp[4] = {1.0f, 0.0f, 2.0f, -1.0f};
  m->update(yt, 1, yp, 4, 1, nullptr);
  double total = 0;
  for (double v : m->state()) total += v;
  RANVIER_CHECK(total == 4.0, "state sums to %g", total);
}
