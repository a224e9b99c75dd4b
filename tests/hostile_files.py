"""Small hostile model files (each under 1 MB) that stress a loader's cost: many keys,
duplicate keys, deep nesting, huge declared sizes, long strings, many layers, huge
metric parameters, and HDF5 files whose declared shapes, links or storage point where
they should not. Shared by tests/test_io_limits.py and bench/bench_hostile_files.py.

``SAFETENSORS`` maps a name to a function returning the file's bytes; ``H5`` maps a
name to a function ``(path) -> None`` writing an HDF5 file (needs h5py) for the model
``h5_target_model()``.
"""
import json
import struct

import numpy as np

LIMIT = 1 << 20  # every file here stays under 1 MB


def st_file(metadata, tensors=(), pad=True, raw_header=None):
    """A safetensors file: metadata (str -> str) and [(name, dtype, shape, data_bytes)]."""
    if raw_header is None:
        header = {"__metadata__": metadata}
        off = 0
        for name, dtype, shape, data in tensors:
            header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(data)]}
            off += len(data)
        text = json.dumps(header, separators=(",", ":")).encode()
    else:
        text = raw_header
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(t[3] for t in tensors)


def base_meta(arch, **extra):
    meta = {"format": "ranvier", "format_version": "1", "ranvier_version": "0", "contents": "model",
            "architecture": json.dumps(arch)}
    meta.update(extra)
    return meta


def seq(layers, input_dim=None, **arch_extra):
    lay = []
    if input_dim is not None:
        lay.append({"class_name": "InputLayer", "config": {"batch_shape": [None, input_dim], "name": "input"}})
    lay += layers
    arch = {"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": lay}}
    arch.update(arch_extra)
    return arch


def dense(name, units, build_in=None, **cfg):
    d = {"class_name": "Dense", "config": dict({"name": name, "units": units}, **cfg)}
    if build_in is not None:
        d["build_config"] = {"input_shape": [None, build_in]}
    return d


def small_model_file(compile_config=None, **extra_meta):
    """A valid 4 -> 3 Dense model, optionally with a compile_config."""
    k = np.zeros((4, 3), np.float32).tobytes()
    b = np.zeros(3, np.float32).tobytes()
    meta = base_meta(seq([dense("dense", 3)], input_dim=4))
    meta["weights"] = json.dumps([{"name": "dense", "class_name": "Dense", "weights": ["kernel", "bias"]}])
    if compile_config is not None:
        meta["compile_config"] = json.dumps(compile_config)
    meta.update(extra_meta)
    return st_file(meta, [("layers/dense/kernel", "F32", (4, 3), k), ("layers/dense/bias", "F32", (3,), b)])


def _compile(metrics):
    return {"optimizer": "adam", "loss": "mse", "loss_weights": None, "metrics": metrics,
            "weighted_metrics": None}


# ------------------------------------------------------------------ safetensors
def many_metadata_keys():
    meta = base_meta(seq([], input_dim=2))
    i = 0
    while len(json.dumps(meta)) < LIMIT - 100_000:
        for _ in range(1000):
            meta[f"k{i}"] = ""
            i += 1
    return st_file(meta)


def many_tensor_keys():
    tensors = [(f"t{i}", "F32", (0,), b"") for i in range(15_000)]
    return st_file(base_meta(seq([], input_dim=2)), tensors)


def duplicate_keys_late():
    """Tens of thousands of distinct keys, then a duplicate of the first at the end."""
    body = ",".join(f'"k{i}":""' for i in range(85_000))
    return st_file(None, raw_header=('{"__metadata__":{' + body + ',"k0":""}}').encode())


def many_architecture_keys():
    cfg = {f"x{i}": 0 for i in range(70_000)}
    cfg.update(name="d", units=1)
    return st_file(base_meta(seq([{"class_name": "Dense", "config": cfg}], input_dim=1)))


def deep_nesting():
    depth = 400_000
    return st_file(None, raw_header=b'{"__metadata__":' + b"[" * depth + b"]" * depth + b"}")


def deep_nesting_in_metadata():
    depth = 200_000
    return st_file(base_meta(seq([], input_dim=2), compile_config="[" * depth + "]" * depth))


def many_values():
    return st_file(base_meta(seq([], input_dim=2), compile_config="[" + ",".join(["0"] * 450_000) + "]"))


def many_small_objects():
    return st_file(base_meta(seq([], input_dim=2), compile_config="[" + ",".join(["{}"] * 300_000) + "]"))


def long_strings():
    return st_file(base_meta(seq([dense("n" * 900_000, 1)], input_dim=1)))


def long_key():
    return st_file({"format": "ranvier", "format_version": "1", "k" * 900_000: "v"})


def huge_declared_shape():
    return st_file(base_meta(seq([], input_dim=2)),
                   [("t", "F32", (2 ** 31 - 1, 2 ** 31 - 1), b""), ("u", "F32", (2 ** 63 - 1,), b"")])


def huge_dense_units():
    return st_file(base_meta(seq([dense("d", 2 ** 31 - 1)], input_dim=2 ** 20)))


def huge_embedding_table():
    """An Embedding of 2**24 x 2**20 values (64 TiB)."""
    emb = {"class_name": "Embedding", "config": {"name": "e", "input_dim": 2 ** 24, "output_dim": 2 ** 20}}
    return st_file(base_meta(seq([emb], input_dim=3)))


def huge_repeat_vector():
    """RepeatVector(2**40) on 4 features: rows wider than a model file holds."""
    rv = {"class_name": "RepeatVector", "config": {"name": "r", "n": 2 ** 40}}
    return st_file(base_meta(seq([rv], input_dim=4)))


def huge_input_shape():
    return st_file(base_meta(seq([dense("d", 1)], input_dim=2 ** 40)))


def layer_build_config():
    """An unbuilt model whose layers say they were built for wide inputs: 2.5 GiB of weights."""
    return st_file(base_meta(seq([dense("a", 20_000, build_in=30_000), dense("b", 10, build_in=20_000)])))


def layer_build_config_mismatch():
    """A built model (input 4) whose Dense says it was built for 1,000,000 inputs."""
    return st_file(base_meta(seq([dense("a", 1000, build_in=1_000_000)], input_dim=4)))


def model_build_config_only():
    return st_file(base_meta(seq([dense("a", 20_000)]), ))


def auc_thresholds():
    return small_model_file(_compile([{"module": "ranvier.metrics", "class_name": "AUC",
                                       "config": {"name": "auc", "num_thresholds": 2 ** 31 - 1}}]))


def auc_thresholds_many():
    m = [{"class_name": "AUC", "config": {"name": f"auc{i}", "num_thresholds": 3_000_000}} for i in range(40)]
    return small_model_file(_compile(m))


def precision_top_k():
    return small_model_file(_compile([{"class_name": "Precision",
                                       "config": {"name": "p", "top_k": 2 ** 31 - 1}}]))


def top_k_accuracy():
    return small_model_file(_compile([{"class_name": "TopKCategoricalAccuracy",
                                       "config": {"name": "t", "k": 2 ** 63 - 1}}]))


def many_layers():
    layers = [{"class_name": "ReLU", "config": {"name": f"r{i}"}} for i in range(15_000)]
    return st_file(base_meta(seq(layers, input_dim=1)))


def layers_at_the_limit():
    """2048 layers, the most a model file may hold: loads."""
    layers = [{"class_name": "ReLU", "config": {"name": f"r{i}"}} for i in range(2048)]
    return st_file(base_meta(seq(layers, input_dim=1)))


def many_dense_layers():
    layers = [dense(f"d{i}", 1) for i in range(8_000)]
    return st_file(base_meta(seq(layers, input_dim=1)))


def many_seeds():
    seeds = {f"s{i}": i for i in range(50_000)}
    return st_file(base_meta(seq([{"class_name": "Dropout", "config": {"name": "s1", "rate": 0.5}}],
                                 input_dim=1), layer_seeds=json.dumps(seeds)))


def many_optimizer_scalars():
    state = {"iterations": 1, "learning_rate": 0.1, "scalars": {f"s{i}": 0.0 for i in range(50_000)},
             "slots": []}
    return small_model_file(_compile(["accuracy"]), optimizer_state=json.dumps(state))


def many_optimizer_slots():
    state = {"iterations": 1, "learning_rate": 0.1, "scalars": {}, "slots": [f"s{i}" for i in range(50_000)]}
    return small_model_file(_compile(["accuracy"]), optimizer_state=json.dumps(state))


def many_metrics():
    return small_model_file(_compile(["mse"] * 100_000))


def huge_train_steps():
    return small_model_file(None, train_steps="9" * 500_000)


SAFETENSORS = {f.__name__: f for f in [
    many_metadata_keys, many_tensor_keys, duplicate_keys_late, many_architecture_keys, deep_nesting,
    deep_nesting_in_metadata, many_values, many_small_objects, long_strings, long_key,
    huge_declared_shape, huge_dense_units, huge_embedding_table, huge_repeat_vector, huge_input_shape,
    layer_build_config,
    layer_build_config_mismatch, model_build_config_only, auc_thresholds, auc_thresholds_many,
    precision_top_k, top_k_accuracy, many_layers, layers_at_the_limit, many_dense_layers, many_seeds,
    many_optimizer_scalars, many_optimizer_slots, many_metrics, huge_train_steps]}


# ------------------------------------------------------------------ HDF5 (Keras .weights.h5)
def h5_target_model():
    """The model the .h5 files are loaded into: Dense(3) on 4 inputs."""
    import ranvier
    return ranvier.Sequential([ranvier.Input(shape=(4,)), ranvier.layers.Dense(3)])


def _vars(f, path="layers/dense/vars"):
    return f.require_group(path)


def h5_unwritten_huge_dataset(path):
    """A chunked dataset declaring 2**28 floats, never written: tiny file, 1 GiB read."""
    import h5py
    with h5py.File(path, "w") as f:
        v = _vars(f)
        v.create_dataset("0", shape=(2 ** 14, 2 ** 14), dtype="f4", chunks=(64, 64))
        v.create_dataset("1", data=np.zeros(3, np.float32))


def h5_compressed_bomb(path):
    import h5py
    with h5py.File(path, "w") as f:
        v = _vars(f)
        v.create_dataset("0", data=np.zeros((4096, 4096), np.float32), compression="gzip", compression_opts=9,
                         chunks=(1024, 1024))
        v.create_dataset("1", data=np.zeros(3, np.float32))


def h5_huge_scalar_string(path):
    import h5py
    with h5py.File(path, "w") as f:
        v = _vars(f)
        v.create_dataset("0", shape=(2 ** 20, 2 ** 10), dtype="S64", chunks=(16, 16))
        v.create_dataset("1", data=np.zeros(3, np.float32))


def h5_external_link(path, target="/etc/hostname"):
    import h5py
    other = str(path) + ".other.h5"
    with h5py.File(other, "w") as g:
        g.create_dataset("secret", data=np.arange(12, dtype=np.float32).reshape(4, 3))
    with h5py.File(path, "w") as f:
        v = _vars(f)
        v["0"] = h5py.ExternalLink(other, "/secret")
        v.create_dataset("1", data=np.zeros(3, np.float32))


def h5_external_group_link(path):
    import h5py
    other = str(path) + ".other.h5"
    with h5py.File(other, "w") as g:
        vv = g.require_group("dense/vars")
        vv.create_dataset("0", data=np.ones((4, 3), np.float32))
        vv.create_dataset("1", data=np.ones(3, np.float32))
    with h5py.File(path, "w") as f:
        f["layers"] = h5py.ExternalLink(other, "/")


def h5_soft_link_to_external(path):
    import h5py
    other = str(path) + ".other.h5"
    with h5py.File(other, "w") as g:
        g.create_dataset("secret", data=np.ones((4, 3), np.float32))
    with h5py.File(path, "w") as f:
        f["ext"] = h5py.ExternalLink(other, "/")
        v = _vars(f)
        v["0"] = h5py.SoftLink("/ext/secret")
        v.create_dataset("1", data=np.zeros(3, np.float32))


def h5_virtual_dataset(path):
    import h5py
    other = str(path) + ".other.h5"
    with h5py.File(other, "w") as g:
        g.create_dataset("secret", data=np.ones((4, 3), np.float32))
    layout = h5py.VirtualLayout(shape=(4, 3), dtype="f4")
    layout[:] = h5py.VirtualSource(other, "secret", shape=(4, 3))
    with h5py.File(path, "w") as f:
        v = _vars(f)
        v.create_virtual_dataset("0", layout)
        v.create_dataset("1", data=np.zeros(3, np.float32))


def h5_external_storage(path):
    import h5py
    raw = str(path) + ".raw"
    with open(raw, "wb") as r:
        r.write(np.ones((4, 3), np.float32).tobytes())
    with h5py.File(path, "w") as f:
        v = _vars(f)
        v.create_dataset("0", shape=(4, 3), dtype="f4", external=[(raw, 0, 48)])
        v.create_dataset("1", data=np.zeros(3, np.float32))


def h5_many_groups(path):
    import h5py
    with h5py.File(path, "w") as f:
        lay = f.require_group("layers")
        for i in range(1000):
            lay.require_group(f"g{i}")
        v = _vars(f)
        v.create_dataset("0", data=np.zeros((4, 3), np.float32))
        v.create_dataset("1", data=np.zeros(3, np.float32))


def h5_many_vars(path):
    import h5py
    with h5py.File(path, "w") as f:
        v = _vars(f)
        for i in range(2500):
            v.create_dataset(str(i), data=np.zeros(1, np.float32))


def h5_legacy_huge_names(path):
    import h5py
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"dense"]
        g = f.require_group("dense")
        g.attrs["weight_names"] = [b"kernel", b"bias"]
        g.create_dataset("kernel", shape=(2 ** 15, 2 ** 15), dtype="f4", chunks=(128, 128))
        g.create_dataset("bias", data=np.zeros(3, np.float32))


H5 = {f.__name__: f for f in [
    h5_unwritten_huge_dataset, h5_compressed_bomb, h5_huge_scalar_string, h5_external_link,
    h5_external_group_link, h5_soft_link_to_external, h5_virtual_dataset, h5_external_storage,
    h5_many_groups, h5_many_vars, h5_legacy_huge_names]}


# ------------------------------------------------------------------ Keras .keras archives
def _archive(config, weights_writer=None, deflate_weights=None):
    """A .keras zip: config.json, metadata.json, model.weights.h5 (written by weights_writer(f))."""
    import io
    import zipfile
    import h5py
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        if weights_writer is not None:
            weights_writer(f)
        else:
            v = f.require_group("layers/dense/vars")
            v.create_dataset("0", data=np.zeros((4, 3), np.float32))
            v.create_dataset("1", data=np.zeros(3, np.float32))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("metadata.json", json.dumps({"keras_version": "3.0.0"}))
        zf.writestr("config.json", config if isinstance(config, str) else json.dumps(config))
        if deflate_weights is not None:
            zf.writestr(zipfile.ZipInfo("model.weights.h5"), deflate_weights, compress_type=zipfile.ZIP_DEFLATED)
        else:
            zf.writestr("model.weights.h5", buf.getvalue())
    return out.getvalue()


def _keras_seq(layers, compile_config=None, input_dim=4):
    cfg = {"module": "keras", "class_name": "Sequential",
           "config": {"name": "s", "trainable": True, "layers": (
               [{"module": "keras.layers", "class_name": "InputLayer",
                 "config": {"batch_shape": [None, input_dim], "dtype": "float32", "name": "input"}}]
               if input_dim else []) + layers},
           "build_config": {"input_shape": [None, input_dim]} if input_dim else None}
    if compile_config is not None:
        cfg["compile_config"] = compile_config
    return cfg


def keras_layer_build_config():
    return _archive(_keras_seq([dense("a", 20_000, build_in=30_000), dense("b", 10, build_in=20_000)],
                               input_dim=None))


def keras_auc_thresholds():
    return _archive(_keras_seq([dense("dense", 3, build_in=4)], compile_config=_compile(
        [{"class_name": "AUC", "config": {"name": "auc", "num_thresholds": 2 ** 31 - 1}}])))


def keras_deep_config():
    depth = 100_000
    return _archive('{"class_name": "Sequential", "config": ' + "[" * depth + "]" * depth + "}")


def keras_zip_bomb():
    return _archive(_keras_seq([dense("dense", 3, build_in=4)]), deflate_weights=bytes(200 << 20))


def keras_optimizer_var_bomb():
    def write(f):
        v = f.require_group("layers/dense/vars")
        v.create_dataset("0", data=np.zeros((4, 3), np.float32))
        v.create_dataset("1", data=np.zeros(3, np.float32))
        o = f.require_group("optimizer/vars")
        o.create_dataset("0", data=np.int64(1))
        o.create_dataset("1", shape=(2 ** 15, 2 ** 15), dtype="f4", chunks=(64, 64))
    return _archive(_keras_seq([dense("dense", 3, build_in=4)], compile_config=_compile(["mse"])), write)


def keras_external_link():
    def write(f):
        f["layers"] = __import__("h5py").ExternalLink("/etc/passwd.h5", "/")
    return _archive(_keras_seq([dense("dense", 3, build_in=4)]), write)


KERAS = {f.__name__: f for f in [keras_layer_build_config, keras_auc_thresholds, keras_deep_config, keras_zip_bomb,
                                 keras_optimizer_var_bomb, keras_external_link]}
