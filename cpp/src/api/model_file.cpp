// ranvier::Model's files (cpp/include/ranvier/model.hpp): save and load, Sequential and
// functional models alike (the architecture JSON is io/model_io's; the weights are
// "layers/<layer>/<weight>", the optimizer's slots "optimizer/<slot>").
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <stdexcept>

#include "api/model_impl.h"
#include "config/json.h"
#include "io/model_io.h"
#include "io/safetensors.h"
#include "losses/loss_json.h"
#include "runtime/runtime.h"

namespace ranvier {

namespace {

using json::Value;

// The trainable weights in the order of the flat parameter buffer (the optimizer slots'
// layout): [[layer, weight], ...]. A loader whose network lays them out in another order
// moves each slot segment to its own place (load: remap_slots).
Value param_order(const Network& net, const std::vector<std::string>& node_names) {
  std::vector<const TensorSlot*> slots;
  for (const auto& t : net.tensors())
    if (t.trainable) slots.push_back(&t);
  std::sort(slots.begin(), slots.end(), [](const TensorSlot* a, const TensorSlot* b) { return a->offset < b->offset; });
  Value out = Value::make_array();
  for (const TensorSlot* t : slots) {
    Value e = Value::make_array();
    e.push_back(Value::make_string(node_names[static_cast<std::size_t>(t->layer)]));
    e.push_back(Value::make_string(t->name));
    out.push_back(e);
  }
  return out;
}

// Per output: the loss identifier (null: none) of a compile_config "loss": one identifier
// for every output, a list by position, or a dict by output name (Keras's forms).
std::vector<Value> losses_per_output(const Value& loss, const std::vector<std::string>& names) {
  const std::size_t no = names.size();
  if (loss.is_null()) throw std::invalid_argument("no loss");
  if (loss.is_string() || (loss.is_object() && loss.find("class_name"))) return std::vector<Value>(no, loss);
  if (loss.is_array()) {
    if (loss.as_array().size() != no)
      throw std::invalid_argument("the loss list has " + std::to_string(loss.as_array().size()) + " entries for " +
                                  std::to_string(no) + " output(s)");
    return loss.as_array();
  }
  if (loss.is_object()) {
    std::vector<Value> out(no);
    for (const auto& kv : loss.as_object()) {
      const auto it = std::find(names.begin(), names.end(), kv.first);
      if (it == names.end()) throw std::invalid_argument("the loss dict names '" + kv.first + "', which is no output");
      out[static_cast<std::size_t>(it - names.begin())] = kv.second;
    }
    return out;
  }
  throw std::invalid_argument("the loss must be a name, a serialized loss, a list or a dict");
}

std::vector<float> loss_weights_per_output(const Value* lw, const std::vector<std::string>& names) {
  const std::size_t no = names.size();
  std::vector<float> out(no, 1.0f);
  if (!lw || lw->is_null()) return out;
  if (lw->is_number()) return std::vector<float>(no, static_cast<float>(lw->as_double("loss_weights")));
  if (lw->is_array()) {
    if (lw->as_array().size() != no)
      throw std::invalid_argument("loss_weights must match the number of losses: " +
                                  std::to_string(lw->as_array().size()) + " for " + std::to_string(no) + " output(s)");
    for (std::size_t j = 0; j < no; ++j)
      if (!lw->as_array()[j].is_null()) out[j] = static_cast<float>(lw->as_array()[j].as_double("loss_weights"));
    return out;
  }
  if (lw->is_object()) {
    for (const auto& kv : lw->as_object()) {
      const auto it = std::find(names.begin(), names.end(), kv.first);
      if (it == names.end()) throw std::invalid_argument("loss_weights names '" + kv.first + "', which is no output");
      out[static_cast<std::size_t>(it - names.begin())] = static_cast<float>(kv.second.as_double("loss_weights"));
    }
    return out;
  }
  throw std::invalid_argument("loss_weights must be a number, a list or a dict");
}

// Copies the optimizer slot `sv` from the file. With a saved param_order that differs from
// this network's layout, each weight's segment goes to its own place.
void read_slot(const io::File& f, const io::TensorInfo& t, const SlotView& sv, const Value* order, const Network& net,
               const std::vector<std::string>& node_names, std::vector<float>& scratch) {
  if (!order || !order->is_array()) {
    f.read_f32(t, sv.data);
    return;
  }
  // file offsets of each [layer, weight], in the saved order
  std::map<std::pair<std::string, std::string>, const TensorSlot*> mine;
  for (const auto& s : net.tensors())
    if (s.trainable) mine[{node_names[static_cast<std::size_t>(s.layer)], s.name}] = &s;
  if (order->as_array().size() != mine.size())
    throw std::invalid_argument("optimizer_state param_order lists " + std::to_string(order->as_array().size()) +
                                " weights; the model trains " + std::to_string(mine.size()));
  scratch.resize(static_cast<std::size_t>(sv.size));
  f.read_f32(t, scratch.data());
  std::int64_t at = 0;
  for (const auto& e : order->as_array()) {
    if (!e.is_array() || e.as_array().size() != 2 || !e.as_array()[0].is_string() || !e.as_array()[1].is_string())
      throw std::invalid_argument("optimizer_state param_order entries must be [layer, weight]");
    const auto it = mine.find({e.as_array()[0].as_string(), e.as_array()[1].as_string()});
    if (it == mine.end())
      throw std::invalid_argument("optimizer_state param_order names '" + e.as_array()[0].as_string() + "/" +
                                  e.as_array()[1].as_string() + "', which the model does not train");
    const TensorSlot& s = *it->second;
    if (at + s.size > sv.size) throw std::invalid_argument("optimizer slot '" + sv.name + "' is too small");
    std::memcpy(sv.data + s.offset, scratch.data() + at, static_cast<std::size_t>(s.size) * sizeof(float));
    at += s.size;
  }
}

}  // namespace

void Model::save(const std::string& path) const {
  build_if_needed();
  Impl& m = *impl_;
  Network& net = *m.net;
  std::vector<std::pair<std::string, std::string>> meta = {
      {"format", "ranvier"},
      {"format_version", std::to_string(io::kFormatVersion)},
      {"ranvier_version", build_info().version},
      {"contents", "model"},
      {"architecture", json::dump(io::architecture_json(m.arch))},
  };
  Value listing = Value::make_array();
  std::vector<io::TensorOut> tensors;
  const auto& slots = net.tensors();
  const auto& nodes = net.nodes();
  for (std::size_t k = 0; k < nodes.size(); ++k) {
    if (nodes[k].shares_with >= 0) continue;  // a second call: its weights are its first call's
    Value e = Value::make_object();
    e.set("name", Value::make_string(m.node_names[k]));
    e.set("class_name", Value::make_string(nodes[k].layer->type_name()));
    Value names = Value::make_array();
    for (const auto& t : slots) {
      if (t.layer != static_cast<int>(k)) continue;
      names.push_back(Value::make_string(t.name));
      const float* p = (t.trainable ? net.params().data() : net.state().data()) + t.offset;
      tensors.push_back(io::TensorOut{"layers/" + m.node_names[k] + "/" + t.name, t.shape, p});
    }
    e.set("weights", names);
    listing.push_back(e);
  }
  meta.emplace_back("weights", json::dump(listing));
  meta.emplace_back("train_steps", std::to_string(net.train_steps));
  Value seeds = Value::make_object();
  std::map<std::string, std::uint64_t> all_seeds(m.seed_by_name.begin(), m.seed_by_name.end());
  for (std::size_t i = 0; i < m.seeds.size() && i < m.arch.layers.size(); ++i)
    if (m.seeds[i]) all_seeds[m.arch.layers[i].name] = m.seeds[i];
  for (const auto& kv : all_seeds) seeds.set(kv.first, Value::make_uint(kv.second));
  if (!seeds.as_object().empty()) meta.emplace_back("layer_seeds", json::dump(seeds));
  if (m.compiled) {
    const Value inner_json = io::optimizer_to_json(m.opt_cfg, m.opt_name);
    const auto wrapped = [&m](const Value& inner) {  // the LossScaleOptimizer around it, as loaded
      if (!m.scaler) return inner;
      Value lc = m.loss_scale_config;
      lc.set("inner_optimizer", inner);
      Value o = Value::make_object();
      o.set("module", Value::make_string("keras.optimizers"));
      o.set("class_name", Value::make_string("LossScaleOptimizer"));
      o.set("config", lc);
      o.set("registered_name", Value());
      return o;
    };
    const Value opt_json = wrapped(inner_json);
    Value cc = Value::make_object();
    cc.set("optimizer", opt_json);
    cc.set("loss", m.saved_loss);
    cc.set("loss_weights", m.saved_loss_weights);
    cc.set("metrics", Value::make_array());
    cc.set("weighted_metrics", Value::make_array());
    meta.emplace_back("compile_config", json::dump(cc));
    // The optimizer's current state (learning rate included).
    Value cur = inner_json;
    Value ccfg = *cur.find("config");
    ccfg.set("learning_rate", Value::make_number(static_cast<double>(m.opt->current_learning_rate())));
    cur.set("config", ccfg);
    meta.emplace_back("optimizer", json::dump(wrapped(cur)));
    Value st = Value::make_object();
    st.set("iterations", Value::make_int(m.opt->raw_iterations()));
    st.set("learning_rate", Value::make_number(static_cast<double>(m.opt->current_learning_rate())));
    Value scalars = Value::make_object();
    for (const auto& k : m.opt->scalar_names()) scalars.set(k, Value::make_number(m.opt->scalar(k)));
    if (m.scaler) {
      scalars.set("loss_scale/dynamic_scale", Value::make_number(static_cast<double>(m.scaler->scale())));
      scalars.set("loss_scale/step_counter", Value::make_number(static_cast<double>(m.scaler->step_counter())));
    }
    st.set("scalars", scalars);
    Value names = Value::make_array();
    for (const auto& sv : m.opt->slots()) {
      names.push_back(Value::make_string(sv.name));
      tensors.push_back(io::TensorOut{"optimizer/" + sv.name, {sv.size}, sv.data});
    }
    st.set("slots", names);
    st.set("param_order", param_order(net, m.node_names));
    meta.emplace_back("optimizer_state", json::dump(st));
  }
  // Every file this writes loads back: the checks every loader runs on the metadata (layer
  // count, JSON value limits, sizes against the weights), before anything is written (a
  // model of more layers than a file holds was written, and then no loader opened it).
  std::uint64_t floats = 0;
  for (const auto& t : tensors) {
    std::uint64_t n = 1;
    for (const auto d : t.shape) n *= static_cast<std::uint64_t>(d);
    floats += n;
  }
  try {
    io::check_model_metadata(meta, floats, false);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("save: '" + path + "': this model cannot be saved: the loaders would refuse its file (" +
                                e.what() + "), so nothing was written");
  }
  io::write_file(path, tensors, meta);  // atomic; the weights are written from the network itself
}

Model Model::load(const std::string& path) {
  const io::File f = io::read_file(path);
  io::LoadedModel lm;
  try {
    lm = io::load_model(f);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("'" + path + "': " + e.what());
  }
  Model m(0);
  Impl& im = *m.impl_;
  im.arch = lm.arch;
  im.seeds = lm.seeds;
  im.seed_by_name = lm.seed_by_name;
  im.net = lm.net;
  im.node_names = lm.node_names;
  for (const auto& l : im.arch.layers) im.name_counts[l.name] = 1;
  if (lm.has_compile) {
    try {
      const Value& cc = lm.compile_config;
      const Value* opt = lm.optimizer.is_object() ? &lm.optimizer : cc.find("optimizer");
      if (!opt) throw std::invalid_argument("no optimizer config");
      const Value* lso = nullptr;  // a LossScaleOptimizer: its inner optimizer is the one opt_cfg holds
      if (const Value* cn = opt->find("class_name"); cn && cn->is_string() && cn->as_string() == "LossScaleOptimizer") {
        lso = opt->find("config");
        opt = lso && lso->is_object() ? lso->find("inner_optimizer") : nullptr;
        if (!opt || !opt->is_object()) throw std::invalid_argument("a LossScaleOptimizer without inner_optimizer");
      }
      im.opt_cfg = io::optimizer_from_json(*opt);
      if (const Value* c = opt->find("config"); c && c->is_object())
        if (const Value* nm = c->find("name"); nm && nm->is_string()) im.opt_name = nm->as_string();
      const Value* loss = cc.find("loss");
      if (!loss || loss->is_null()) throw std::invalid_argument("no loss");
      std::vector<std::string> out_names;
      for (int j = 0; j < im.net->num_outputs(); ++j) out_names.push_back(m.output_name(j));
      im.losses = losses_per_output(*loss, out_names);
      bool any = false;
      for (int j = 0; j < im.net->num_outputs(); ++j) {
        const Value& l = im.losses[static_cast<std::size_t>(j)];
        if (l.is_null()) continue;
        loss_from_json(l, im.net->output_features(j), 0);
        any = true;
      }
      if (!any) throw std::invalid_argument("no loss");
      const Value* lw = cc.find("loss_weights");
      if (lw && lw->is_array() && lw->as_array().size() == 1 && out_names.size() == 1)
        lw = &lw->as_array()[0];  // [w] for the one output
      im.loss_weights = loss_weights_per_output(lw, out_names);
      im.saved_loss = *loss;
      im.saved_loss_weights = lw ? *lw : Value();
      im.make_optimizer();
      im.loss_scale_config = Value();
      if (lso) {
        const Value* s = lso->find("initial_scale");
        const Value* g = lso->find("dynamic_growth_steps");
        im.scaler = std::make_shared<LossScaler>(s && s->is_number() ? s->as_double() : 32768.0,
                                                 g && g->is_number() ? g->as_int("dynamic_growth_steps") : 2000);
        im.loss_scale_config = *lso;
      }
      if (lm.optimizer_state.is_object()) {
        const Value& st = lm.optimizer_state;
        const Value* order = st.find("param_order");
        std::vector<float> scratch;
        for (auto& sv : im.opt->slots()) {
          const io::TensorInfo* t = f.header.find_tensor("optimizer/" + sv.name);
          if (!t) throw std::invalid_argument("optimizer slot '" + sv.name + "' missing");
          if (static_cast<std::int64_t>(t->numel) != sv.size)
            throw std::invalid_argument("optimizer slot '" + sv.name + "' has the wrong size");
          read_slot(f, *t, sv, order, *im.net, im.node_names, scratch);
        }
        if (const Value* it = st.find("iterations")) im.opt->set_raw_iterations(it->as_int("iterations"));
        if (const Value* sc = st.find("scalars"); sc && sc->is_object())
          for (const auto& kv : sc->as_object()) {
            const double v = kv.second.as_double(kv.first.c_str());
            // range-checked before the narrowing casts (out of range they are undefined behaviour)
            if (kv.first == "loss_scale/dynamic_scale" && im.scaler) {
              if (!(v >= 0.0 && v <= static_cast<double>(std::numeric_limits<float>::max())))
                throw std::invalid_argument("loss_scale/dynamic_scale must be a finite float32 >= 0, got " +
                                            std::to_string(v));
              im.scaler->set_scale(static_cast<float>(v));
            } else if (kv.first == "loss_scale/step_counter" && im.scaler) {
              if (!(v >= 0.0 && v < 9223372036854775808.0 && v == std::floor(v)))
                throw std::invalid_argument("loss_scale/step_counter must be an integer >= 0, got " +
                                            std::to_string(v));
              im.scaler->set_step_counter(static_cast<std::int64_t>(v));
            } else if (kv.first.rfind("loss_scale/", 0) != 0)  // a loss scale without a LossScaleOptimizer: dropped
              im.opt->set_scalar(kv.first, v);
          }
        if (const Value* lr = st.find("learning_rate"); lr && lr->is_number() && !im.opt->uses_schedule())
          im.opt->set_learning_rate(static_cast<float>(lr->as_double()));
      }
      im.compiled = true;
    } catch (const std::bad_alloc&) {
      throw;  // out of memory is not "the training state cannot be restored": refuse the load
    } catch (const std::exception& e) {
      im.compiled = false;
      im.opt.reset();
      im.trainer.reset();
      im.not_compiled_reason = e.what();
    }
  }
  return m;
}

}  // namespace ranvier
