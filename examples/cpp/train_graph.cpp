// Builds and trains a functional model (two inputs, two outputs, a shared layer and merge
// layers) with the C++ API alone, then saves it.
//
//   train_graph OUT_MODEL
//
// Inputs "num" (4 values) and "aux" (2 values); outputs "score" (regression) and "flag"
// (a probability). The file holds Keras's functional config: ranvier.models.load_model
// reads it as a functional Model (and resumes training), and the predict app runs it
// (predict OUT_MODEL num.f32 aux.f32).
#include <cstdint>
#include <cstdio>
#include <exception>
#include <vector>

#include <ranvier/ranvier.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_MODEL\n", argv[0]);
    return 2;
  }
  const int n = 400;
  std::vector<float> num(static_cast<std::size_t>(n * 4)), aux(static_cast<std::size_t>(n * 2));
  std::vector<float> score(static_cast<std::size_t>(n)), flag(static_cast<std::size_t>(n));
  std::uint64_t s = 99;
  auto uniform = [&s] {  // [-1, 1)
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<float>(s >> 40) / 8388608.0f - 1.0f;
  };
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < 4; ++j) num[static_cast<std::size_t>(i * 4 + j)] = uniform();
    for (int j = 0; j < 2; ++j) aux[static_cast<std::size_t>(i * 2 + j)] = uniform();
    const float* r = &num[static_cast<std::size_t>(i * 4)];
    score[static_cast<std::size_t>(i)] = r[0] - 0.5f * r[1] + aux[static_cast<std::size_t>(i * 2)];
    flag[static_cast<std::size_t>(i)] = r[2] + aux[static_cast<std::size_t>(i * 2 + 1)] > 0 ? 1.0f : 0.0f;
  }
  try {
    ranvier::Model m(/*seed=*/3);
    const auto x_num = m.add_input("num", {4});
    const auto x_aux = m.add_input("aux", {2});
    const auto h_num = m.call(ranvier::layers::Dense(8, "relu", true, "num_dense"), {x_num});
    const auto h_aux = m.call(ranvier::layers::Dense(8, "relu", true, "aux_dense"), {x_aux});
    // one layer called on both branches: its weights are shared
    const auto s_num = m.call(ranvier::layers::Dense(8, "tanh", true, "shared"), {h_num});
    const auto s_aux = m.call("shared", {h_aux});
    const auto joined = m.call(ranvier::LayerSpec("Concatenate", R"({"axis": -1})"), {s_num, s_aux});
    const auto summed = m.call(ranvier::LayerSpec("Add", "{}"), {s_num, s_aux});
    m.set_outputs({m.call(ranvier::layers::Dense(1, "linear", true, "score"), {joined}),
                   m.call(ranvier::layers::Dense(1, "sigmoid", true, "flag"), {summed})});
    m.compile({"adam", 0.01}, {{"mse"}, {"binary_crossentropy"}}, {1.0, 0.5});
    ranvier::FitOptions fo;
    fo.epochs = 8;
    fo.batch_size = 32;
    fo.seed = 1;
    const ranvier::History h = m.fit({num.data(), aux.data()}, {score.data(), flag.data()}, {1, 1}, n, fo);
    std::printf("loss: first epoch %.4f, last epoch %.4f\n", h.loss.front(), h.loss.back());
    m.save(argv[1]);
    std::printf("saved %lld parameters to %s\n", static_cast<long long>(m.count_params()), argv[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
