// optimizers/: an optimizer's Keras-style JSON ({"module", "class_name", "config",
// "registered_name"}), read and written from the one list (optimizers.def).
#pragma once

#include <string>

#include "config/json.h"
#include "optimizers/optimizer.h"

namespace ranvier {

// A name ("adam", "Adam") or a {"class_name", "config"} object: Keras's defaults, then
// the config's values. Throws std::invalid_argument ("invalid model file: ...") naming
// what is wrong.
OptimizerConfig optimizer_from_json(const json::Value& serialized);
// `name` empty: the lower-case class name.
json::Value optimizer_to_json(const OptimizerConfig& c, const std::string& name);

}  // namespace ranvier
