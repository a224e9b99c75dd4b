// Metrics: Keras's documented examples, state merging and argument checks, without Python.
#include <cmath>
#include <stdexcept>
#include <vector>

#include "metrics/metrics.h"
#include "testing.h"

namespace {

using ranvier::make_metric;
using ranvier::MetricKind;
using ranvier::MetricParams;

bool near(double a, double b, double tol = 1e-12) { return std::fabs(a - b) <= tol; }

}  // namespace

RANVIER_TEST(metrics_binary_accuracy_spec_example) {
  auto m = make_metric(MetricKind::binary_accuracy, MetricParams{});
  const float yt[] = {1, 1, 0, 0};
  const float yp[] = {0.98f, 1.0f, 0.0f, 0.6f};
  m->update(yt, 1, yp, 4, 1, nullptr);
  RANVIER_CHECK(near(m->result(), 0.75), "got %g", m->result());
  m->reset();
  const float w[] = {1, 0, 0, 1};
  m->update(yt, 1, yp, 4, 1, w);
  RANVIER_CHECK(near(m->result(), 0.5), "got %g", m->result());
}

RANVIER_TEST(metrics_weighted_mse_divides_by_sum_of_weights) {
  // per-sample MSEs [0.4, 0.4, 0.4, 0.8] with weights [1, 1.5, 2, 2.5] -> 3.8 / 7
  std::vector<float> yt(20, 0.0f), yp(20, 0.0f);
  for (int i = 0; i < 3; ++i) yp[i * 5] = yp[i * 5 + 1] = 1.0f;
  for (int j = 0; j < 4; ++j) yp[15 + j] = 1.0f;
  const float w[] = {1.0f, 1.5f, 2.0f, 2.5f};
  auto m = make_metric(MetricKind::mean_squared_error, MetricParams{});
  m->update(yt.data(), 5, yp.data(), 4, 5, w);
  RANVIER_CHECK(near(m->result(), 3.8 / 7.0), "got %.17g", m->result());
  auto r = make_metric(MetricKind::root_mean_squared_error, MetricParams{});
  r->update(yt.data(), 5, yp.data(), 4, 5, w);
  RANVIER_CHECK(near(r->result(), std::sqrt(3.8 / 7.0)), "got %.17g", r->result());
}

RANVIER_TEST(metrics_auc_keras_example) {
  MetricParams p;
  p.num_thresholds = 3;
  auto m = make_metric(MetricKind::auc, p);
  const float yt[] = {0, 0, 1, 1};
  const float yp[] = {0.0f, 0.5f, 0.3f, 0.9f};
  m->update(yt, 1, yp, 4, 1, nullptr);
  RANVIER_CHECK(near(m->result(), 0.75), "got %g", m->result());
  m->reset();
  const float w[] = {1, 0, 0, 1};
  m->update(yt, 1, yp, 4, 1, w);
  RANVIER_CHECK(near(m->result(), 1.0), "got %g", m->result());
}

RANVIER_TEST(metrics_precision_recall_keras_example) {
  const float yt[] = {0, 1, 1, 1};
  const float yp[] = {1, 0, 1, 1};
  auto p = make_metric(MetricKind::precision, MetricParams{});
  auto r = make_metric(MetricKind::recall, MetricParams{});
  p->update(yt, 1, yp, 4, 1, nullptr);
  r->update(yt, 1, yp, 4, 1, nullptr);
  RANVIER_CHECK(near(p->result(), 2.0 / 3.0), "precision %g", p->result());
  RANVIER_CHECK(near(r->result(), 2.0 / 3.0), "recall %g", r->result());
}

RANVIER_TEST(metrics_sparse_and_topk) {
  const float yp[] = {0.1f, 0.9f, 0.8f, 0.05f, 0.95f, 0.0f};
  const float labels[] = {2, 1};
  auto s = make_metric(MetricKind::sparse_categorical_accuracy, MetricParams{});
  s->update(labels, 1, yp, 2, 3, nullptr);
  RANVIER_CHECK(near(s->result(), 0.5), "got %g", s->result());
  MetricParams p;
  p.k = 1;
  auto t = make_metric(MetricKind::sparse_top_k_categorical_accuracy, p);
  const float w[] = {0.7f, 0.3f};
  t->update(labels, 1, yp, 2, 3, w);
  RANVIER_CHECK(near(t->result(), 0.3, 1e-7), "got %g", t->result());
}

RANVIER_TEST(metrics_state_merges_by_addition) {
  const MetricKind kinds[] = {MetricKind::mean_absolute_error, MetricKind::auc, MetricKind::recall,
                              MetricKind::categorical_accuracy};
  std::vector<float> yt(60), yp(60);
  for (int i = 0; i < 60; ++i) {
    yt[i] = (i * 7) % 3 == 0 ? 1.0f : 0.0f;
    yp[i] = static_cast<float>((i * 37) % 101) / 100.0f;
  }
  for (auto kind : kinds) {
    auto whole = make_metric(kind, MetricParams{});
    auto a = make_metric(kind, MetricParams{});
    auto b = make_metric(kind, MetricParams{});
    whole->update(yt.data(), 3, yp.data(), 20, 3, nullptr);
    a->update(yt.data(), 3, yp.data(), 8, 3, nullptr);
    b->update(yt.data() + 24, 3, yp.data() + 24, 12, 3, nullptr);
    auto sa = a->state(), sb = b->state();
    for (size_t i = 0; i < sa.size(); ++i) sa[i] += sb[i];
    auto merged = make_metric(kind, MetricParams{});
    merged->set_state(sa);
    RANVIER_CHECK(near(merged->result(), whole->result()), "%s: merged %.17g whole %.17g",
                  ranvier::metric_kind_name(kind), merged->result(), whole->result());
  }
}

RANVIER_TEST(metrics_bad_arguments_throw_invalid_argument) {
  MetricParams p;
  p.num_thresholds = 1;
  bool threw = false;
  try {
    make_metric(MetricKind::auc, p);
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  RANVIER_CHECK(threw, "auc num_thresholds=1 must throw");
  threw = false;
  auto m = make_metric(MetricKind::sparse_categorical_accuracy, MetricParams{});
  const float y[6] = {};
  try {
    m->update(y, 3, y, 2, 3, nullptr);  // sparse kinds need 1 label column
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  RANVIER_CHECK(threw, "sparse metric with 3 label columns must throw");
  RANVIER_CHECK(!ranvier::metric_higher_is_better(MetricKind::mean_squared_error), "mse is down");
  RANVIER_CHECK(ranvier::metric_higher_is_better(MetricKind::auc), "auc is up");
}
