// io/graph_arch: functional models in the model file. Keras's functional config (layers
// with inbound_nodes whose tensors carry keras_history [layer, node, tensor], input_layers,
// output_layers) parsed and checked, and written back. io/graph_build.cpp replays it into the
// C++ graph network (Network::add_input / add_node / set_outputs).
//
// Every reference is resolved here, and the replay (Keras's from_config order: passes over
// the layers, each adding its pending calls while their inputs exist) is run once without
// widths: a pass that adds nothing means a cycle.
#include <algorithm>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

#include "io/model_io.h"

namespace ranvier {
namespace io {

namespace {

using json::Value;
using TensorRef = LayerConfig::TensorRef;

[[noreturn]] void bad(const std::string& msg) { throw std::invalid_argument("invalid model file: " + msg); }

std::string layer_where(const LayerConfig& lc) { return "layer '" + lc.name + "' (" + lc.class_name + ")"; }

bool is_model_class(const std::string& c) { return c == "Functional" || c == "Model" || c == "Sequential"; }

// The dimensions of a shape [null, d, ...] (the batch dimension first), each known and in range.
std::vector<std::int64_t> read_shape(const Value* bs, const std::string& where) {
  if (!bs || !bs->is_array() || bs->as_array().size() < 2) bad(where + " needs a batch_shape [null, d, ...]");
  std::vector<std::int64_t> shape;
  std::uint64_t prod = 1;
  const auto& dims = bs->as_array();
  for (std::size_t i = 1; i < dims.size(); ++i) {
    if (dims[i].is_null()) bad(where + ": dimension " + std::to_string(i) + " is unknown (null); ranvier needs every "
                               "feature dimension");
    std::uint64_t d = 0;
    try {
      d = dims[i].as_uint("input dimension");
    } catch (const std::invalid_argument& e) {
      bad(where + ": " + e.what());
    }
    if (d == 0 || d > (std::uint64_t{1} << 40) || prod > (std::uint64_t{1} << 40) / d)
      bad(where + ": input dimension out of range");
    prod *= d;
    shape.push_back(static_cast<std::int64_t>(d));
  }
  return shape;
}

// A keras_history triple [name, node, tensor] (also the leaves of input_layers/output_layers).
struct Triple {
  std::string name;
  std::uint64_t node = 0, tensor = 0;
};

bool is_triple(const Value& v) {
  return v.is_array() && v.as_array().size() >= 3 && v.as_array().size() <= 4 && v.as_array()[0].is_string() &&
         v.as_array()[1].is_number() && v.as_array()[2].is_number();
}

Triple read_triple(const Value& v, const std::string& where) {
  if (!is_triple(v)) bad(where + ": expected [layer name, node index, tensor index]");
  Triple t;
  t.name = v.as_array()[0].as_string();
  try {
    t.node = v.as_array()[1].as_uint("node index");
    t.tensor = v.as_array()[2].as_uint("tensor index");
  } catch (const std::invalid_argument& e) {
    bad(where + ": " + e.what());
  }
  return t;
}

// input_layers / output_layers: a triple, a list of them or a dict of them (sorted keys, as
// Keras flattens a dict). keys: the dict key per leaf ("" when not a dict).
void flatten_structure(const Value& v, const std::string& where, std::vector<Triple>& out,
                       std::vector<std::string>& keys) {
  if (is_triple(v)) {
    out.push_back(read_triple(v, where));
    keys.emplace_back();
  } else if (v.is_array()) {
    for (const auto& e : v.as_array()) {
      if (!is_triple(e)) bad(where + ": each entry must be [layer name, node index, tensor index]");
      out.push_back(read_triple(e, where));
      keys.emplace_back();
    }
  } else if (v.is_object()) {
    std::vector<std::pair<std::string, const Value*>> items;
    for (const auto& kv : v.as_object()) items.emplace_back(kv.first, &kv.second);
    std::sort(items.begin(), items.end(),
              [](const std::pair<std::string, const Value*>& a, const std::pair<std::string, const Value*>& b) {
                return a.first < b.first;
              });
    for (const auto& kv : items) {
      out.push_back(read_triple(*kv.second, where + " '" + kv.first + "'"));
      keys.push_back(kv.first);
    }
  } else {
    bad(where + " must be [layer, node, tensor], a list or a dict of them");
  }
  if (out.empty()) bad(where + " is empty");
}

// A tensor's "shape" [null, d, ...] without the batch axis; empty when absent or not fully
// known (then the graph's width is used).
std::vector<std::int64_t> read_tensor_shape(const Value* shape, const std::string& where) {
  std::vector<std::int64_t> dims;
  if (!shape || !shape->is_array() || shape->as_array().size() < 2) return dims;
  std::uint64_t prod = 1;
  const auto& a = shape->as_array();
  for (std::size_t i = 1; i < a.size(); ++i) {
    if (a[i].is_null()) return {};
    std::uint64_t d = 0;
    try {
      d = a[i].as_uint("tensor shape dimension");
    } catch (const std::invalid_argument& e) {
      bad(where + ": " + e.what());
    }
    if (d == 0 || d > (std::uint64_t{1} << 40) || prod > (std::uint64_t{1} << 40) / d)
      bad(where + ": tensor shape dimension out of range");
    prod *= d;
    dims.push_back(static_cast<std::int64_t>(d));
  }
  return dims;
}

// The keras_history of one tensor argument: {"class_name": "__keras_tensor__", "config":
// {"shape": [...], "keras_history": [...]}}, or a legacy [name, node, tensor, kwargs] entry.
Triple read_tensor_arg(const Value& v, const std::string& where, std::vector<std::int64_t>* shape) {
  if (is_triple(v)) return read_triple(v, where);
  if (!v.is_object()) bad(where + ": expected a tensor ({\"class_name\": \"__keras_tensor__\", ...})");
  const Value* cls = v.find("class_name");
  if (!cls || !cls->is_string() || cls->as_string() != "__keras_tensor__")
    bad(where + ": only tensors can be passed to a layer here (class_name \"__keras_tensor__\")");
  const Value* cfg = v.find("config");
  const Value* h = cfg && cfg->is_object() ? cfg->find("keras_history") : nullptr;
  if (!h) bad(where + ": the tensor has no keras_history");
  *shape = read_tensor_shape(cfg->find("shape"), where);
  return read_triple(*h, where + ": keras_history");
}

// The tensors of one call (inbound node), in order; a list argument (a merge layer) and
// single tensors read alike.
std::vector<Triple> read_node(const Value& node, const std::string& where,
                              std::vector<std::vector<std::int64_t>>& shapes) {
  std::vector<Triple> out;
  const auto arg = [&](const Value& e) {
    if (out.size() >= 4096) bad(where + " passes more than 4096 tensors");
    shapes.emplace_back();
    out.push_back(read_tensor_arg(e, where, &shapes.back()));
  };
  if (node.is_array()) {  // legacy: [[name, node, tensor, kwargs], ...]
    for (const auto& e : node.as_array()) arg(e);
  } else if (node.is_object()) {
    const Value* args = node.find("args");
    if (!args || !args->is_array()) bad(where + ": 'args' must be a list");
    for (const auto& a : args->as_array()) {
      if (a.is_array() && !is_triple(a)) {
        for (const auto& e : a.as_array()) arg(e);
      } else {
        arg(a);
      }
    }
    if (const Value* kw = node.find("kwargs")) {
      if (!kw->is_object() && !kw->is_null()) bad(where + ": 'kwargs' must be an object");
      if (kw->is_object())
        for (const auto& kv : kw->as_object()) {
          const Value& x = kv.second;
          if (x.is_object() && x.find("class_name") && x.find("config"))
            bad(where + ": keyword argument '" + kv.first + "' passes a tensor; ranvier's layers take their "
                "tensors as positional arguments");
        }
    }
  } else {
    bad(where + " must be {\"args\": [...], \"kwargs\": {...}}");
  }
  if (out.empty()) bad(where + " passes no tensor");
  return out;
}

// A layer entry's build_config input_shape: the width (a single input) or the widths (a list
// of shapes: a multi-input layer).
void read_build_config(LayerConfig& L) {
  const Value* bc = &L.build_config;
  if (bc->is_null()) return;
  const std::string where = "architecture: " + layer_where(L) + ": build_config";
  if (!bc->is_object()) bad(where + " must be an object");
  const Value* is = bc->find("input_shape");
  if (!is || is->is_null()) return;
  if (!is->is_array() || is->as_array().empty()) bad(where + ": input_shape must be [null, d, ...]");
  const auto width_of = [&](const Value& shape) { return input_shape_widths(shape, where); };
  if (is->as_array()[0].is_array()) {  // a list of shapes (a merge layer: the graph's widths are whole samples)
    if (is->as_array().size() > 4096) bad(where + ": too many input shapes");
    for (const auto& s : is->as_array()) L.built_in_widths.push_back(width_of(s).second);
  } else {
    const auto w = width_of(*is);
    L.built_in_features = L.class_name == "Flatten" ? w.second : w.first;
    L.built_in_sample = w.second;
  }
}

}  // namespace

// The nodes of `a` in replay order, as Keras's functional_from_config adds them: passes
// over the layers in order, each layer adding its pending calls in order until one needs a
// tensor not made yet. A pass that adds nothing is a cycle (or a call waiting for a call
// that never happens), refused naming the call and what it waits for.
std::vector<std::pair<int, int>> replay_order(const Architecture& a, const std::string& where) {
  std::vector<std::pair<int, int>> order;
  std::vector<std::size_t> next(a.layers.size(), 0);
  std::size_t remaining = 0;
  for (const auto& l : a.layers) remaining += l.nodes.size();
  const auto ready = [&](const TensorRef& r) {
    return r.layer < 0 || next[static_cast<std::size_t>(r.layer)] > static_cast<std::size_t>(r.node);
  };
  while (remaining) {
    bool progress = false;
    for (std::size_t li = 0; li < a.layers.size(); ++li) {
      const auto& nodes = a.layers[li].nodes;
      while (next[li] < nodes.size() &&
             std::all_of(nodes[next[li]].inputs.begin(), nodes[next[li]].inputs.end(), ready)) {
        order.emplace_back(static_cast<int>(li), static_cast<int>(next[li]));
        ++next[li];
        --remaining;
        progress = true;
      }
    }
    if (!progress) {
      for (std::size_t li = 0; li < a.layers.size(); ++li) {
        const auto& nodes = a.layers[li].nodes;
        if (next[li] >= nodes.size()) continue;
        for (const auto& r : nodes[next[li]].inputs) {
          if (ready(r)) continue;
          const LayerConfig& w = a.layers[static_cast<std::size_t>(r.layer)];
          bad(where + ": the graph has a cycle: " + layer_where(a.layers[li]) + ", call " +
              std::to_string(next[li]) + ", needs the output of '" + w.name + "' call " + std::to_string(r.node) +
              ", which itself depends on it");
        }
      }
      bad(where + ": the graph has a cycle");
    }
  }
  return order;
}

Architecture parse_functional(const Value& arch, int depth) {
  if (depth > kMaxNesting) bad("architecture: models nest more than " + std::to_string(kMaxNesting) + " deep");
  if (!arch.is_object()) bad("architecture must be a JSON object");
  const Value* cfg = arch.find("config");
  if (!cfg || !cfg->is_object()) bad("architecture: 'config' must be an object");
  Architecture a;
  a.functional = true;
  a.name = "functional";
  if (const Value* n = cfg->find("name"); n && n->is_string()) a.name = n->as_string();
  const std::string mwhere = "architecture: the functional config of model '" + a.name + "'";
  const Value* layers = cfg->find("layers");
  if (!layers || !layers->is_array()) bad(mwhere + ": 'layers' must be an array");
  if (layers->as_array().size() > kMaxLayers)
    bad(mwhere + ": " + std::to_string(layers->as_array().size()) + " layers; a model file may hold at most " +
        std::to_string(kMaxLayers));

  // Every entry: an InputLayer (a graph input) or a layer (a nested model included).
  struct Entry {
    bool input = false;
    int index = 0;  // in a.inputs (declared order) or a.layers
    std::size_t calls = 0;
  };
  std::unordered_map<std::string, Entry> by_name;
  std::vector<GraphInput> declared;
  std::vector<const Value*> node_lists;  // per a.layers entry
  for (const auto& l : layers->as_array()) {
    if (!l.is_object()) bad(mwhere + ": each layer must be an object");
    const Value* c = l.find("class_name");
    const Value* lc = l.find("config");
    if (!c || !c->is_string()) bad(mwhere + ": a layer has no class_name");
    if (!lc || !lc->is_object()) bad(mwhere + ": layer '" + c->as_string() + "' has no config object");
    const Value* en = l.find("name");
    const Value* cn = lc->find("name");
    std::string name = en && en->is_string() ? en->as_string() : (cn && cn->is_string() ? cn->as_string() : "");
    if (name.empty()) bad(mwhere + ": a layer of class " + c->as_string() + " has no name");
    if (en && cn && en->is_string() && cn->is_string() && en->as_string() != cn->as_string())
      bad(mwhere + ": layer '" + en->as_string() + "' has another name in its config ('" + cn->as_string() + "')");
    if (by_name.count(name)) bad(mwhere + ": two layers are named '" + name + "'");
    const Value* nodes = l.find("inbound_nodes");
    if (nodes && !nodes->is_array()) bad(mwhere + ": layer '" + name + "': 'inbound_nodes' must be a list");
    if (c->as_string() == "InputLayer") {
      if (nodes && !nodes->as_array().empty()) bad(mwhere + ": InputLayer '" + name + "' cannot have inbound nodes");
      GraphInput gi;
      gi.name = name;
      const Value* bs = lc->find("batch_shape");
      if (!bs) bs = lc->find("batch_input_shape");
      gi.shape = read_shape(bs, mwhere + ": InputLayer '" + name + "'");
      if (const Value* dt = lc->find("dtype"); dt && dt->is_string()) gi.dtype = dt->as_string();
      by_name[name] = Entry{true, static_cast<int>(declared.size()), 1};
      declared.push_back(std::move(gi));
      continue;
    }
    LayerConfig L;
    L.class_name = c->as_string();
    L.name = name;
    L.config = *lc;
    if (const Value* b = l.find("build_config")) L.build_config = *b;
    if (is_model_class(L.class_name)) {
      if (L.class_name == "Sequential") {
        Architecture inner = parse_architecture(l);
        // a chain: one input, each layer called on the previous one
        Architecture g;
        g.functional = true;
        g.name = inner.name;
        g.input_shape = inner.input_shape;
        g.inputs.push_back(GraphInput{inner.name + "_input", inner.input_shape, "float32"});
        for (std::size_t i = 0; i < inner.layers.size(); ++i) {
          LayerConfig ic = inner.layers[i];
          LayerConfig::Node n;
          n.inputs.push_back(i == 0 ? TensorRef{-1, 0, 0} : TensorRef{static_cast<int>(i) - 1, 0, 0});
          n.shapes.emplace_back();
          ic.nodes.push_back(n);
          g.layers.push_back(std::move(ic));
        }
        if (g.layers.empty()) bad(mwhere + ": the nested Sequential '" + name + "' has no layers");
        g.outputs.push_back(TensorRef{static_cast<int>(g.layers.size()) - 1, 0, 0});
        g.output_names.push_back(g.layers.back().name);
        L.nested = std::make_shared<const Architecture>(std::move(g));
      } else {
        L.nested = std::make_shared<const Architecture>(parse_functional(l, depth + 1));
      }
    } else {
      read_build_config(L);
    }
    by_name[name] = Entry{false, static_cast<int>(a.layers.size()), nodes ? nodes->as_array().size() : 0};
    node_lists.push_back(nodes);
    a.layers.push_back(std::move(L));
  }

  // The model's inputs (input_layers, flattened) and outputs.
  const Value* il = cfg->find("input_layers");
  const Value* ol = cfg->find("output_layers");
  if (!il) bad(mwhere + ": 'input_layers' is missing");
  if (!ol) bad(mwhere + ": 'output_layers' is missing");
  std::vector<Triple> ins, outs;
  std::vector<std::string> in_keys, out_keys;
  flatten_structure(*il, mwhere + ": input_layers", ins, in_keys);
  flatten_structure(*ol, mwhere + ": output_layers", outs, out_keys);
  std::vector<int> input_of_declared(declared.size(), -1);  // declared input -> position in a.inputs
  for (const auto& t : ins) {
    const auto it = by_name.find(t.name);
    if (it == by_name.end() || !it->second.input)
      bad(mwhere + ": input_layers names '" + t.name + "', which is not an InputLayer of the model");
    if (t.node != 0 || t.tensor != 0) bad(mwhere + ": input_layers: '" + t.name + "' has one tensor, [" + t.name +
                                          ", 0, 0]");
    int& pos = input_of_declared[static_cast<std::size_t>(it->second.index)];
    if (pos >= 0) bad(mwhere + ": input_layers names '" + t.name + "' twice");
    pos = static_cast<int>(a.inputs.size());
    a.inputs.push_back(declared[static_cast<std::size_t>(it->second.index)]);
  }
  for (std::size_t i = 0; i < declared.size(); ++i)
    if (input_of_declared[i] < 0)
      bad(mwhere + ": InputLayer '" + declared[i].name + "' is not in input_layers");
  a.input_shape = a.inputs.front().shape;

  // A reference [name, node, tensor] resolved and range-checked.
  const auto resolve = [&](const Triple& t, const std::string& where) -> TensorRef {
    const auto it = by_name.find(t.name);
    if (it == by_name.end()) bad(where + " refers to '" + t.name + "', which is no layer of the model");
    const Entry& e = it->second;
    if (e.input) {
      if (t.node != 0 || t.tensor != 0)
        bad(where + " refers to " + t.name + "[" + std::to_string(t.node) + "][" + std::to_string(t.tensor) +
            "], but the InputLayer '" + t.name + "' has one tensor, [0][0]");
      return TensorRef{-1 - input_of_declared[static_cast<std::size_t>(e.index)], 0, 0};
    }
    if (t.node >= e.calls)
      bad(where + " refers to call " + std::to_string(t.node) + " of layer '" + t.name + "', which is called " +
          std::to_string(e.calls) + " time(s)");
    const LayerConfig& target = a.layers[static_cast<std::size_t>(e.index)];
    const std::uint64_t n_out = target.nested ? target.nested->outputs.size() : 1;
    if (t.tensor >= n_out)
      bad(where + " refers to output " + std::to_string(t.tensor) + " of layer '" + t.name + "', which has " +
          std::to_string(n_out));
    return TensorRef{e.index, static_cast<int>(t.node), static_cast<int>(t.tensor)};
  };

  std::size_t total_nodes = 0;
  for (std::size_t li = 0; li < a.layers.size(); ++li) {
    LayerConfig& L = a.layers[li];
    const Value* nodes = node_lists[li];
    if (!nodes || nodes->as_array().empty())
      bad(mwhere + ": " + layer_where(L) + " is never called (no inbound_nodes)");
    total_nodes += nodes->as_array().size();
    if (total_nodes > kMaxNodes)
      bad(mwhere + ": more than " + std::to_string(kMaxNodes) + " layer calls; a model file may hold at most that");
    for (std::size_t k = 0; k < nodes->as_array().size(); ++k) {
      const std::string where = mwhere + ": " + layer_where(L) + ", call " + std::to_string(k);
      LayerConfig::Node n;
      for (const auto& t : read_node(nodes->as_array()[k], where, n.shapes)) n.inputs.push_back(resolve(t, where));
      L.nodes.push_back(std::move(n));
    }
  }
  for (std::size_t j = 0; j < outs.size(); ++j) {
    const TensorRef r = resolve(outs[j], mwhere + ": output_layers");
    a.outputs.push_back(r);
    a.output_names.push_back(!out_keys[j].empty() ? out_keys[j] : outs[j].name);
  }

  // Replay once without widths: every call must become possible (no cycle, no call waiting
  // for a call that never happens), and every input must feed something.
  std::vector<char> input_used(a.inputs.size(), 0);
  for (const auto& step : replay_order(a, mwhere))
    for (const auto& r : a.layers[static_cast<std::size_t>(step.first)].nodes[static_cast<std::size_t>(step.second)].inputs)
      if (r.layer < 0) input_used[static_cast<std::size_t>(-1 - r.layer)] = 1;
  for (const auto& r : a.outputs)
    if (r.layer < 0) input_used[static_cast<std::size_t>(-1 - r.layer)] = 1;
  for (std::size_t i = 0; i < a.inputs.size(); ++i)
    if (!input_used[i]) bad(mwhere + ": input '" + a.inputs[i].name + "' feeds no layer");
  // An Input of dtype string feeds a StringLookup, and a StringLookup an Input of dtype string
  // (as Python's ranvier.Model checks; a nested model's own first layer is checked there).
  for (const auto& L : a.layers) {
    if (L.nested) continue;
    for (const auto& n : L.nodes)
      for (const auto& r : n.inputs) {
        if (r.layer >= 0) continue;
        const GraphInput& in = a.inputs[static_cast<std::size_t>(-1 - r.layer)];
        if (L.class_name == "StringLookup" && in.dtype != "string")
          bad(mwhere + ": input '" + in.name + "' (dtype " + in.dtype + ") feeds StringLookup '" + L.name +
              "', which takes strings: the input's dtype must be 'string'");
        if (in.dtype == "string" && L.class_name != "StringLookup")
          bad(mwhere + ": input '" + in.name + "' has dtype string, but it feeds " + L.class_name + " '" + L.name +
              "': raw strings can only feed a StringLookup");
      }
  }
  a.raw = arch;
  return a;
}

namespace {

Value tensor_json(const std::string& layer, int node, int tensor) {
  Value h = Value::make_array();
  h.push_back(Value::make_string(layer));
  h.push_back(Value::make_int(node));
  h.push_back(Value::make_int(tensor));
  Value c = Value::make_object();
  c.set("keras_history", h);
  Value t = Value::make_object();
  t.set("class_name", Value::make_string("__keras_tensor__"));
  t.set("config", c);
  return t;
}

}  // namespace

Value functional_json(const Architecture& a) {
  if (!a.raw.is_null()) return a.raw;
  const auto ref_name = [&](const TensorRef& r) {
    return r.layer < 0 ? a.inputs[static_cast<std::size_t>(-1 - r.layer)].name
                       : a.layers[static_cast<std::size_t>(r.layer)].name;
  };
  Value layers = Value::make_array();
  for (const auto& gi : a.inputs) {
    Value bs = Value::make_array();
    bs.push_back(Value());
    for (auto d : gi.shape) bs.push_back(Value::make_int(d));
    Value c = Value::make_object();
    c.set("batch_shape", bs);
    c.set("dtype", Value::make_string(gi.dtype));
    c.set("sparse", Value::make_bool(false));
    c.set("name", Value::make_string(gi.name));
    Value e = Value::make_object();
    e.set("module", Value::make_string("keras.layers"));
    e.set("class_name", Value::make_string("InputLayer"));
    e.set("config", c);
    e.set("registered_name", Value());
    e.set("name", Value::make_string(gi.name));
    e.set("inbound_nodes", Value::make_array());
    layers.push_back(e);
  }
  for (const auto& l : a.layers) {
    Value e = Value::make_object();
    e.set("module", Value::make_string("keras.layers"));
    e.set("class_name", Value::make_string(l.class_name));
    e.set("config", l.config);
    e.set("registered_name", Value());
    if (!l.build_config.is_null()) e.set("build_config", l.build_config);
    e.set("name", Value::make_string(l.name));
    Value nodes = Value::make_array();
    for (const auto& n : l.nodes) {
      Value args = Value::make_array();
      if (n.inputs.size() == 1) {
        args.push_back(tensor_json(ref_name(n.inputs[0]), n.inputs[0].node, n.inputs[0].tensor));
      } else {
        Value list = Value::make_array();
        for (const auto& r : n.inputs) list.push_back(tensor_json(ref_name(r), r.node, r.tensor));
        args.push_back(list);
      }
      Value node = Value::make_object();
      node.set("args", args);
      node.set("kwargs", Value::make_object());
      nodes.push_back(node);
    }
    e.set("inbound_nodes", nodes);
    layers.push_back(e);
  }
  const auto triple = [](const std::string& n, int node, int tensor) {
    Value t = Value::make_array();
    t.push_back(Value::make_string(n));
    t.push_back(Value::make_int(node));
    t.push_back(Value::make_int(tensor));
    return t;
  };
  Value ins = Value::make_array(), outs = Value::make_array();
  for (const auto& gi : a.inputs) ins.push_back(triple(gi.name, 0, 0));
  for (const auto& r : a.outputs) outs.push_back(triple(ref_name(r), r.node, r.tensor));
  Value cfg = Value::make_object();
  cfg.set("name", Value::make_string(a.name));
  cfg.set("trainable", Value::make_bool(true));
  cfg.set("layers", layers);
  cfg.set("input_layers", ins);
  cfg.set("output_layers", outs);
  Value out = Value::make_object();
  out.set("module", Value::make_string("keras.src.models.functional"));
  out.set("class_name", Value::make_string("Functional"));
  out.set("config", cfg);
  out.set("registered_name", Value::make_string("Functional"));
  Value bc = Value::make_object();
  bc.set("input_shape", Value());
  out.set("build_config", bc);
  return out;
}

}  // namespace io
}  // namespace ranvier
