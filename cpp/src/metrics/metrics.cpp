// Metrics with Keras 3 semantics (keras/src/metrics/), accumulated in doubles. The kinds
// are one table (metrics.def): each row names its family, whose file holds the class and
// its factory (metrics_mean.cpp, metrics_confusion.cpp, metrics_auc.cpp,
// metrics_columns.cpp). Per-batch work is a plain loop over n x k floats; nothing is
// allocated in update() (per-column state is sized by prepare() or, standalone, by the
// first update).
#include "metrics/metrics.h"

#include <stdexcept>
#include <string>

#include "metrics/metrics_impl.h"

namespace ranvier {

const char* metric_kind_name(MetricKind kind) {
  switch (kind) {
#define RANVIER_METRIC(name, direction, family) \
  case MetricKind::name:                        \
    return #name;
#include "metrics/metrics.def"
  }
  return "unknown";
}

int metric_direction(MetricKind kind) {
  switch (kind) {
#define RANVIER_METRIC(name, direction, family) \
  case MetricKind::name:                        \
    return direction;
#include "metrics/metrics.def"
  }
  return 0;
}

bool metric_higher_is_better(MetricKind kind) { return metric_direction(kind) > 0; }

const std::vector<MetricKind>& all_metric_kinds() {
  static const std::vector<MetricKind> kinds = {
#define RANVIER_METRIC(name, direction, family) MetricKind::name,
  #include "metrics/metrics.def"
  };
  return kinds;
}

std::unique_ptr<Metric> make_metric(MetricKind kind, const MetricParams& p) {
  switch (kind) {
#define RANVIER_METRIC(name, direction, family) \
  case MetricKind::name:                        \
    return metrics_detail::make_##family##_metric(kind, p);
#include "metrics/metrics.def"
  }
  throw std::invalid_argument("make_metric: unknown metric kind " + std::to_string(static_cast<int>(kind)));
}

}  // namespace ranvier
