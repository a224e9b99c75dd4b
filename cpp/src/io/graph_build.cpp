// io/graph_build: a functional model's graph replayed (io/graph_arch.cpp parses it): the
// size check before anything is allocated (check_graph_weights_fit), the structural check
// of every weight (check_graph_model) and the network itself (build_graph). Nested models
// are inlined; a layer called twice is a second node sharing its first node's weights.
//
// Replay order (the order nodes are added, hence the parameter layout): as Keras's
// functional_from_config, passes over the config's layers in order, each layer adding its
// pending calls in order until one needs a tensor not made yet.
#include <algorithm>
#include <functional>
#include <map>
#include <stdexcept>
#include <unordered_set>

#include "io/model_io.h"
#include "layers/counter_rng.h"
#include "layers/layer_table.h"

namespace ranvier {
namespace io {

namespace {

using TensorRef = LayerConfig::TensorRef;

[[noreturn]] void bad(const std::string& msg) { throw std::invalid_argument("invalid model file: " + msg); }

std::string layer_where(const LayerConfig& lc) { return "layer '" + lc.name + "' (" + lc.class_name + ")"; }

std::int64_t product(const std::vector<std::int64_t>& s) {
  std::int64_t p = 1;
  for (auto d : s) p *= d;
  return p;
}

}  // namespace

namespace {


// A tensor while the graph is replayed: its width, per-sample shape and (when building)
// its id in the network.
struct Tensor {
  std::int64_t width = 0;
  std::vector<std::int64_t> dims;  // per-sample shape (product = width)
  int id = -1;
  bool input = false;  // a graph input (a first layer sees its samples' shape: Flatten)
};

// What replaying does at each call of a (non-model) layer: `first` is true for the layer's
// first call anywhere in the model (the call that owns its weights). Returns the output.
using CallFn = std::function<Tensor(const LayerConfig& lc, const std::vector<Tensor>& in, bool first)>;

// Replays `a` on `inputs`, nested models inlined; returns its output tensors. seen: the
// layers called so far (a nested model called twice shares its layers' weights too).
struct Seen {
  std::unordered_set<const LayerConfig*> layers;  // called at least once
  std::size_t calls = 0;                          // layer calls so far, nested models inlined
};

std::vector<Tensor> replay(const Architecture& a, const std::vector<Tensor>& inputs, const CallFn& call, Seen& seen,
                           int depth) {
  if (depth > kMaxNesting) bad("architecture: models nest more than " + std::to_string(kMaxNesting) + " deep");
  std::vector<std::vector<std::vector<Tensor>>> made(a.layers.size());
  for (std::size_t li = 0; li < a.layers.size(); ++li) made[li].resize(a.layers[li].nodes.size());
  const auto get = [&](const TensorRef& r) -> const Tensor& {
    if (r.layer < 0) return inputs[static_cast<std::size_t>(-1 - r.layer)];
    return made[static_cast<std::size_t>(r.layer)][static_cast<std::size_t>(r.node)][static_cast<std::size_t>(r.tensor)];
  };
  for (const auto& step : replay_order(a, "architecture: model '" + a.name + "'")) {
    const LayerConfig& lc = a.layers[static_cast<std::size_t>(step.first)];
    const auto& node = lc.nodes[static_cast<std::size_t>(step.second)];
    std::vector<Tensor> in;
    for (std::size_t i = 0; i < node.inputs.size(); ++i) {
      in.push_back(get(node.inputs[i]));
      const auto& given = i < node.shapes.size() ? node.shapes[i] : std::vector<std::int64_t>();
      if (!given.empty()) {  // the shape the file gives the tensor: its width must be the graph's
        if (in.back().width == 0) in.back().width = product(given);  // unknown (after a custom layer)
        if (product(given) != in.back().width)
          bad("architecture: " + layer_where(lc) + ", call " + std::to_string(step.second) + ": input " +
              std::to_string(i) + " has " + std::to_string(in.back().width) + " values per sample, but the file "
              "gives it a shape of " + std::to_string(product(given)));
        in.back().dims = given;
      }
    }
    auto& out = made[static_cast<std::size_t>(step.first)][static_cast<std::size_t>(step.second)];
    if (lc.nested) {
      const Architecture& inner = *lc.nested;
      const std::string where = "architecture: " + layer_where(lc);
      if (in.size() != inner.inputs.size())
        bad(where + " takes " + std::to_string(inner.inputs.size()) + " input(s), called on " +
            std::to_string(in.size()));
      for (std::size_t i = 0; i < in.size(); ++i) {
        const auto& shape = inner.inputs[i].shape;
        if (!shape.empty() && in[i].width == 0) in[i].width = product(shape);
        if (!shape.empty() && product(shape) != in[i].width)
          bad(where + ": its input '" + inner.inputs[i].name + "' takes " + std::to_string(product(shape)) +
              " features, called on a tensor of " + std::to_string(in[i].width));
        if (!shape.empty()) in[i].dims = shape;
      }
      out = replay(inner, in, call, seen, depth + 1);
    } else {
      if (++seen.calls > kMaxNodes)  // nested models called repeatedly multiply their calls
        bad("architecture: model '" + a.name + "' expands to more than " + std::to_string(kMaxNodes) +
            " layer calls (nested models inlined); a model file may hold at most that");
      const bool first = seen.layers.insert(&lc).second;
      out.push_back(call(lc, in, first));
    }
  }
  std::vector<Tensor> result;
  for (const auto& r : a.outputs) result.push_back(get(r));
  return result;
}

std::vector<Tensor> graph_inputs(const Architecture& a) {
  std::vector<Tensor> in;
  for (const auto& gi : a.inputs) in.push_back(Tensor{product(gi.shape), gi.shape, -1, true});
  return in;
}

std::string widths_text(const std::vector<std::int64_t>& w) {
  std::string s;
  for (auto x : w) s += (s.empty() ? "" : ", ") + std::to_string(x);
  return "(" + s + ")";
}

// A layer's first call must give it the widths its build_config names; a layer with weights
// called again must get the same widths (its weights are shared). A layer without weights
// (a merge layer, Activation, ...) may be called on other widths: each call is its own core.
void check_call_widths(const LayerConfig& lc, const std::vector<Tensor>& in, bool first, bool weighted,
                       std::map<const LayerConfig*, std::vector<std::int64_t>>& first_widths) {
  std::vector<std::int64_t> w;
  for (const auto& t : in) w.push_back(t.width);
  if (first) {
    if (in.size() == 1 && lc.built_in_features > 0 && w[0] != lc.built_in_features && w[0] != lc.built_in_sample)
      check_layer_width(lc, w[0]);  // refuses, naming both widths
    if (!lc.built_in_widths.empty() && lc.built_in_widths != w)
      bad(layer_where(lc) + " was built for input widths " + widths_text(lc.built_in_widths) +
          " (its build_config), but the model gives it " + widths_text(w));
    if (weighted) first_widths.emplace(&lc, w);
    return;
  }
  const auto it = first_widths.find(&lc);
  if (it != first_widths.end() && it->second != w)
    bad(layer_where(lc) + " is called on inputs of widths " + widths_text(it->second) + " then " + widths_text(w) +
        "; a layer called twice shares its weights, so both calls need the same widths");
}

const LayerRow* row_of(const LayerConfig& lc, const std::vector<Tensor>& in) {
  const LayerRow* row = find_layer_row(lc.class_name);
  if (row && !row->merge_shape && in.size() != 1)
    bad(layer_where(lc) + " takes one input, called on " + std::to_string(in.size()));
  return row;
}

std::shared_ptr<Layer> make_node_layer(const LayerConfig& lc, const std::vector<Tensor>& in, std::uint64_t seed) {
  const LayerRow* row = row_of(lc, in);
  LayerArgs args;
  args.seed = seed;
  args.where = layer_where(lc);
  std::vector<std::vector<std::int64_t>> shapes;
  if (row && row->merge_shape) {
    for (const auto& t : in) shapes.push_back(t.dims);
    args.input_shapes = &shapes;
  } else {
    args.in_features = in[0].width;
    // a first layer sees its samples' shape (Flatten); a global pooling layer always does
    if (in[0].input || layer_needs_sample_shape(lc.class_name)) args.sample_shape = &in[0].dims;
  }
  try {
    return make_layer(lc.class_name, lc.config, std::move(args));
  } catch (const std::invalid_argument& e) {
    bad(e.what());
  }
}

// The output's per-sample shape: a merge layer's from its row, another layer's from
// layer_output_sample_shape (flat when that does not know it).
std::vector<std::int64_t> output_dims(const LayerRow& row, const LayerConfig& lc, const std::vector<Tensor>& in,
                                      std::int64_t width) {
  if (!row.merge_shape) {
    auto d = layer_output_sample_shape(lc.class_name, lc.config, in[0].dims, width);
    return d.empty() || product(d) != width ? std::vector<std::int64_t>{width} : d;
  }
  std::vector<std::vector<std::int64_t>> shapes;
  for (const auto& t : in) shapes.push_back(t.dims);
  try {
    return row.merge_shape(lc.config, shapes, layer_where(lc));
  } catch (const std::invalid_argument& e) {
    bad(e.what());
  }
}

std::uint64_t seed_of(const SeedLookup& seeds, const LayerConfig& lc) {
  const auto it = seeds.find(lc.name);
  return it == seeds.end() ? 0 : it->second;
}

}  // namespace

void check_graph_weights_fit(const Architecture& arch, std::uint64_t file_elems, bool allow_unknown) {
  // Width 0 = unknown: after a custom layer (Python's loader, allow_unknown) the widths are
  // unknown until a tensor's shape in the file gives them; a layer on an unknown width is
  // still checked at the width of its own build_config (Python builds it from that).
  std::uint64_t need = 0;
  std::map<const LayerConfig*, std::vector<std::int64_t>> first_widths;
  Seen seen;
  const auto param_count = [&](const LayerRow& row, const LayerConfig& lc, std::uint64_t in, std::uint64_t* out) {
    try {
      return row.param_count(lc.config, in, out, layer_where(lc));
    } catch (const std::invalid_argument& e) {
      const std::string msg = e.what(), where = layer_where(lc);
      bad(msg.compare(0, where.size(), where) == 0 ? msg : where + ": " + msg);
    }
  };
  const CallFn call = [&](const LayerConfig& lc, const std::vector<Tensor>& in, bool first) -> Tensor {
    const LayerRow* row = row_of(lc, in);
    if (!row) {
      if (!allow_unknown) bad(layer_where(lc) + ": class '" + lc.class_name + "' is not one C++ can load");
      return Tensor{0, {}, -1, false};  // a custom layer: its output width is unknown
    }
    const bool known = std::all_of(in.begin(), in.end(), [](const Tensor& t) { return t.width > 0; });
    if (known && first) check_call_widths(lc, in, true, false, first_widths);  // the build_config's widths
    std::uint64_t p = 0, out = known ? static_cast<std::uint64_t>(in[0].width) : 0;
    std::vector<std::int64_t> dims;
    if (row->merge_shape) {  // no weights; the output shape from the row
      if (known) {
        dims = output_dims(*row, lc, in, 0);
        std::uint64_t w = 1;
        for (auto d : dims) w = sat_mul(w, d > 0 ? static_cast<std::uint64_t>(d) : 0);
        out = w;
      }
    } else if (row->param_count && known) {
      p = param_count(*row, lc, static_cast<std::uint64_t>(in[0].width), &out);
      dims = layer_output_sample_shape(lc.class_name, lc.config, in[0].dims, static_cast<std::int64_t>(out));
      if (layer_needs_sample_shape(lc.class_name) && !dims.empty()) out = static_cast<std::uint64_t>(product(dims));
      if (!dims.empty() && static_cast<std::uint64_t>(product(dims)) != out) dims.clear();
    }
    if (known && (out == 0 || out > (std::uint64_t{1} << 40))) bad(layer_where(lc) + ": output width out of range");
    if (known && first && p > 0) first_widths.emplace(&lc, std::vector<std::int64_t>{in[0].width});
    if (known && !first) check_call_widths(lc, in, false, true, first_widths);
    if (!known) out = 0;
    if (dims.empty()) dims = {static_cast<std::int64_t>(out)};
    if (first && row->param_count && lc.built_in_features > 0) {  // Python builds it from its build_config too
      std::uint64_t bout = 0;
      p = std::max(p, param_count(*row, lc, static_cast<std::uint64_t>(lc.built_in_features), &bout));
    }
    if (first) {
      if (p > file_elems || need > file_elems - p)
        bad("the architecture needs more weights than the file holds (" + layer_where(lc) + " alone needs " +
            std::to_string(p) + " values; the file holds " + std::to_string(file_elems) + " in all)");
      need += p;
    }
    return Tensor{static_cast<std::int64_t>(out), dims, -1, false};
  };
  replay(arch, graph_inputs(arch), call, seen, 0);
}

void build_graph(Network& net, const Architecture& arch, const SeedLookup& seeds,
                 std::vector<std::string>& node_names) {
  std::vector<Tensor> inputs = graph_inputs(arch);
  for (std::size_t i = 0; i < inputs.size(); ++i)
    inputs[i].id = net.add_input(inputs[i].width, arch.inputs[i].name);
  std::map<const LayerConfig*, std::vector<std::int64_t>> first_widths;
  std::map<const LayerConfig*, int> owner_node;
  std::map<const LayerConfig*, std::uint64_t> calls;  // a random layer's k-th call: its own draws
  Seen seen;
  const CallFn call = [&](const LayerConfig& lc, const std::vector<Tensor>& in, bool first) -> Tensor {
    auto layer = make_node_layer(lc, in, counter_rng::call_seed(seed_of(seeds, lc), calls[&lc]++));
    const bool weighted = !layer->param_specs().empty();
    check_call_widths(lc, in, first, weighted, first_widths);
    std::vector<int> ids;
    for (const auto& t : in) ids.push_back(t.id);
    const std::int64_t out = layer->out_features();
    // a second call of a layer with weights shares them; one without weights is its own core
    const int shares = first || !weighted ? -1 : owner_node.at(&lc);
    int id = -1;
    try {
      id = net.add_node(std::move(layer), ids, shares);
    } catch (const std::invalid_argument& e) {
      bad(layer_where(lc) + ": " + e.what());
    }
    if (first) owner_node[&lc] = static_cast<int>(node_names.size());
    node_names.push_back(lc.name);
    return Tensor{out, output_dims(*find_layer_row(lc.class_name), lc, in, out), id, false};
  };
  const auto outs = replay(arch, inputs, call, seen, 0);
  std::vector<int> ids;
  for (const auto& t : outs) ids.push_back(t.id);
  net.set_outputs(ids);
}

void check_graph_model(const Header& h, const Architecture& arch, const SeedLookup& seeds, bool allow_unknown) {
  std::map<const LayerConfig*, std::vector<std::int64_t>> first_widths;
  Seen seen;
  struct Unknown {};
  const CallFn call = [&](const LayerConfig& lc, const std::vector<Tensor>& in, bool first) -> Tensor {
    if (allow_unknown && !find_layer_row(lc.class_name)) throw Unknown{};
    const auto layer = make_node_layer(lc, in, seed_of(seeds, lc));
    check_call_widths(lc, in, first, !layer->param_specs().empty(), first_widths);
    if (first)
      for (const auto& spec : layer->param_specs()) {
        const std::string key = "layers/" + lc.name + "/" + spec.name;
        const TensorInfo* t = h.find_tensor(key);
        if (!t) bad("weight '" + key + "' is missing");
        if (t->shape != spec.shape)
          bad("weight '" + key + "' has shape " + widths_text(t->shape) + " but the layer expects " +
              widths_text(spec.shape));
      }
    const std::int64_t out = layer->out_features();
    return Tensor{out, output_dims(*find_layer_row(lc.class_name), lc, in, out), -1, false};
  };
  try {
    replay(arch, graph_inputs(arch), call, seen, 0);
  } catch (const Unknown&) {
  }
}

}  // namespace io
}  // namespace ranvier
