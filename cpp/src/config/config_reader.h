// io/config_reader: typed readers of Keras config objects (JSON), shared by everything that
// builds an object from its config (the layer table, the model-file loader). Each throws
// std::invalid_argument whose message starts with `where` and names the key; the callers
// add their own context (the model loader prefixes "invalid model file: ").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "config/json.h"
#include "ops/activations.h"

namespace ranvier {
namespace cfg {

std::string lower(std::string s);

// The number under `key` (def when missing or null); refuses other types and non-finite values.
double get_num(const json::Value& c, const char* key, double def, const std::string& where);
// The flag under `key` (def when missing or null); refuses other types.
bool get_bool(const json::Value& c, const char* key, bool def, const std::string& where);
// As get_num / get_bool, but a null is refused (naming the key) instead of read as the
// default: for constructor arguments Keras itself cannot take as None (float(None) fails).
double get_num_not_null(const json::Value& c, const char* key, double def, const std::string& where);
bool get_bool_not_null(const json::Value& c, const char* key, bool def, const std::string& where);
// The unsigned integer under `key` (def when missing or null).
std::uint64_t get_uint(const json::Value& c, const char* key, std::uint64_t def, const std::string& where);

// A value as Python's repr() shows it (None, True, 1.5, nan, 'text', [1, None]): error
// messages name a layer's arguments as Keras does ("Received: rate=1.5").
// Bounded to kShownMax bytes ("..." after a cut), control characters escaped.
constexpr std::size_t kShownMax = 200;
std::string shown(const json::Value& v);
std::string shown(double d);

// Keras activation identifier (a name such as "relu", null = linear, or a serialized
// function dict) -> kind and parameters. Names: the ActKind names plus Keras aliases
// ("swish", "hard_swish", ...).
void parse_activation(const json::Value& v, ActKind& kind, ActParams& params, const std::string& where);
const char* activation_name(ActKind kind);

}  // namespace cfg
}  // namespace ranvier
