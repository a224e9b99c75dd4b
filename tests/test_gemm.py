"""GEMM (ranvier.ops.matmul and the full sgemm contract) against the float64 reference.

Every test that takes `isa` runs once per ISA this CPU supports. Tolerances come from
reference.gemm.gemm_tolerance (16*sqrt(K+1)*2^-24 times |A|@|B| and the other
magnitudes, elementwise; see its docstring for why).
"""
import numpy as np
import pytest

import ranvier
from ranvier import _core, ops
from reference import gemm as ref

TRANSPOSES = [(False, False), (True, False), (False, True), (True, True)]


@pytest.fixture(autouse=True)
def widest_tile():
    """The tests here that take `isa` check that tier's widest tile (whose sizes blocking()
    reports), as before the per-CPU tile table: forcing the widest tile, which the driver
    caps to the tier's widest. The table's choices and every other tile are tested below
    (test_every_ukernel_on_every_shape_class)."""
    _core._gemm_tuning(reset=True, ukernel="avx512-12x32")
    yield
    _core._gemm_tuning(reset=True)


@pytest.fixture
def tuning(widest_tile):
    """Lets a test change the driver's tuning (threshold, A packing); restores defaults."""
    _core._gemm_tuning(reset=True, ukernel="avx512-12x32")
    yield _core._gemm_tuning
    _core._gemm_tuning(reset=True)


def operands(rng, m, n, k, ta=False, tb=False, dtype=np.float32):
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    return a, b


def assert_gemm_close(got, a, b, ta=False, tb=False, **kw):
    want = ref.gemm(a, b, transpose_a=ta, transpose_b=tb, **kw)
    kw.pop("relu", None)
    tol = ref.gemm_tolerance(a, b, transpose_a=ta, transpose_b=tb, **kw)
    assert got.shape == want.shape
    err = np.abs(got.astype(np.float64) - want)
    bad = np.argwhere(~(err <= tol))
    assert bad.size == 0, (
        f"{len(bad)} elements off, first at {tuple(bad[0])}: got {got[tuple(bad[0])]}, "
        f"want {want[tuple(bad[0])]}, tol {tol[tuple(bad[0])]}")


def blocking():
    """The active tier's widest tile's register tile and blocking (what widest_tile forces)."""
    return _core.gemm_blocking()


# ---------------------------------------------------------------- shapes, per ISA


def test_edge_shapes_all_transposes(isa, rng):
    """1, MR-1, MR, MR+1 rows x 1, NR-1, NR, NR+1 columns, short and KC-crossing k; and
    last tiles of 4, 5 and 8 rows (the 4-row and, where MR > 8, the 8-row tile)."""
    g = blocking()
    mr, nr, kc = g["mr"], g["nr"], g["kc"]
    ms = sorted({1, max(1, mr - 1), mr, mr + 1, mr + 4, mr + 5, mr + 8, 2 * mr + 8})
    ns = sorted({1, max(1, nr - 1), nr, nr + 1})
    for m in ms:
        for n in ns:
            for k in (1, 7, kc + 1):
                for ta, tb in TRANSPOSES:
                    a, b = operands(rng, m, n, k, ta, tb)
                    c = ops.matmul(a, b, transpose_a=ta, transpose_b=tb)
                    assert c.dtype == np.float32 and c.flags.c_contiguous
                    assert_gemm_close(c, a, b, ta, tb)


@pytest.mark.parametrize("m,n,k", [(37, 41, 43), (101, 103, 257), (13, 257, 509), (211, 5, 97)])
def test_prime_shapes(isa, rng, m, n, k):
    for ta, tb in TRANSPOSES:
        a, b = operands(rng, m, n, k, ta, tb)
        assert_gemm_close(ops.matmul(a, b, transpose_a=ta, transpose_b=tb), a, b, ta, tb)


@pytest.mark.parametrize("m,n,k", [(33, 47, 1), (1, 1, 1), (33, 47, 4096), (1, 300, 4096)])
def test_k_extremes(isa, rng, m, n, k):
    for ta, tb in TRANSPOSES:
        a, b = operands(rng, m, n, k, ta, tb)
        assert_gemm_close(ops.matmul(a, b, transpose_a=ta, transpose_b=tb), a, b, ta, tb)


@pytest.mark.parametrize("m,n,k", [(4000, 3, 17), (3, 4000, 17), (1500, 16, 700), (2, 2, 20000),
                                   (600, 1, 300), (1, 600, 300)])
def test_tall_skinny(isa, rng, m, n, k):
    for ta, tb in TRANSPOSES:
        a, b = operands(rng, m, n, k, ta, tb)
        assert_gemm_close(ops.matmul(a, b, transpose_a=ta, transpose_b=tb), a, b, ta, tb)


def test_dense_layer_shapes(isa, rng):
    """The forward and backprop products of a dense layer, as a training loop calls them."""
    x, w = operands(rng, 128, 256, 784)
    dy = rng.standard_normal((128, 256)).astype(np.float32)
    assert_gemm_close(ops.matmul(x, w), x, w)
    assert_gemm_close(ops.matmul(x, dy, transpose_a=True), x, dy, True, False)  # dW = x^T dy
    assert_gemm_close(ops.matmul(dy, w, transpose_b=True), dy, w, False, True)  # dx = dy W^T


def test_big_gemm_checked_through_a_vector(isa, rng):
    """Large products checked as C@t against A@(B@t), O(mk + kn) work in float64."""
    m, n, k = (700, 900, 800) if isa == "scalar" else (1100, 1300, 1200)
    for ta, tb in [(False, False), (True, False), (False, True)]:
        a, b = operands(rng, m, n, k, ta, tb)
        c = ops.matmul(a, b, transpose_a=ta, transpose_b=tb)
        t = rng.standard_normal(n)
        got, want, tol = ref.matvec_check(a, b, c, t, ta, tb)
        assert np.all(np.abs(got - want) <= tol), np.max(np.abs(got - want) / tol)


# ---------------------------------------------------------------- layouts and views


def unaligned(x):
    """A copy of float32 `x` whose data pointer is not 4-byte aligned."""
    buf = np.zeros(x.size * 4 + 1, dtype=np.uint8)[1:]
    y = np.ndarray(x.shape, np.float32, buf.data)
    y[...] = x
    assert not y.flags.aligned
    return y


def test_views_are_read_in_place_or_converted(isa, rng):
    base_a = rng.standard_normal((60, 90)).astype(np.float32)
    base_b = rng.standard_normal((90, 70)).astype(np.float32)
    cases = [
        (base_a, base_b),                                  # C order
        (np.asfortranarray(base_a), base_b),               # F order: a transpose
        (base_a, np.asfortranarray(base_b)),
        (base_a.T.copy().T, base_b.T.copy().T),            # both F order
        (base_a[:, 5:50], base_b[5:50, :]),                # leading dimension > columns
        (base_a[3:40, 5:50], base_b[5:50, 10:60]),         # offset row/column slices
        (base_a[::2, :], base_b),                          # strided rows, contiguous columns
        (base_a[:, ::3], base_b[::3, :]),                  # strided columns: copied
        (np.asfortranarray(base_a)[:, 4:70], base_b[4:70]),  # F-order column slice
        (base_a.astype(np.float64), base_b),               # float64: cast to float32
        (base_a, base_b.astype(np.float16)),               # float16: cast to float32
        (base_a.astype(base_a.dtype.newbyteorder()), base_b),  # non-native byte order: copied
        (base_a[::-1], base_b[:, ::-1]),                   # reversed (negative strides): copied
        (np.broadcast_to(base_a[:1], (60, 90)), base_b),   # zero row stride: copied
        (unaligned(base_a), unaligned(base_b)),            # misaligned data pointer: copied
    ]
    for a, b in cases:
        a0, b0 = a.copy(), b.copy()
        c = ops.matmul(a, b)
        a32 = np.asarray(a, dtype=np.float32)
        b32 = np.asarray(b, dtype=np.float32)
        assert_gemm_close(c, a32, b32)
        np.testing.assert_array_equal(a, a0)  # inputs untouched
        np.testing.assert_array_equal(b, b0)


def test_transpose_flags_on_views(isa, rng):
    a_base = rng.standard_normal((45, 33)).astype(np.float32)
    b_base = rng.standard_normal((50, 60)).astype(np.float32)
    a = a_base[2:42, :30]   # 40x30, leading dimension 33
    b = b_base[:, 5:45]     # 50x40, leading dimension 60
    a_ref, b_ref = np.ascontiguousarray(a), np.ascontiguousarray(b)
    # op(a) = a.T (30x40), op(b) = b.T (40x50): operands as strided views, F order, C order.
    for aa in (a, np.asfortranarray(a), a_ref):
        for bb in (b, np.asfortranarray(b), b_ref):
            c = ops.matmul(aa, bb, transpose_a=True, transpose_b=True)
            assert_gemm_close(c, a_ref, b_ref, True, True)
    assert_gemm_close(ops.matmul(a_ref.T, b_ref.T), a_ref.T, b_ref.T)  # F-order views


@pytest.mark.parametrize("ta,tb", TRANSPOSES)
def test_packing_choices_give_same_bits(isa, tuning, ta, tb):
    """A and B read in place (small problems) or packed must agree bit for bit."""
    # (32, ...) and (28, ...): last panels of 8 and 4 rows, read in place when A is transposed
    shapes = [(7, 33, 300), (32, 64, 64), (28, 40, 33), (50, 200, 600), (13, 17, 5)]
    results = {}
    for pack_a in (1, 2):  # always, never
        for pack_b in (1, 2):
            tuning(pack_a=pack_a, pack_b=pack_b)
            for (m, n, k) in shapes:
                a, b = operands(np.random.default_rng(m), m, n, k, ta, tb)
                results.setdefault((m, n, k), []).append(ops.matmul(a, b, ta, tb))
    for (m, n, k), outs in results.items():
        a, b = operands(np.random.default_rng(m), m, n, k, ta, tb)
        assert_gemm_close(outs[0], a, b, ta, tb)
        for other in outs[1:]:
            np.testing.assert_array_equal(outs[0], other)


# ---------------------------------------------------------------- full contract


@pytest.mark.parametrize("ta,tb", TRANSPOSES)
def test_alpha_beta_bias_relu(isa, rng, ta, tb):
    g = blocking()
    for (m, n, k) in [(1, 1, 1), (g["mr"] + 1, g["nr"] - 1, 5), (29, 43, g["kc"] + 3), (64, 96, 300)]:
        a, b = operands(rng, m, n, k, ta, tb)
        c0 = rng.standard_normal((m, n)).astype(np.float32)
        bias = rng.standard_normal(n).astype(np.float32)
        for alpha, beta, use_bias, relu in [(1.0, 0.0, False, False), (-0.5, 1.0, False, False),
                                            (2.0, -1.5, True, False), (1.0, 0.0, True, True),
                                            (0.75, 0.25, True, True)]:
            c = c0.copy()
            _core._sgemm_full(a, b, c, ta, tb, alpha, beta, bias if use_bias else None, relu)
            kw = dict(alpha=alpha, beta=beta, bias=bias if use_bias else None)
            assert_gemm_close(c, a, b, ta, tb, c=c0, relu=relu, **kw)
            if relu:
                assert np.all(c >= 0)


def test_beta_zero_never_reads_c(isa, rng):
    """beta == 0: C full of NaN/Inf is overwritten, nothing propagates."""
    for (m, n, k) in [(5, 7, 3), (37, 70, 600)]:
        a, b = operands(rng, m, n, k)
        for fill in (np.nan, np.inf):
            c = np.full((m, n), fill, dtype=np.float32)
            _core._sgemm_full(a, b, c, False, False, 1.0, 0.0, None, False)
            assert np.all(np.isfinite(c))
            assert_gemm_close(c, a, b)


def test_ldc_leaves_the_rest_of_c_alone(isa, rng):
    a, b = operands(rng, 19, 21, 40)
    big = np.full((19, 30), 7.0, dtype=np.float32)
    _core._sgemm_full(a, b, big[:, 4:25], False, False, 1.0, 0.0, None, False)
    assert_gemm_close(big[:, 4:25], a, b)
    assert np.all(big[:, :4] == 7.0) and np.all(big[:, 25:] == 7.0)


def test_relu_propagates_nan(isa):
    a = np.array([[np.nan, 1.0], [1.0, 1.0]], dtype=np.float32)
    b = np.ones((2, 3), dtype=np.float32)
    c = np.zeros((2, 3), dtype=np.float32)
    bias = np.array([-5.0, 0.0, 5.0], dtype=np.float32)
    _core._sgemm_full(a, b, c, False, False, 1.0, 0.0, bias, True)
    assert np.all(np.isnan(c[0]))
    np.testing.assert_array_equal(c[1], [0.0, 2.0, 7.0])


# ---------------------------------------------------------------- threads


@pytest.mark.parametrize("ta,tb", TRANSPOSES)
def test_thread_count_does_not_change_bits(isa, rng, tuning, ta, tb):
    """1 and 2 threads (threshold forced to 0, so small problems split too) agree bitwise."""
    tuning(parallel_min_flops=0.0)
    for (m, n, k) in [(7, 5, 3), (32, 64, 64), (97, 131, 700), (2, 1000, 64), (300, 17, 520)]:
        a, b = operands(rng, m, n, k, ta, tb)
        c0 = rng.standard_normal((m, n)).astype(np.float32)
        bias = rng.standard_normal(n).astype(np.float32)
        outs = []
        for threads in (1, 2, 3, 16):  # 16: more threads than cores and than row panels
            c = c0.copy()
            _core._sgemm_full(a, b, c, ta, tb, 0.5, 0.25, bias, True, threads)
            outs.append(c)
        for other in outs[1:]:
            np.testing.assert_array_equal(outs[0], other)


def test_matmul_bits_follow_no_thread_setting(isa, rng):
    a, b = operands(rng, 256, 300, 500)
    try:
        ranvier.set_num_threads(1)
        c1 = ops.matmul(a, b)
        ranvier.set_num_threads(2)
        c2 = ops.matmul(a, b)
    finally:
        ranvier.set_num_threads(0)
    np.testing.assert_array_equal(c1, c2)


def test_repeated_calls_do_not_allocate(rng, tuning):
    """A training loop's calls allocate nothing once each shape has been seen."""
    a, b = operands(rng, 128, 256, 784)
    dy = rng.standard_normal((128, 784)).astype(np.float32)
    dz = rng.standard_normal((128, 256)).astype(np.float32)

    def epoch():
        ops.matmul(a, b)
        ops.matmul(a[:64], b)  # a smaller last batch
        ops.matmul(a, b[:, :100])
        ops.matmul(a, dy, transpose_a=True)
        ops.matmul(dz, b, transpose_b=True)

    epoch()
    epoch()
    before = tuning()["buffer_allocations"]
    for _ in range(5):
        epoch()
    assert tuning()["buffer_allocations"] == before


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("a_shape,b_shape", [((3,), (3, 4)), ((2, 3), (3,)), ((2, 3, 4), (4, 5)),
                                             ((), (1, 1))])
def test_wrong_ndim_names_the_shape(a_shape, b_shape):
    a = np.ones(a_shape, dtype=np.float32)
    b = np.ones(b_shape, dtype=np.float32)
    bad = "a" if len(a_shape) != 2 else "b"
    with pytest.raises(ValueError, match=rf"{bad} must be 2-D, got {bad}\.shape="):
        ops.matmul(a, b)


@pytest.mark.parametrize("ta,tb", TRANSPOSES)
def test_mismatched_inner_dimensions_name_the_shapes(ta, tb):
    a = np.ones((2, 3), dtype=np.float32)
    b = np.ones((4, 5), dtype=np.float32)
    with pytest.raises(ValueError, match=r"inner dimensions differ.*a\.shape=\(2, 3\).*b\.shape=\(4, 5\)"):
        ops.matmul(a, b, transpose_a=ta, transpose_b=tb)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8, bool, np.complex64, object])
def test_non_float_input_is_a_type_error(dtype):
    good = np.ones((3, 3), dtype=np.float32)
    bad = np.ones((3, 3), dtype=dtype)
    with pytest.raises(TypeError, match=r"a must be a floating-point array, got dtype=.*a\.shape=\(3, 3\)"):
        ops.matmul(bad, good)
    with pytest.raises(TypeError, match=r"b must be a floating-point array"):
        ops.matmul(good, bad)


def test_non_array_is_a_type_error():
    with pytest.raises(TypeError, match="a must be a NumPy array, got list"):
        ops.matmul([[1.0]], np.ones((1, 1), dtype=np.float32))


@pytest.mark.parametrize("a_shape,b_shape", [((0, 3), (3, 4)), ((2, 0), (0, 4)), ((2, 3), (3, 0))])
def test_empty_input_names_the_shape(a_shape, b_shape):
    a = np.ones(a_shape, dtype=np.float32)
    b = np.ones(b_shape, dtype=np.float32)
    with pytest.raises(ValueError, match=r"must not be empty, got [ab]\.shape=\("):
        ops.matmul(a, b)


# ---------------------------------------------------------------- micro-kernel choice

# One shape per class of the per-CPU tile table (gemm/gemm_config.cpp), at reduced sizes:
# W1-like forward (A@B), dW (A^T@B), dX (A@B^T), a 10-unit output layer (column padding),
# a short reduction (k < 64), a large product (past the small-dW FLOP limit), a few rows.
TILE_CLASS_SHAPES = [
    (64, 256, 392, False, False), (392, 128, 64, True, False), (64, 392, 128, False, True),
    (64, 10, 128, False, False), (128, 10, 64, True, False), (64, 128, 10, False, True),
    (256, 512, 300, True, False), (3, 130, 100, False, False), (37, 45, 1, True, True),
]
TILE_NAMES = {"scalar-4x8": "f32-gemm-4x8-scalar", "avx2-6x16": "f32-gemm-6x16-avx2",
              "avx512-12x32": "f32-gemm-12x32-avx512"}


def test_every_ukernel_on_every_shape_class(isa, rng, tuning):
    """Each tile the tier may run, forced, on each shape class: the float64 reference within
    gemm_tolerance, and the same bits at 1, 2 and 3 threads (threshold forced to 0)."""
    tuning(parallel_min_flops=0.0)
    tiles = _core._gemm_ukernels()
    assert "scalar-4x8" in tiles and (isa == "scalar") == (tiles == ["scalar-4x8"])
    for tile in tiles:
        tuning(ukernel=tile)
        for (m, n, k, ta, tb) in TILE_CLASS_SHAPES:
            assert _core._gemm_ukernel_for(m, n, k, ta, tb)["name"] == TILE_NAMES[tile]
            a, b = operands(rng, m, n, k, ta, tb)
            c0 = rng.standard_normal((m, n)).astype(np.float32)
            bias = rng.standard_normal(n).astype(np.float32)
            outs = []
            for threads in (1, 2, 3):
                c = c0.copy()
                _core._sgemm_full(a, b, c, ta, tb, 0.5, 0.25, bias, True, threads)
                outs.append(c)
            assert_gemm_close(outs[0], a, b, ta, tb, alpha=0.5, beta=0.25, c=c0, bias=bias, relu=True)
            for other in outs[1:]:
                np.testing.assert_array_equal(outs[0], other, err_msg=f"{tile} {m}x{n}x{k} ta={ta} tb={tb}")


@pytest.mark.parametrize("m", [5, 16, 31, 32, 33, 64, 100])
def test_one_column_kernel_matches_the_tiles(isa, rng, tuning, m):
    """n == 1 (a one-unit layer's forward and dW) runs the column kernel on one thread (rows
    in vector lanes, blocks of A transposed in registers) and the tiles on more (threshold 0):
    the float64 reference within gemm_tolerance and the same bits, for row counts around the
    vector widths (8, 16, 32-row passes), reductions with a tail and across k-blocks."""
    tuning(parallel_min_flops=0.0)
    kc = _core.gemm_blocking()["kc"]
    for k in (7, 16, 64, 70, kc + 19):
        for ta in (False, True):
            a, b = operands(rng, m, 1, k, ta, False)
            c0 = rng.standard_normal((m, 1)).astype(np.float32)
            bias = rng.standard_normal(1).astype(np.float32)
            outs = []
            for threads in (1, 2):
                c = c0.copy()
                _core._sgemm_full(a, b, c, ta, False, 0.5, 0.25, bias, True, threads)
                outs.append(c)
            assert_gemm_close(outs[0], a, b, ta, False, alpha=0.5, beta=0.25, c=c0, bias=bias, relu=True)
            np.testing.assert_array_equal(outs[0], outs[1], err_msg=f"{m}x1x{k} ta={ta}")


def test_the_tile_choice_never_changes_bits(isa, rng, tuning):
    """The SIMD tiles run the tier's k-blocking and the same per-element arithmetic, so on a
    tier every one of them, and the per-CPU table's choice, gives the same bits (a row of a
    Dense forward then has the same bits whatever the batch around it)."""
    simd = [t for t in _core._gemm_ukernels() if t != "scalar-4x8"]
    if not simd:
        pytest.skip("the scalar tier has one tile")
    for (m, n, k, ta, tb) in TILE_CLASS_SHAPES:
        a, b = operands(rng, m, n, k, ta, tb)
        c0 = rng.standard_normal((m, n)).astype(np.float32)
        bias = rng.standard_normal(n).astype(np.float32)
        outs = []
        for tile in simd + ["config"]:
            tuning(ukernel=tile)
            assert _core._gemm_ukernel_for(m, n, k, ta, tb)["kc"] == _core.gemm_blocking()["kc"]
            c = c0.copy()
            _core._sgemm_full(a, b, c, ta, tb, 0.5, 0.25, bias, True, 1)
            outs.append(c)
        for tile, other in zip(simd[1:] + ["config"], outs[1:]):
            np.testing.assert_array_equal(outs[0], other, err_msg=f"{tile} vs {simd[0]}: {m}x{n}x{k} ta={ta} tb={tb}")


def test_a_row_has_the_same_bits_in_every_tile_height(isa, rng):
    """The tiles of 4, 8 (where MR > 8) and MR rows compute each element with the same FMA
    chain: rows [s, s + L) of a product alone equal those rows of the whole product, for
    every L from 1 to MR + 1 (last tiles of every height) and every transpose."""
    mr = blocking()["mr"]
    m, n, k = 3 * mr + 5, 37, 70
    for ta, tb in TRANSPOSES:
        a, b = operands(rng, m, n, k, ta, tb)
        whole = ops.matmul(a, b, transpose_a=ta, transpose_b=tb)
        for s in (0, 3, mr + 1):
            for length in range(1, mr + 2):
                part = a[:, s:s + length] if ta else a[s:s + length]
                got = ops.matmul(np.ascontiguousarray(part), b, transpose_a=ta, transpose_b=tb)
                np.testing.assert_array_equal(got, whole[s:s + length], err_msg=f"rows {s}+{length} ta={ta} tb={tb}")


def test_a_forced_ukernel_is_capped_by_the_tier(isa, tuning):
    """RANVIER_ISA semantics hold: a tile above the forced tier runs as the tier's widest."""
    tiles = _core._gemm_ukernels()
    for tile in TILE_NAMES:
        tuning(ukernel=tile)
        assert tuning()["ukernel"] == tile
        got = _core._gemm_ukernel_for(128, 256, 784)["name"]
        assert got == TILE_NAMES[tile if tile in tiles else tiles[-1]]
    tuning(ukernel="config")
    assert tuning()["ukernel"] == "config"
    assert _core._gemm_ukernel_for(128, 256, 784)["name"] in {TILE_NAMES[t] for t in tiles}
    if isa in ("scalar", "avx2"):  # below avx512 the table has nothing to choose
        assert _core._gemm_ukernel_for(128, 10, 128)["name"] == TILE_NAMES[tiles[-1]]


def test_unknown_ukernel_name_is_refused(tuning):
    with pytest.raises(ValueError, match="ukernel='avx2-8x8'"):
        tuning(ukernel="avx2-8x8")


def test_zen4_table_rows(tuning):
    """On a Zen 4 (the amd-zen4 row), the measured choices: the 6x16 tile for layers whose few
    columns pad the 12x32 tile (a 10-unit output layer and its dW), 12x32 for the rest."""
    info = tuning(reset=True, ukernel="config")  # the table, even under RANVIER_GEMM_UKERNEL
    if info["config"] != "amd-zen4" or "avx512-12x32" not in _core._gemm_ukernels():
        pytest.skip(f"per-CPU table row {info['config']!r}, tiles {_core._gemm_ukernels()}")
    narrow = TILE_NAMES["avx2-6x16"]
    wide = TILE_NAMES["avx512-12x32"]
    assert _core._gemm_ukernel_for(128, 10, 128)["name"] == narrow
    assert _core._gemm_ukernel_for(128, 10, 128, True, False)["name"] == narrow
    assert _core._gemm_ukernel_for(512, 10, 2048)["name"] == narrow
    assert _core._gemm_ukernel_for(128, 256, 784)["name"] == wide
    assert _core._gemm_ukernel_for(784, 256, 128, True, False)["name"] == wide
    assert _core._gemm_ukernel_for(128, 128, 10, False, True)["name"] == wide
    assert _core._gemm_ukernel_for(512, 2048, 2048, False, True)["name"] == wide


@pytest.mark.parametrize("value,ok", [("scalar-4x8", True), ("avx512-12x32", True), ("bogus", False)])
def test_ranvier_gemm_ukernel_environment_variable(value, ok):
    """RANVIER_GEMM_UKERNEL forces the tile from the start (capped by the tier); an unknown
    name makes the first GEMM raise a ValueError naming the variable."""
    import os
    import subprocess
    import sys
    code = ("import numpy as np, ranvier\nfrom ranvier import _core, ops\n"
            "a = np.ones((8, 8), np.float32)\n"
            "try:\n    c = ops.matmul(a, a)\nexcept ValueError as e:\n    print('ValueError', e)\n"
            "else:\n    print(_core._gemm_tuning()['ukernel'], _core._gemm_ukernel_for(8, 8, 8)['name'],"
            " _core._gemm_ukernels()[-1], float(c[0, 0]))\n")
    env = dict(os.environ, RANVIER_GEMM_UKERNEL=value)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    words = out.stdout.split()
    if not ok:
        assert words[0] == "ValueError" and "RANVIER_GEMM_UKERNEL='bogus'" in out.stdout
        return
    forced, name, widest, c00 = words
    assert forced == value and c00 == "8.0"
    tiles = list(TILE_NAMES)
    want = value if tiles.index(value) <= tiles.index(widest) else widest
    assert name == TILE_NAMES[want]
