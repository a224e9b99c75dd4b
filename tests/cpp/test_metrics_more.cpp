// The metrics added for Keras 3's full non-image set: the kinds table, Keras's
// documented examples, state merging, per-column state sizing, argument checks.
#include <cmath>
#include <cstring>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "metrics/metrics.h"
#include "testing.h"

namespace {

using ranvier::make_metric;
using ranvier::MetricKind;
using ranvier::MetricParams;

bool near(double a, double b, double tol) { return std::fabs(a - b) <= tol * std::fmax(1.0, std::fabs(b)); }

template <class F>
bool throws_invalid(F f) {
  try {
    f();
  } catch (const std::invalid_argument&) {
    return true;
  }
  return false;
}

}  // namespace

RANVIER_TEST(metrics_kinds_table_is_consistent) {
  const auto& kinds = ranvier::all_metric_kinds();
  std::set<std::string> names;
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    RANVIER_CHECK(static_cast<std::size_t>(kinds[i]) == i, "kind %zu out of order", i);
    const std::string name = ranvier::metric_kind_name(kinds[i]);
    RANVIER_CHECK(name != "unknown" && names.insert(name).second, "bad or duplicate name %s", name.c_str());
    const int d = ranvier::metric_direction(kinds[i]);
    RANVIER_CHECK(d >= -1 && d <= 1, "%s: direction %d", name.c_str(), d);
    RANVIER_CHECK(ranvier::metric_higher_is_better(kinds[i]) == (d > 0), "%s", name.c_str());
  }
  RANVIER_CHECK(ranvier::metric_direction(MetricKind::true_positives) == 0, "counts have no direction");
  RANVIER_CHECK(ranvier::metric_direction(MetricKind::kl_divergence) == -1, "kld is down");
  RANVIER_CHECK(ranvier::metric_direction(MetricKind::r2_score) == 1, "r2 is up");
}

RANVIER_TEST(metrics_mean_of_loss_keras_examples) {
  struct Case {
    MetricKind kind;
    std::vector<float> yt, yp;
    std::int64_t n, k;
    double expect;
  };
  const Case cases[] = {
      {MetricKind::hinge, {0, 1, 0, 0}, {0.6f, 0.4f, 0.4f, 0.6f}, 2, 2, 1.3},
      {MetricKind::squared_hinge, {0, 1, 0, 0}, {0.6f, 0.4f, 0.4f, 0.6f}, 2, 2, 1.86},
      {MetricKind::categorical_hinge, {0, 1, 0, 0}, {0.6f, 0.4f, 0.4f, 0.6f}, 2, 2, 1.4},
      {MetricKind::kl_divergence, {0, 1, 0, 0}, {0.6f, 0.4f, 0.4f, 0.6f}, 2, 2, 0.45814306},
      {MetricKind::poisson, {0, 1, 0, 0}, {1, 1, 0, 0}, 2, 2, 0.49999997},
      {MetricKind::binary_crossentropy, {0, 1, 0, 0}, {0.6f, 0.4f, 0.4f, 0.6f}, 2, 2, 0.81492424},
      {MetricKind::categorical_crossentropy, {0, 1, 0, 0, 0, 1}, {0.05f, 0.95f, 0, 0.1f, 0.8f, 0.1f}, 2, 3, 1.1769392},
      {MetricKind::sparse_categorical_crossentropy, {1, 2}, {0.05f, 0.95f, 0, 0.1f, 0.8f, 0.1f}, 2, 3, 1.1769392},
      {MetricKind::log_cosh_error, {0, 1, 0, 0}, {1, 1, 0, 0}, 2, 2, 0.10844523},
      {MetricKind::cosine_similarity, {0, 1, 1, 1}, {1, 0, 1, 1}, 2, 2, 0.49999997},
  };
  for (const auto& c : cases) {
    auto m = make_metric(c.kind, MetricParams{});
    const std::int64_t cols = c.kind == MetricKind::sparse_categorical_crossentropy ? 1 : c.k;
    m->update(c.yt.data(), cols, c.yp.data(), c.n, c.k, nullptr);
    RANVIER_CHECK(near(m->result(), c.expect, 1e-6), "%s: got %.9g want %.9g", ranvier::metric_kind_name(c.kind),
                  m->result(), c.expect);
  }
}

RANVIER_TEST(metrics_counts_and_operating_points_keras_examples) {
  const float yt[] = {0, 1, 1, 0, 1};
  const float yp[] = {0.5f, 0.5f, 0.7f, 0.2f, 0.1f};
  MetricParams p;
  p.thresholds = {0.0f, 0.5f, 0.6f};
  auto tp = make_metric(MetricKind::true_positives, p);
  tp->update(yt, 1, yp, 5, 1, nullptr);
  const auto r = tp->result_values();
  RANVIER_CHECK(r.size() == 3 && r[0] == 3 && r[1] == 1 && r[2] == 1, "tp per threshold");

  const float yt2[] = {0, 0, 0, 1, 1};
  const float yp2[] = {0, 0.3f, 0.8f, 0.3f, 0.8f};
  MetricParams q;
  q.value = 0.5;
  auto sens = make_metric(MetricKind::sensitivity_at_specificity, q);
  sens->update(yt2, 1, yp2, 5, 1, nullptr);
  RANVIER_CHECK(near(sens->result(), 0.5, 1e-12), "got %g", sens->result());
  auto spec = make_metric(MetricKind::specificity_at_sensitivity, q);
  spec->update(yt2, 1, yp2, 5, 1, nullptr);
  RANVIER_CHECK(near(spec->result(), 2.0 / 3.0, 1e-12), "got %g", spec->result());
}

RANVIER_TEST(metrics_per_column_state_sized_once) {
  for (auto kind : {MetricKind::r2_score, MetricKind::fbeta_score}) {
    auto m = make_metric(kind, MetricParams{});
    m->prepare(3);
    RANVIER_CHECK(m->state().size() >= 12, "%s: state sized by prepare", ranvier::metric_kind_name(kind));
    const float y[6] = {1, 0, 1, 0, 1, 0};
    RANVIER_CHECK(throws_invalid([&] { m->update(y, 2, y, 3, 2, nullptr); }), "%s: 2 columns after 3",
                  ranvier::metric_kind_name(kind));
  }
  MetricParams p;
  p.multi_label = true;
  auto auc = make_metric(MetricKind::auc, p);
  auc->prepare(2);
  RANVIER_CHECK(auc->state().size() == 2 * 2 * 200, "multi-label auc: one curve per column");
}

RANVIER_TEST(metrics_new_kinds_merge_by_addition) {
  std::vector<float> yt(60), yp(60);
  for (int i = 0; i < 60; ++i) {
    yt[i] = (i * 7) % 3 == 0 ? 1.0f : 0.0f;
    yp[i] = static_cast<float>((i * 37) % 101) / 100.0f;
  }
  MetricParams multi;
  multi.multi_label = true;
  MetricParams at;
  at.value = 0.4;
  MetricParams macro;
  macro.average = 2;
  const std::pair<MetricKind, MetricParams> cases[] = {
      {MetricKind::false_positives, MetricParams{}}, {MetricKind::precision_at_recall, at},
      {MetricKind::r2_score, MetricParams{}},        {MetricKind::fbeta_score, macro},
      {MetricKind::auc, multi},                      {MetricKind::binary_crossentropy, MetricParams{}},
  };
  for (const auto& c : cases) {
    auto whole = make_metric(c.first, c.second);
    auto a = make_metric(c.first, c.second);
    auto b = make_metric(c.first, c.second);
    whole->update(yt.data(), 3, yp.data(), 20, 3, nullptr);
    a->update(yt.data(), 3, yp.data(), 8, 3, nullptr);
    b->update(yt.data() + 24, 3, yp.data() + 24, 12, 3, nullptr);
    auto sa = a->state(), sb = b->state();
    RANVIER_CHECK(sa.size() == sb.size(), "%s: state sizes", ranvier::metric_kind_name(c.first));
    for (std::size_t i = 0; i < sa.size(); ++i) sa[i] += sb[i];
    auto merged = make_metric(c.first, c.second);
    merged->set_state(sa);
    RANVIER_CHECK(near(merged->result(), whole->result(), 1e-12), "%s: merged %.17g whole %.17g",
                  ranvier::metric_kind_name(c.first), merged->result(), whole->result());
  }
}

RANVIER_TEST(metrics_new_kinds_bad_arguments_throw) {
  MetricParams p;
  p.thresholds = {0.5f, 1.5f};
  RANVIER_CHECK(throws_invalid([&] { make_metric(MetricKind::true_negatives, p); }), "threshold 1.5");
  MetricParams q;
  q.value = 2.0;
  RANVIER_CHECK(throws_invalid([&] { make_metric(MetricKind::recall_at_precision, q); }), "target 2");
  MetricParams r;
  r.num_thresholds = 0;
  RANVIER_CHECK(throws_invalid([&] { make_metric(MetricKind::precision_at_recall, r); }), "num_thresholds 0");
  MetricParams s;
  s.num_labels = 3;  // without multi_label
  RANVIER_CHECK(throws_invalid([&] { make_metric(MetricKind::auc, s); }), "num_labels without multi_label");
  MetricParams t;
  t.average = 7;
  RANVIER_CHECK(throws_invalid([&] { make_metric(MetricKind::fbeta_score, t); }), "average 7");
  auto scce = make_metric(MetricKind::sparse_categorical_crossentropy, MetricParams{});
  const float label[] = {3}, probs[] = {0.5f, 0.5f};
  RANVIER_CHECK(throws_invalid([&] { scce->update(label, 1, probs, 1, 2, nullptr); }), "label 3 of 2 classes");
}
