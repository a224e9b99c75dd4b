// Losses from their Keras-style JSON: a name ("mse", "categorical_crossentropy", ...) or a
// serialized loss {"class_name": "Huber", "config": {"delta": 2.0, ...}}, as ranvier's
// model files and the C++ API name them. Names, class names and aliases are the rows of
// kernels/f32-vloss/losses.def.
#pragma once

#include <cstdint>

#include "config/json.h"
#include "losses/losses.h"

namespace ranvier {

// Loss identifier (a name or {"class_name", "config"}); `out_features`/`y_cols` resolve
// "crossentropy"/"ce" as Keras does (y_cols 0: unknown yet -> categorical). Every value
// is type-checked; errors are std::invalid_argument ("invalid model file: ...").
LossSpec loss_from_json(const json::Value& loss, std::int64_t out_features, std::int64_t y_cols);
bool loss_is_sparse(const LossSpec& s);

}  // namespace ranvier
