// ranvier::Model's functional building (cpp/include/ranvier/model.hpp): inputs, layers
// called on tensors, a layer called again by name, the outputs. The model is an
// io::Architecture in Keras's functional layout, built into the graph network by
// io::build_network as a file's would be (and saved as Keras's functional config).
#include <stdexcept>
#include <string>
#include <vector>

#include "api/model_impl.h"
#include "layers/layer_table.h"

namespace ranvier {

namespace {

using TensorRef = io::LayerConfig::TensorRef;

// The tensor as a reference into the architecture, checked to exist.
TensorRef resolve(const io::Architecture& arch, const Model::Tensor& t, const char* what) {
  if (t.layer < 0) {
    const int i = -1 - t.layer;
    if (i >= static_cast<int>(arch.inputs.size()) || t.node != 0)
      throw std::invalid_argument(std::string(what) + ": the tensor is not one of this model's inputs");
    return TensorRef{t.layer, 0, 0};
  }
  if (t.layer >= static_cast<int>(arch.layers.size()) || t.node < 0 ||
      t.node >= static_cast<int>(arch.layers[static_cast<std::size_t>(t.layer)].nodes.size()))
    throw std::invalid_argument(std::string(what) + ": the tensor is not one of this model's layer outputs");
  return TensorRef{t.layer, t.node, 0};
}

io::LayerConfig::Node node_of(const io::Architecture& arch, const std::vector<Model::Tensor>& inputs,
                              const char* what) {
  if (inputs.empty()) throw std::invalid_argument(std::string(what) + ": a layer is called on at least one tensor");
  io::LayerConfig::Node n;
  for (const auto& t : inputs) {
    n.inputs.push_back(resolve(arch, t, what));
    n.shapes.emplace_back();
  }
  return n;
}

}  // namespace

Model::Tensor Model::add_input(const std::string& name, const std::vector<std::int64_t>& shape,
                               const std::string& dtype) {
  Impl& m = *impl_;
  if (m.net) throw std::logic_error("Model.add_input: the model is already built");
  if (!m.arch.functional && (!m.arch.layers.empty() || !m.arch.input_shape.empty()))
    throw std::logic_error("Model.add_input: this model is built with input()/add() (a chain); a functional "
                           "model starts with add_input()");
  if (name.empty()) throw std::invalid_argument("Model.add_input: the input needs a name");
  if (shape.empty()) throw std::invalid_argument("Model.add_input: input '" + name + "': the shape is empty");
  for (auto d : shape)
    if (d <= 0) throw std::invalid_argument("Model.add_input: input '" + name + "': dimensions must be positive");
  if (dtype != "float32" && dtype != "string" && dtype != "int64")
    throw std::invalid_argument("Model.add_input: input '" + name + "': dtype must be float32, string or int64, got '" +
                                dtype + "'");
  for (const auto& in : m.arch.inputs)
    if (in.name == name) throw std::invalid_argument("Model.add_input: an input is already named '" + name + "'");
  for (const auto& l : m.arch.layers)
    if (l.name == name) throw std::invalid_argument("Model.add_input: a layer is already named '" + name + "'");
  m.arch.functional = true;
  m.arch.name = "functional";
  m.arch.inputs.push_back(io::GraphInput{name, shape, dtype});
  if (m.arch.inputs.size() == 1) m.arch.input_shape = shape;
  m.name_counts[name] = 1;
  return Tensor{-static_cast<int>(m.arch.inputs.size()), 0};
}

Model::Tensor Model::call(const LayerSpec& layer, const std::vector<Tensor>& inputs) {
  Impl& m = *impl_;
  if (m.net) throw std::logic_error("Model.call: the model is already built");
  if (!m.arch.functional) throw std::logic_error("Model.call: start a functional model with add_input()");
  io::LayerConfig lc = m.layer_config(layer, "Model.call");
  check_layer_config(lc.class_name, lc.config);  // the constructor's checks, at the call
  lc.nodes.push_back(node_of(m.arch, inputs, "Model.call"));
  m.arch.layers.push_back(std::move(lc));
  m.seeds.push_back(0);
  return Tensor{static_cast<int>(m.arch.layers.size()) - 1, 0};
}

Model::Tensor Model::call(const std::string& layer_name, const std::vector<Tensor>& inputs) {
  Impl& m = *impl_;
  if (m.net) throw std::logic_error("Model.call: the model is already built");
  for (std::size_t i = 0; i < m.arch.layers.size(); ++i) {
    io::LayerConfig& lc = m.arch.layers[i];
    if (lc.name != layer_name) continue;
    lc.nodes.push_back(node_of(m.arch, inputs, "Model.call"));
    return Tensor{static_cast<int>(i), static_cast<int>(lc.nodes.size()) - 1};
  }
  throw std::invalid_argument("Model.call: the model has no layer named '" + layer_name + "' to call again");
}

void Model::set_outputs(const std::vector<Tensor>& outputs) {
  Impl& m = *impl_;
  if (m.net) throw std::logic_error("Model.set_outputs: the model is already built");
  if (!m.arch.functional) throw std::logic_error("Model.set_outputs: start a functional model with add_input()");
  if (outputs.empty()) throw std::invalid_argument("Model.set_outputs: a model needs at least one output");
  std::vector<TensorRef> refs;
  std::vector<std::string> names;
  for (const auto& t : outputs) {
    refs.push_back(resolve(m.arch, t, "Model.set_outputs"));
    names.push_back(t.layer < 0 ? m.arch.inputs[static_cast<std::size_t>(-1 - t.layer)].name
                                : m.arch.layers[static_cast<std::size_t>(t.layer)].name);
  }
  m.arch.outputs = refs;
  m.arch.output_names = names;
}

}  // namespace ranvier
