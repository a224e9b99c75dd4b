// ranvier::Model's raw keys (cpp/include/ranvier/model.hpp): the StringLookup /
// IntegerLookup layers' encode step, which runs on the keys before the network (as Python's
// predict runs it), by layer name or by the graph input the keys are for.
#include <algorithm>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "api/model_impl.h"
#include "layers/lookup.h"

namespace ranvier {

namespace {

// The lookup layer `name` ("" = the first layer) of a built model (node_names: each network
// node's layer name; a graph's layer called twice: its first node).
const IndexLookup& lookup_layer(const std::vector<std::string>& node_names, const Network& net,
                                const std::string& name, bool strings) {
  const auto& layers = net.layers();
  std::size_t i = 0;
  if (!name.empty()) {
    while (i < node_names.size() && node_names[i] != name) ++i;
    if (i == node_names.size()) throw std::invalid_argument("encode: the model has no layer named '" + name + "'");
  }
  if (i >= layers.size()) throw std::invalid_argument("encode: the model has no layers");
  const auto* l = dynamic_cast<const IndexLookup*>(layers[i].get());
  const std::string which = name.empty() ? "the first layer" : "layer '" + name + "'";
  if (!l) throw std::invalid_argument("encode: " + which + " is not a StringLookup or IntegerLookup");
  if (l->string_keys() != strings)
    throw std::invalid_argument("encode: " + which + " is " + (strings ? "an IntegerLookup: encode_ints" :
                                "a StringLookup: encode_strings") + " takes its keys");
  return *l;
}

void check_encode_args(const void* keys, std::int64_t n, const float* out) {
  if (n < 0) throw std::invalid_argument("encode: n must be >= 0");
  if (n > 0 && (!keys || !out)) throw std::invalid_argument("encode: keys and out must not be null");
}

}  // namespace

void Model::encode_strings(const std::string* keys, std::int64_t n, float* out, const std::string& layer) const {
  build_if_needed();
  check_encode_args(keys, n, out);
  lookup_layer(impl_->node_names, *impl_->net, layer, true).encode(keys, n, out);
}

void Model::encode_strings(const char* const* keys, const std::int64_t* lens, std::int64_t n, float* out,
                           const std::string& layer) const {
  build_if_needed();
  check_encode_args(keys, n, out);
  const IndexLookup& l = lookup_layer(impl_->node_names, *impl_->net, layer, true);
  std::vector<std::string_view> views(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    if (!keys[i]) throw std::invalid_argument("encode_strings: key " + std::to_string(i) + " is null");
    if (lens && lens[i] < 0) throw std::invalid_argument("encode_strings: lens[" + std::to_string(i) + "] is negative");
    views[static_cast<std::size_t>(i)] =
        lens ? std::string_view(keys[i], static_cast<std::size_t>(lens[i])) : std::string_view(keys[i]);
  }
  l.encode(views.data(), n, out);
}

std::vector<float> Model::encode_strings(const std::vector<std::string>& keys, const std::string& layer) const {
  std::vector<float> out(keys.size());
  encode_strings(keys.data(), static_cast<std::int64_t>(keys.size()), out.data(), layer);
  return out;
}

void Model::encode_ints(const std::int64_t* keys, std::int64_t n, float* out, const std::string& layer) const {
  build_if_needed();
  check_encode_args(keys, n, out);
  lookup_layer(impl_->node_names, *impl_->net, layer, false).encode(keys, n, out);
}

namespace {

// The lookup layer graph input `input` feeds (all its consumers must be lookups that encode
// alike: the same layer called twice, or one consumer).
const IndexLookup& input_lookup(const Model& m, const Network& net, int input, bool strings, const char* what) {
  const std::string where = std::string(what) + ": input '" + m.input_name(input) + "' (dtype " +
                            m.input_dtype(input) + ")";
  const IndexLookup* found = nullptr;
  for (const auto& node : net.nodes()) {
    if (std::find(node.inputs.begin(), node.inputs.end(), input) == node.inputs.end()) continue;
    const auto* l = dynamic_cast<const IndexLookup*>(node.layer.get());
    if (!l) throw std::invalid_argument(where + " feeds a " + node.layer->type_name() + " layer, not a lookup: it takes floats");
    if (found && node.shares_with < 0)
      throw std::invalid_argument(where + " feeds several lookup layers; encode its keys through each layer by name "
                                  "(encode_strings / encode_ints)");
    if (!found) found = l;
  }
  if (!found) throw std::invalid_argument(where + " feeds no IntegerLookup / StringLookup layer: it takes floats");
  if (found->string_keys() != strings)
    throw std::invalid_argument(where + " feeds " + (strings ? "an IntegerLookup: encode_input_ints" :
                                "a StringLookup: encode_input_strings") + " takes its keys");
  return *found;
}

}  // namespace

void Model::encode_input_strings(int input, const char* const* keys, const std::int64_t* lens, std::int64_t n,
                                 float* out) const {
  impl_->check_input_index(input, "encode_input_strings");
  build_if_needed();
  check_encode_args(keys, n, out);
  const IndexLookup& l = input_lookup(*this, *impl_->net, input, true, "encode_input_strings");
  std::vector<std::string_view> views(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    if (!keys[i]) throw std::invalid_argument("encode_input_strings: key " + std::to_string(i) + " is null");
    if (lens && lens[i] < 0)
      throw std::invalid_argument("encode_input_strings: lens[" + std::to_string(i) + "] is negative");
    views[static_cast<std::size_t>(i)] =
        lens ? std::string_view(keys[i], static_cast<std::size_t>(lens[i])) : std::string_view(keys[i]);
  }
  l.encode(views.data(), n, out);
}

std::vector<float> Model::encode_input_strings(int input, const std::vector<std::string>& keys) const {
  impl_->check_input_index(input, "encode_input_strings");
  build_if_needed();
  std::vector<float> out(keys.size());
  input_lookup(*this, *impl_->net, input, true, "encode_input_strings")
      .encode(keys.data(), static_cast<std::int64_t>(keys.size()), out.data());
  return out;
}

void Model::encode_input_ints(int input, const std::int64_t* keys, std::int64_t n, float* out) const {
  impl_->check_input_index(input, "encode_input_ints");
  build_if_needed();
  check_encode_args(keys, n, out);
  input_lookup(*this, *impl_->net, input, false, "encode_input_ints").encode(keys, n, out);
}

}  // namespace ranvier
