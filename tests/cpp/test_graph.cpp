// The graph network (model/network.h) and its trainer: a diamond against a hand-computed
// reference, two inputs and two outputs against the equivalent chains, a shared layer's
// summed gradient, fan-out, the workspace plan, and the graph checks' errors. The merge
// layers live elsewhere: a test-only Add and Concat stand in for them here.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "layers/layers.h"
#include "metrics/metrics.h"
#include "model/trainer.h"
#include "optimizers/optimizer.h"
#include "runtime/runtime.h"
#include "testing.h"

namespace {

using ranvier::Layer;
using Vec = std::vector<double>;

// ---- test-only merge layers (forward_inputs / backward_inputs; no weights)
class TestAdd final : public Layer {
 public:
  const char* type_name() const override { return "TestAdd"; }
  std::int64_t build(std::int64_t) override { throw std::logic_error("TestAdd takes several inputs"); }
  std::int64_t in_features() const override { return w_; }
  std::int64_t out_features() const override { return w_; }
  int num_inputs() const override { return n_; }
  std::int64_t build_inputs(const std::vector<std::int64_t>& w) override {
    n_ = static_cast<int>(w.size());
    w_ = w[0];
    for (auto x : w)
      if (x != w_) throw std::invalid_argument("TestAdd: widths differ");
    return w_;
  }
  std::int64_t input_features(int) const override { return w_; }
  double forward(const float*, float*, std::int64_t, const ranvier::ForwardCtx&) override {
    throw std::logic_error("TestAdd takes several inputs");
  }
  void backward(const float*, const float*, float*, float*, std::int64_t, bool) override {
    throw std::logic_error("TestAdd takes several inputs");
  }
  double forward_inputs(const float* const* xs, float* y, std::int64_t b, const ranvier::ForwardCtx&) override {
    for (std::int64_t i = 0; i < b * w_; ++i) {
      float s = xs[0][i];
      for (int k = 1; k < n_; ++k) s += xs[k][i];
      y[i] = s;
    }
    return 0.0;
  }
  void backward_inputs(const float* const*, const float*, float* dy, float* const* dxs, std::int64_t b,
                       bool) override {
    for (int k = 0; k < n_; ++k)
      if (dxs[k]) std::memcpy(dxs[k], dy, sizeof(float) * static_cast<std::size_t>(b * w_));
  }

 private:
  int n_ = 2;
  std::int64_t w_ = 0;
};

class TestConcat final : public Layer {
 public:
  const char* type_name() const override { return "TestConcat"; }
  std::int64_t build(std::int64_t) override { throw std::logic_error("TestConcat takes several inputs"); }
  std::int64_t in_features() const override { return w_.empty() ? 0 : w_[0]; }
  std::int64_t out_features() const override { return out_; }
  int num_inputs() const override { return static_cast<int>(w_.size()); }
  std::int64_t build_inputs(const std::vector<std::int64_t>& w) override {
    w_ = w;
    out_ = 0;
    for (auto x : w) out_ += x;
    return out_;
  }
  std::int64_t input_features(int i) const override { return w_[static_cast<std::size_t>(i)]; }
  double forward(const float*, float*, std::int64_t, const ranvier::ForwardCtx&) override {
    throw std::logic_error("TestConcat takes several inputs");
  }
  void backward(const float*, const float*, float*, float*, std::int64_t, bool) override {
    throw std::logic_error("TestConcat takes several inputs");
  }
  double forward_inputs(const float* const* xs, float* y, std::int64_t b, const ranvier::ForwardCtx&) override {
    for (std::int64_t r = 0; r < b; ++r) {
      std::int64_t c = 0;
      for (std::size_t k = 0; k < w_.size(); ++k) {
        std::memcpy(y + r * out_ + c, xs[k] + r * w_[k], sizeof(float) * static_cast<std::size_t>(w_[k]));
        c += w_[k];
      }
    }
    return 0.0;
  }
  void backward_inputs(const float* const*, const float*, float* dy, float* const* dxs, std::int64_t b,
                       bool) override {
    for (std::int64_t r = 0; r < b; ++r) {
      std::int64_t c = 0;
      for (std::size_t k = 0; k < w_.size(); ++k) {
        if (dxs[k]) std::memcpy(dxs[k] + r * w_[k], dy + r * out_ + c, sizeof(float) * static_cast<std::size_t>(w_[k]));
        c += w_[k];
      }
    }
  }

 private:
  std::vector<std::int64_t> w_;
  std::int64_t out_ = 0;
};

std::shared_ptr<Layer> dense(std::int64_t in, std::int64_t units, ranvier::ActKind act = ranvier::ActKind::linear) {
  ranvier::DenseConfig cfg;
  cfg.units = units;
  cfg.activation = act;
  auto d = std::make_shared<ranvier::Dense>(cfg);
  d->build(in);
  return d;
}

std::shared_ptr<Layer> merge(std::shared_ptr<Layer> l, std::vector<std::int64_t> widths) {
  l->build_inputs(widths);
  return l;
}

// Deterministic values in about [-1, 1).
std::vector<float> values(std::size_t n, std::uint32_t seed) {
  std::vector<float> v(n);
  std::uint32_t s = seed * 2654435761u + 12345u;
  for (auto& x : v) {
    s = s * 1664525u + 1013904223u;
    x = static_cast<float>((s >> 8) & 0xffff) / 32768.0f - 1.0f;
  }
  return v;
}

void fill_params(ranvier::Network& net, std::uint32_t seed) {
  auto v = values(static_cast<std::size_t>(net.params().size()), seed);
  for (std::size_t i = 0; i < v.size(); ++i) net.params().data()[i] = 0.5f * v[i];
}

std::shared_ptr<ranvier::Optimizer> sgd(ranvier::Network& net, float lr) {
  auto cfg = ranvier::keras_defaults(ranvier::OptimizerKind::sgd);
  cfg.learning_rate = lr;
  auto opt = std::make_shared<ranvier::Optimizer>(cfg);
  std::vector<ranvier::ParamSegment> segs;
  for (const auto& t : net.tensors())
    if (t.trainable) segs.push_back(ranvier::ParamSegment{t.offset, t.size, true});
  opt->build(net.params().size(), segs);
  return opt;
}

ranvier::LossSpec loss(ranvier::LossKind k, float weight = 1.0f) {
  ranvier::LossSpec s;
  s.kind = k;
  s.weight = weight;
  return s;
}

using MetricLists = std::vector<std::vector<std::shared_ptr<ranvier::Metric>>>;

// The slot of node `node`'s weight `index`, as a double matrix.
const ranvier::TensorSlot& slot(const ranvier::Network& net, int node, int index) {
  for (const auto& t : net.tensors())
    if (t.layer == node && t.index == index) return t;
  throw std::logic_error("no such slot");
}
Vec weights(ranvier::Network& net, int node, int index) {
  const auto& t = slot(net, node, index);
  return Vec(net.params().data() + t.offset, net.params().data() + t.offset + t.size);
}

// ---- double-precision reference helpers (row-major)
Vec matmul(const Vec& a, const Vec& b, std::int64_t n, std::int64_t k, std::int64_t m) {  // (n,k)@(k,m)
  Vec c(static_cast<std::size_t>(n * m), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t p = 0; p < k; ++p)
      for (std::int64_t j = 0; j < m; ++j) c[i * m + j] += a[i * k + p] * b[p * m + j];
  return c;
}
Vec matmul_tn(const Vec& a, const Vec& b, std::int64_t n, std::int64_t k, std::int64_t m) {  // a^T (k,n) @ b (n,m)
  Vec c(static_cast<std::size_t>(k * m), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t p = 0; p < k; ++p)
      for (std::int64_t j = 0; j < m; ++j) c[p * m + j] += a[i * k + p] * b[i * m + j];
  return c;
}
Vec matmul_nt(const Vec& a, const Vec& b, std::int64_t n, std::int64_t m, std::int64_t k) {  // a (n,m) @ b^T, b (k,m)
  Vec c(static_cast<std::size_t>(n * k), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t p = 0; p < k; ++p)
      for (std::int64_t j = 0; j < m; ++j) c[i * k + p] += a[i * m + j] * b[p * m + j];
  return c;
}
Vec add_bias(Vec z, const Vec& bias, std::int64_t n, std::int64_t m) {
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < m; ++j) z[i * m + j] += bias[j];
  return z;
}
Vec col_sum(const Vec& d, std::int64_t n, std::int64_t m) {
  Vec s(static_cast<std::size_t>(m), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < m; ++j) s[j] += d[i * m + j];
  return s;
}
Vec to_double(const std::vector<float>& v) { return Vec(v.begin(), v.end()); }

// |a - b| <= atol + rtol |b| everywhere; float32 math over reductions of a few terms.
bool close(const Vec& a, const Vec& b, double rtol = 2e-5, double atol = 2e-6) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!(std::fabs(a[i] - b[i]) <= atol + rtol * std::fabs(b[i]))) return false;
  return true;
}
bool close_f(const float* a, const Vec& b, double rtol = 2e-5, double atol = 2e-6) {
  return close(Vec(a, a + b.size()), b, rtol, atol);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// x -> A (tanh) -> B (linear) and A -> C (sigmoid), out = add(B, C); MSE, one SGD step.
// The gradient reaching A's output is the sum of B's and C's (fan-out).
RANVIER_TEST(graph_diamond_matches_a_hand_computed_reference) {
  const std::int64_t n = 5, fi = 4, h = 6, k = 3;
  const float lr = 0.1f;
  auto net = std::make_shared<ranvier::Network>();
  const int x = net->add_input(fi, "x");
  const int a = net->add_node(dense(fi, h, ranvier::ActKind::tanh), {x});
  const int b = net->add_node(dense(h, k), {a});
  const int c = net->add_node(dense(h, k, ranvier::ActKind::sigmoid), {a});
  const int out = net->add_node(merge(std::make_shared<TestAdd>(), {k, k}), {b, c});
  net->set_outputs({out});
  net->finalize();
  net->bind_all();
  fill_params(*net, 7);
  RANVIER_CHECK(net->num_inputs() == 1 && net->num_outputs() == 1 && net->output_features(0) == k, "shape");
  // the plan: A's output gradient is written by C's backward (the later consumer, first in
  // reverse order) and B's is added from a scratch
  const auto& plan = net->plan();
  RANVIER_CHECK(plan.grad_scratch[2][0] < 0 && plan.grad_scratch[1][0] >= 0, "fan-out scratch plan");

  const Vec WA = weights(*net, 0, 0), bA = weights(*net, 0, 1), WB = weights(*net, 1, 0), bB = weights(*net, 1, 1),
            WC = weights(*net, 2, 0), bC = weights(*net, 2, 1);
  const auto xs = values(static_cast<std::size_t>(n * fi), 1), ys = values(static_cast<std::size_t>(n * k), 2);
  const Vec X = to_double(xs), Y = to_double(ys);
  Vec tA = add_bias(matmul(X, WA, n, fi, h), bA, n, h);
  for (auto& v : tA) v = std::tanh(v);
  const Vec tB = add_bias(matmul(tA, WB, n, h, k), bB, n, k);
  Vec tC = add_bias(matmul(tA, WC, n, h, k), bC, n, k);
  for (auto& v : tC) v = 1.0 / (1.0 + std::exp(-v));
  Vec O(static_cast<std::size_t>(n * k));
  for (std::size_t i = 0; i < O.size(); ++i) O[i] = tB[i] + tC[i];

  std::vector<float> pred(static_cast<std::size_t>(n * k));
  net->predict(xs.data(), n, pred.data(), 2);  // batches of 2: the plan's buffers reused across batches
  RANVIER_CHECK(close_f(pred.data(), O), "predict differs from the reference");

  // loss and gradients (MSE: mean over columns, then over the batch)
  double L = 0.0;
  Vec dO(O.size());
  for (std::size_t i = 0; i < O.size(); ++i) {
    const double d = O[i] - Y[i];
    L += d * d / static_cast<double>(n * k);
    dO[i] = 2.0 * d / static_cast<double>(n * k);
  }
  Vec dzC(dO.size());
  for (std::size_t i = 0; i < dO.size(); ++i) dzC[i] = dO[i] * tC[i] * (1.0 - tC[i]);
  const Vec gWB = matmul_tn(tA, dO, n, h, k), gbB = col_sum(dO, n, k);
  const Vec gWC = matmul_tn(tA, dzC, n, h, k), gbC = col_sum(dzC, n, k);
  Vec dA = matmul_nt(dO, WB, n, k, h);
  const Vec dAc = matmul_nt(dzC, WC, n, k, h);
  for (std::size_t i = 0; i < dA.size(); ++i) dA[i] = (dA[i] + dAc[i]) * (1.0 - tA[i] * tA[i]);
  const Vec gWA = matmul_tn(X, dA, n, fi, h), gbA = col_sum(dA, n, h);

  auto opt = sgd(*net, lr);
  ranvier::Trainer tr(net, opt, {loss(ranvier::LossKind::mean_squared_error)}, MetricLists(1), MetricLists(1));
  const double got = tr.train_batch(ranvier::DataView::single(xs.data(), ys.data(), k, nullptr, n));
  RANVIER_CHECK(std::fabs(got - L) <= 1e-5 * L, "loss %g vs reference %g", got, L);
  RANVIER_CHECK(std::fabs(tr.output_mean_losses()[0] - L) <= 1e-5 * L, "output mean loss");
  const auto step = [&](const Vec& w, const Vec& g) {
    Vec r(w.size());
    for (std::size_t i = 0; i < w.size(); ++i) r[i] = w[i] - lr * g[i];
    return r;
  };
  RANVIER_CHECK(close(weights(*net, 0, 0), step(WA, gWA)), "A kernel after the step");
  RANVIER_CHECK(close(weights(*net, 0, 1), step(bA, gbA)), "A bias");
  RANVIER_CHECK(close(weights(*net, 1, 0), step(WB, gWB)), "B kernel");
  RANVIER_CHECK(close(weights(*net, 1, 1), step(bB, gbB)), "B bias");
  RANVIER_CHECK(close(weights(*net, 2, 0), step(WC, gWC)), "C kernel");
  RANVIER_CHECK(close(weights(*net, 2, 1), step(bC, gbC)), "C bias");
}

// a -> A1 (relu) -> A2 -> o1 and b -> B1 (softmax) -> o2 with loss weights 1 and 0.5 and
// sample weights on o2: one step equals the two chains trained apart, bit for bit.
RANVIER_TEST(graph_two_inputs_two_outputs_step_equals_the_chains) {
  const std::int64_t n = 7, fa = 5, fb = 3, h = 4, k1 = 2, k2 = 3;
  auto make_graph = [&] {
    auto net = std::make_shared<ranvier::Network>();
    const int a = net->add_input(fa, "a"), b = net->add_input(fb, "b");
    const int t1 = net->add_node(dense(fa, h, ranvier::ActKind::relu), {a});
    const int o1 = net->add_node(dense(h, k1), {t1});
    const int o2 = net->add_node(dense(fb, k2, ranvier::ActKind::softmax), {b});
    net->set_outputs({o1, o2});
    net->finalize();
    net->bind_all();
    return net;
  };
  auto g = make_graph();
  auto c1 = std::make_shared<ranvier::Network>();
  c1->add(dense(fa, h, ranvier::ActKind::relu));
  c1->add(dense(h, k1));
  c1->finalize(fa);
  c1->bind_all();
  auto c2 = std::make_shared<ranvier::Network>();
  c2->add(dense(fb, k2, ranvier::ActKind::softmax));
  c2->finalize(fb);
  c2->bind_all();
  fill_params(*g, 3);
  const std::int64_t n1 = c1->params().size();
  RANVIER_CHECK(n1 + c2->params().size() == g->params().size(), "param layout");
  std::memcpy(c1->params().data(), g->params().data(), sizeof(float) * static_cast<std::size_t>(n1));
  std::memcpy(c2->params().data(), g->params().data() + n1, sizeof(float) * static_cast<std::size_t>(c2->params().size()));

  const auto xa = values(static_cast<std::size_t>(n * fa), 11), xb = values(static_cast<std::size_t>(n * fb), 12);
  const auto y1 = values(static_cast<std::size_t>(n * k1), 13);
  std::vector<float> y2(static_cast<std::size_t>(n));  // sparse labels
  for (std::int64_t i = 0; i < n; ++i) y2[static_cast<std::size_t>(i)] = static_cast<float>(i % k2);
  std::vector<float> sw2(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) sw2[static_cast<std::size_t>(i)] = 0.25f + 0.5f * static_cast<float>(i % 3);

  // predict: both outputs, against the chains
  std::vector<float> p1(static_cast<std::size_t>(n * k1)), p2(static_cast<std::size_t>(n * k2)),
      q1(p1.size()), q2(p2.size());
  g->predict({xa.data(), xb.data()}, n, {p1.data(), p2.data()}, 3);
  c1->predict(xa.data(), n, q1.data(), 3);
  c2->predict(xb.data(), n, q2.data(), 3);
  RANVIER_CHECK(p1 == q1 && p2 == q2, "predict differs from the chains");

  const auto mse = loss(ranvier::LossKind::mean_squared_error, 1.0f);
  const auto sce = loss(ranvier::LossKind::sparse_categorical_crossentropy, 0.5f);
  ranvier::Trainer tg(g, sgd(*g, 0.05f), {mse, sce}, MetricLists(2), MetricLists(2));
  ranvier::Trainer t1(c1, sgd(*c1, 0.05f), mse, {}, {});
  ranvier::Trainer t2(c2, sgd(*c2, 0.05f), sce, {}, {});
  ranvier::DataView d;
  d.xs = {xa.data(), xb.data()};
  d.ys = {y1.data(), y2.data()};
  d.y_cols = {k1, 1};
  d.sample_weights = {nullptr, sw2.data()};
  d.n = n;
  const double lg = tg.train_batch(d);
  const double l1 = t1.train_batch(ranvier::DataView::single(xa.data(), y1.data(), k1, nullptr, n));
  const double l2 = t2.train_batch(ranvier::DataView::single(xb.data(), y2.data(), 1, sw2.data(), n));
  RANVIER_CHECK(std::fabs(lg - (l1 + l2)) <= 1e-12 * std::fabs(l1 + l2), "loss %.17g vs %.17g", lg, l1 + l2);
  const auto per = tg.output_mean_losses();
  RANVIER_CHECK(per.size() == 2 && std::fabs(per[0] - l1) <= 1e-12 * l1 && std::fabs(0.5 * per[1] - l2) <= 1e-12 * l2,
                "per-output losses (unweighted) %g %g vs %g %g", per[0], per[1], l1, 2 * l2);
  RANVIER_CHECK(std::memcmp(g->params().data(), c1->params().data(), sizeof(float) * static_cast<std::size_t>(n1)) == 0,
                "chain 1's weights differ after the step");
  RANVIER_CHECK(std::memcmp(g->params().data() + n1, c2->params().data(),
                            sizeof(float) * static_cast<std::size_t>(c2->params().size())) == 0,
                "chain 2's weights differ after the step");

  // a whole epoch, shuffled, in batches of 3 (the gather path): still the chains' result
  auto g2 = make_graph();
  std::memcpy(g2->params().data(), g->params().data(), sizeof(float) * static_cast<std::size_t>(g->params().size()));
  ranvier::Trainer te(g2, sgd(*g2, 0.05f), {mse, sce}, MetricLists(2), MetricLists(2));
  te.set_train_data(d, 3);
  te.begin_epoch(true, 42);
  te.run(100, 0.0);
  t1.set_train_data(ranvier::DataView::single(xa.data(), y1.data(), k1, nullptr, n), 3);
  t2.set_train_data(ranvier::DataView::single(xb.data(), y2.data(), 1, sw2.data(), n), 3);
  t1.begin_epoch(true, 42);
  t2.begin_epoch(true, 42);
  t1.run(100, 0.0);
  t2.run(100, 0.0);
  RANVIER_CHECK(std::memcmp(g2->params().data(), c1->params().data(), sizeof(float) * static_cast<std::size_t>(n1)) == 0 &&
                    std::memcmp(g2->params().data() + n1, c2->params().data(),
                                sizeof(float) * static_cast<std::size_t>(c2->params().size())) == 0,
                "an epoch differs from the chains'");
  RANVIER_CHECK(std::fabs(te.mean_loss() - (t1.mean_loss() + t2.mean_loss())) <= 1e-9, "epoch mean loss");
}

// Two inputs concatenated equal one chain over the concatenated rows, bit for bit.
RANVIER_TEST(graph_concat_of_two_inputs_equals_the_chain_on_joined_rows) {
  const std::int64_t n = 6, fa = 3, fb = 2, h = 4;
  auto g = std::make_shared<ranvier::Network>();
  const int a = g->add_input(fa), b = g->add_input(fb);
  const int cat = g->add_node(merge(std::make_shared<TestConcat>(), {fa, fb}), {a, b});
  const int t = g->add_node(dense(fa + fb, h, ranvier::ActKind::relu), {cat});
  g->add_node(dense(h, 1), {t});
  g->finalize();
  g->bind_all();
  auto c = std::make_shared<ranvier::Network>();
  c->add(dense(fa + fb, h, ranvier::ActKind::relu));
  c->add(dense(h, 1));
  c->finalize(fa + fb);
  c->bind_all();
  fill_params(*g, 5);
  std::memcpy(c->params().data(), g->params().data(), sizeof(float) * static_cast<std::size_t>(g->params().size()));
  const auto xa = values(static_cast<std::size_t>(n * fa), 21), xb = values(static_cast<std::size_t>(n * fb), 22);
  const auto y = values(static_cast<std::size_t>(n), 23);
  std::vector<float> joined;
  for (std::int64_t r = 0; r < n; ++r) {
    joined.insert(joined.end(), xa.begin() + r * fa, xa.begin() + (r + 1) * fa);
    joined.insert(joined.end(), xb.begin() + r * fb, xb.begin() + (r + 1) * fb);
  }
  ranvier::Trainer tg(g, sgd(*g, 0.1f), loss(ranvier::LossKind::mean_squared_error), {}, {});
  ranvier::Trainer tc(c, sgd(*c, 0.1f), loss(ranvier::LossKind::mean_squared_error), {}, {});
  ranvier::DataView d;
  d.xs = {xa.data(), xb.data()};
  d.ys = {y.data()};
  d.y_cols = {1};
  d.n = n;
  const double lg = tg.train_batch(d);
  const double lc = tc.train_batch(ranvier::DataView::single(joined.data(), y.data(), 1, nullptr, n));
  RANVIER_CHECK(lg == lc, "loss %.17g vs %.17g", lg, lc);
  RANVIER_CHECK(std::memcmp(g->params().data(), c->params().data(), sizeof(float) * static_cast<std::size_t>(c->params().size())) == 0,
                "weights differ after the step");
  // no gradient is computed for the graph inputs (the concat node needs none)
  RANVIER_CHECK(g->plan().run_backward[0] == 0, "the concat of two inputs needs no backward");
}

// A Dense applied to two inputs (a shared layer, Keras's layer called twice): one set of
// weights, its gradient the sum of both applications'.
RANVIER_TEST(graph_shared_layer_gradient_is_the_sum_of_its_calls) {
  const std::int64_t n = 4, f = 3, k = 2;
  const float lr = 0.2f;
  auto net = std::make_shared<ranvier::Network>();
  const int x1 = net->add_input(f, "x1"), x2 = net->add_input(f, "x2");
  const int s1 = net->add_node(dense(f, k), {x1});
  const int s2 = net->add_node(dense(f, k), {x2}, /*shares_with=*/0);
  const int out = net->add_node(merge(std::make_shared<TestAdd>(), {k, k}), {s1, s2});
  net->set_outputs({out});
  net->finalize();
  net->bind_all();
  RANVIER_CHECK(net->tensors().size() == 2, "the sharing node owns no slot (%zu slots)", net->tensors().size());
  RANVIER_CHECK(net->params().size() == f * k + k, "one set of weights");
  fill_params(*net, 9);
  const Vec W = weights(*net, 0, 0), bias = weights(*net, 0, 1);
  const auto a = values(static_cast<std::size_t>(n * f), 31), b = values(static_cast<std::size_t>(n * f), 32);
  const auto y = values(static_cast<std::size_t>(n * k), 33);
  const Vec A = to_double(a), B = to_double(b), Y = to_double(y);
  const Vec O1 = add_bias(matmul(A, W, n, f, k), bias, n, k), O2 = add_bias(matmul(B, W, n, f, k), bias, n, k);
  Vec O(O1.size()), dO(O1.size());
  for (std::size_t i = 0; i < O.size(); ++i) {
    O[i] = O1[i] + O2[i];
    dO[i] = 2.0 * (O[i] - Y[i]) / static_cast<double>(n * k);
  }
  std::vector<float> pred(static_cast<std::size_t>(n * k));
  net->predict({a.data(), b.data()}, n, {pred.data()}, n);
  RANVIER_CHECK(close_f(pred.data(), O), "predict: the second call does not use the shared weights");
  const Vec gW1 = matmul_tn(A, dO, n, f, k), gW2 = matmul_tn(B, dO, n, f, k), gb = col_sum(dO, n, k);
  ranvier::Trainer tr(net, sgd(*net, lr), loss(ranvier::LossKind::mean_squared_error), {}, {});
  ranvier::DataView d;
  d.xs = {a.data(), b.data()};
  d.ys = {y.data()};
  d.y_cols = {k};
  d.n = n;
  tr.train_batch(d);
  Vec wantW(W.size()), wantb(bias.size());
  for (std::size_t i = 0; i < W.size(); ++i) wantW[i] = W[i] - lr * (gW1[i] + gW2[i]);
  for (std::size_t i = 0; i < bias.size(); ++i) wantb[i] = bias[i] - lr * 2.0 * gb[i];
  RANVIER_CHECK(close(weights(*net, 0, 0), wantW), "shared kernel after the step");
  RANVIER_CHECK(close(weights(*net, 0, 1), wantb), "shared bias after the step");
  // a sharing node must match its owner's weights
  auto bad = std::make_shared<ranvier::Network>();
  const int i1 = bad->add_input(f), i2 = bad->add_input(f + 1);
  bad->add_node(dense(f, k), {i1});
  bad->add_node(dense(f + 1, k), {i2}, 0);
  const std::string msg = error_of([&] { bad->finalize(); });
  RANVIER_CHECK(msg.find("shares the weights") != std::string::npos && msg.find("Dense") != std::string::npos, "'%s'",
                msg.c_str());
}

// The plan reuses buffers: a long chain needs two activation buffers for predict and two
// gradient buffers for training (ping-pong), whatever its length.
RANVIER_TEST(graph_workspace_plan_reuses_buffers_on_a_long_chain) {
  auto net = std::make_shared<ranvier::Network>();
  const std::int64_t widths[] = {8, 16, 12, 16, 9, 16, 8};
  std::int64_t in = 8;
  for (int i = 0; i < 30; ++i) {
    const std::int64_t w = widths[i % 7];
    net->add(dense(in, w, ranvier::ActKind::tanh));
    in = w;
  }
  net->finalize(8);
  net->bind_all();
  const auto& p = net->plan();
  RANVIER_CHECK(p.act_widths.size() == 2, "%zu predict buffers for a chain of 30", p.act_widths.size());
  RANVIER_CHECK(p.grad_widths.size() == 2, "%zu gradient buffers for a chain of 30", p.grad_widths.size());
  for (auto w : p.act_widths) RANVIER_CHECK(w <= 16, "buffer wider than the widest tensor");
  RANVIER_CHECK(p.act_buffer[static_cast<std::size_t>(net->outputs()[0])] == -1, "the output goes to the caller's array");
  RANVIER_CHECK(p.grad_buffer[0] == -1, "no gradient for the graph input");
  // and it trains: the loss goes down over a few steps
  fill_params(*net, 4);
  for (std::int64_t i = 0; i < net->params().size(); ++i) net->params().data()[i] *= 0.6f;
  const std::int64_t n = 16;
  const auto x = values(static_cast<std::size_t>(n * 8), 41), y = values(static_cast<std::size_t>(n * in), 42);
  ranvier::Trainer tr(net, sgd(*net, 0.05f), loss(ranvier::LossKind::mean_squared_error), {}, {});
  const auto d = ranvier::DataView::single(x.data(), y.data(), in, nullptr, n);
  const double first = tr.train_batch(d);
  double last = first;
  for (int s = 0; s < 20; ++s) last = tr.train_batch(d);
  RANVIER_CHECK(last < first, "loss %g -> %g", first, last);
}

// A tensor that is an output and also feeds another node: its gradient is the loss's plus
// the consumer's, so the loss is not fused; an input listed as an output and a repeated
// output are copied in predict.
RANVIER_TEST(graph_output_with_a_consumer_and_repeated_outputs) {
  const std::int64_t n = 5, f = 3;
  auto make = [&](bool with_consumer) {
    auto net = std::make_shared<ranvier::Network>();
    const int x = net->add_input(f);
    const int h = net->add_node(dense(f, 4, ranvier::ActKind::softmax), {x});
    if (with_consumer) {
      const int o = net->add_node(dense(4, 2), {h});
      net->set_outputs({h, o});
    } else {
      net->set_outputs({h});
    }
    net->finalize();
    net->bind_all();
    return net;
  };
  // with the consumer's loss weighted 0, one step equals the single-output network's
  auto g = make(true), c = make(false);
  fill_params(*g, 8);
  std::memcpy(c->params().data(), g->params().data(), sizeof(float) * static_cast<std::size_t>(c->params().size()));
  const auto x = values(static_cast<std::size_t>(n * f), 51), y2 = values(static_cast<std::size_t>(n * 2), 52);
  std::vector<float> y1(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) y1[static_cast<std::size_t>(i)] = static_cast<float>(i % 4);
  const auto sce = loss(ranvier::LossKind::sparse_categorical_crossentropy);
  ranvier::Trainer tg(g, sgd(*g, 0.1f), {sce, loss(ranvier::LossKind::mean_squared_error, 0.0f)}, MetricLists(2),
                      MetricLists(2));
  ranvier::Trainer tc(c, sgd(*c, 0.1f), sce, {}, {});
  ranvier::DataView d;
  d.xs = {x.data()};
  d.ys = {y1.data(), y2.data()};
  d.y_cols = {1, 2};
  d.n = n;
  tg.train_batch(d);
  tc.train_batch(ranvier::DataView::single(x.data(), y1.data(), 1, nullptr, n));
  const Vec wg = weights(*g, 0, 0), wc = weights(*c, 0, 0);
  RANVIER_CHECK(close(wg, wc, 1e-5, 1e-7), "unfused loss gradient through a consumed output");

  // predict: [x, h, h] where x is a graph input
  auto net = std::make_shared<ranvier::Network>();
  const int xi = net->add_input(f);
  const int h = net->add_node(dense(f, 2), {xi});
  net->set_outputs({xi, h, h});
  net->finalize();
  net->bind_all();
  fill_params(*net, 2);
  std::vector<float> o0(static_cast<std::size_t>(n * f)), o1(static_cast<std::size_t>(n * 2)), o2(o1.size()), ref(o1.size());
  net->predict({x.data()}, n, {o0.data(), o1.data(), o2.data()}, 2);
  auto one = std::make_shared<ranvier::Network>();
  one->add(dense(f, 2));
  one->finalize(f);
  one->bind_all();
  std::memcpy(one->params().data(), net->params().data(), sizeof(float) * static_cast<std::size_t>(net->params().size()));
  one->predict(x.data(), n, ref.data(), 2);
  RANVIER_CHECK(std::vector<float>(x.begin(), x.end()) == o0 && o1 == ref && o2 == ref, "copied outputs");
}

// Bitwise the same result on 1 and 2 threads (the fan-out sums have a fixed order).
RANVIER_TEST(graph_training_is_bitwise_the_same_across_thread_counts) {
  const std::int64_t n = 64, f = 24, h = 48;
  std::vector<float> result[2];
  for (int run = 0; run < 2; ++run) {
    ranvier::set_num_threads(run + 1);
    auto net = std::make_shared<ranvier::Network>();
    const int x = net->add_input(f);
    const int a = net->add_node(dense(f, h, ranvier::ActKind::relu), {x});
    const int b = net->add_node(dense(h, h, ranvier::ActKind::relu), {a});
    const int c = net->add_node(dense(h, h, ranvier::ActKind::tanh), {a});
    const int s = net->add_node(merge(std::make_shared<TestAdd>(), {h, h, h}), {b, c, a});
    const int o = net->add_node(dense(h, 3, ranvier::ActKind::softmax), {s});
    net->set_outputs({o});
    net->finalize();
    net->bind_all();
    fill_params(*net, 12);
    const auto xs = values(static_cast<std::size_t>(n * f), 61);
    std::vector<float> ys(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) ys[static_cast<std::size_t>(i)] = static_cast<float>(i % 3);
    ranvier::Trainer tr(net, sgd(*net, 0.05f), loss(ranvier::LossKind::sparse_categorical_crossentropy), {}, {});
    tr.set_train_data(ranvier::DataView::single(xs.data(), ys.data(), 1, nullptr, n), 16);
    for (int e = 0; e < 2; ++e) {
      tr.begin_epoch(true, 100 + static_cast<std::uint64_t>(e));
      tr.run(1000, 0.0);
    }
    result[run].assign(net->params().data(), net->params().data() + net->params().size());
  }
  ranvier::set_num_threads(0);
  RANVIER_CHECK(result[0] == result[1], "1 and 2 threads differ");
}

RANVIER_TEST(graph_errors_name_the_input_or_layer) {
  {  // an unused graph input
    ranvier::Network net;
    const int a = net.add_input(3, "num");
    net.add_input(2, "cat");
    net.add_node(dense(3, 2), {a});
    const std::string m = error_of([&] { net.finalize(); });
    RANVIER_CHECK(m.find("'cat'") != std::string::npos && m.find("not used") != std::string::npos, "'%s'", m.c_str());
    RANVIER_CHECK(!net.finalized(), "finalized after an error");
  }
  {  // a width mismatch on a graph input
    ranvier::Network net;
    const int a = net.add_input(4, "num");
    net.add_node(dense(3, 2), {a});
    const std::string m = error_of([&] { net.finalize(); });
    RANVIER_CHECK(m.find("Dense") != std::string::npos && m.find("'num'") != std::string::npos &&
                      m.find('3') != std::string::npos && m.find('4') != std::string::npos,
                  "'%s'", m.c_str());
  }
  {  // a width mismatch between nodes, a merge's inputs
    ranvier::Network net;
    const int a = net.add_input(3);
    const int t = net.add_node(dense(3, 5), {a});
    const int u = net.add_node(dense(3, 4), {a});
    net.add_node(merge(std::make_shared<TestAdd>(), {5, 5}), {t, u});
    const std::string m = error_of([&] { net.finalize(); });
    RANVIER_CHECK(m.find("TestAdd") != std::string::npos && m.find("node 1 (Dense) produces 4") != std::string::npos,
                  "'%s'", m.c_str());
  }
  {  // one layer object in two nodes
    ranvier::Network net;
    const int a = net.add_input(3);
    auto d = dense(3, 3);
    const int t = net.add_node(d, {a});
    net.add_node(d, {t});
    const std::string m = error_of([&] { net.finalize(); });
    RANVIER_CHECK(m.find("node 1 (Dense) is the same layer object as node 0") != std::string::npos &&
                      m.find("shares_with=0") != std::string::npos,
                  "'%s'", m.c_str());
  }
  {  // a node whose output nothing uses
    ranvier::Network net;
    const int a = net.add_input(3);
    net.add_node(dense(3, 5), {a});
    const int o = net.add_node(dense(3, 1), {a});
    net.set_outputs({o});
    const std::string m = error_of([&] { net.finalize(); });
    RANVIER_CHECK(m.find("node 0 (Dense)") != std::string::npos && m.find("neither used") != std::string::npos, "'%s'",
                  m.c_str());
  }
  {  // tensors that do not exist yet, inputs after nodes, wrong input counts
    ranvier::Network net;
    const int a = net.add_input(3);
    std::string m = error_of([&] { net.add_node(dense(3, 2), {a + 1}); });
    RANVIER_CHECK(m.find("does not exist yet") != std::string::npos, "'%s'", m.c_str());
    net.add_node(dense(3, 2), {a});
    m = error_of([&] { net.add_input(2, "late"); });
    RANVIER_CHECK(m.find("inputs come first") != std::string::npos, "'%s'", m.c_str());
    net.add_node(dense(2, 2), {1, 1});
    m = error_of([&] { net.finalize(); });
    RANVIER_CHECK(m.find("takes 1 input(s), but is applied to 2") != std::string::npos, "'%s'", m.c_str());
    m = error_of([&] { net.set_outputs({7}); });
    RANVIER_CHECK(m.find("tensor 7") != std::string::npos, "'%s'", m.c_str());
  }
  {  // the trainer checks the data's structure
    auto net = std::make_shared<ranvier::Network>();
    const int a = net->add_input(2), b = net->add_input(2);
    net->add_node(merge(std::make_shared<TestAdd>(), {2, 2}), {a, b});
    net->finalize();
    ranvier::Trainer tr(net, sgd(*net, 0.1f), loss(ranvier::LossKind::mean_squared_error), {}, {});
    std::vector<float> x(4), y(4);
    const std::string m = error_of([&] { tr.train_batch(ranvier::DataView::single(x.data(), y.data(), 2, nullptr, 2)); });
    RANVIER_CHECK(m.find("2 input(s), got 1") != std::string::npos, "'%s'", m.c_str());
    const std::string m2 = error_of([&] {
      ranvier::Trainer bad(net, sgd(*net, 0.1f), {loss(ranvier::LossKind::mean_squared_error), loss(ranvier::LossKind::mean_squared_error)},
                           MetricLists(2), MetricLists(2));
    });
    RANVIER_CHECK(m2.find("1 output(s)") != std::string::npos, "'%s'", m2.c_str());
  }
}
