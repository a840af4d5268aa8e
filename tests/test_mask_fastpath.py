"""The mask route's fast path: grids and unit sparsity counted on packed bits, masks read
while the listing is, equal to the plain computation on unpacked masks."""

import json

import numpy as np
import pytest
from tensorboard.backend.event_processing import data_provider as mux_data_provider
from tensorboard.backend.event_processing import plugin_event_multiplexer

from benchmarks.fixtures import logdir_builder as lb
from tb_prune_plugin import bodies, mask_codec, mask_layout, reader, summary
from tests.test_plugin_routes import _tensorboard_app

PREFIX = "/data/plugin/pruning"
CTX = lb.request_context()

# Rank 1, 2, 3 and 4; output units (last axis) a multiple of 8 (the packed path) or not
# (unpacked), sizes not a multiple of 8, a single weight.
SHAPES = [
    (7,),
    (16,),
    (13, 24),
    (24, 13),
    (40, 64),
    (9, 17),
    (2, 5, 8),
    (3, 3, 5, 16),
    (3, 3, 5, 7),
    (9, 1, 4, 32),
    (1, 8),
    (1, 1),
]
MAX_CELLS = (1, 2, 3, 7, 16, 50, 64, 1000, 10**6)


def _packed(mask):
    return mask_codec.decode_packed(*mask_codec.encode_mask(mask))


def _regions(layout, rng):
    regions = [mask_layout.select_region(layout)]
    if layout.rows > 8:
        # Cells start on a byte of packed bits; the region ends inside one.
        regions.append(mask_layout.select_region(layout, row0=8, rows=layout.rows - 9))
    for _ in range(5):
        row0 = int(rng.integers(0, layout.rows))
        col0 = int(rng.integers(0, layout.cols))
        rows = int(rng.integers(1, layout.rows - row0 + 1))
        cols = int(rng.integers(1, layout.cols - col0 + 1))
        regions.append(mask_layout.select_region(layout, row0, col0, rows, cols))
    return regions


def _naive_cells(mask, region, cell_rows, cell_cols):
    """Cell bytes counted one cell at a time on the unpacked layout matrix."""
    matrix = mask_layout.layout_matrix(mask)[
        region.row0 : region.row0 + region.rows, region.col0 : region.col0 + region.cols
    ]
    rows, cols = -(-region.rows // cell_rows), -(-region.cols // cell_cols)
    cells = np.zeros((rows, cols), dtype=np.uint8)
    for i in range(rows):
        for j in range(cols):
            cell = matrix[i * cell_rows : (i + 1) * cell_rows, j * cell_cols : (j + 1) * cell_cols]
            cells[i, j] = int(np.floor(255 * np.count_nonzero(cell) / cell.size + 0.5))
    return cells


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_packed_grids_equal_unpacked_on_random_masks(shape):
    rng = np.random.default_rng(sum(shape) + len(shape))
    layout = mask_layout.layout_of(shape)
    checked = 0
    for density in (0.0, 0.3, 0.5, 1.0):
        current = rng.random(shape) < density
        previous = rng.random(shape) < 0.5
        packed, packed_previous = _packed(current), _packed(previous)
        for region in _regions(layout, rng):
            for max_cells in MAX_CELLS:
                for plain_previous, fast_previous in ((None, None), (previous, packed_previous)):
                    plain = mask_layout.mask_grids(current, region, max_cells, plain_previous)
                    fast = mask_layout.mask_grids(packed, region, max_cells, fast_previous)
                    for a, b in zip(plain, fast):
                        if a is None:
                            assert b is None
                            continue
                        assert (b.cell_rows, b.cell_cols) == (a.cell_rows, a.cell_cols)
                        assert b.cells.dtype == np.uint8 and b.cells.shape == a.cells.shape
                        assert b.cells.tobytes() == a.cells.tobytes()
                        checked += 1
            plain_units = mask_layout.unit_sparsity(current, region)
            assert mask_layout.unit_sparsity(packed, region).tobytes() == plain_units.tobytes()
    # 4 densities x regions x budgets x (1 grid without previous + 3 with)
    assert checked == 4 * (7 if layout.rows > 8 else 6) * len(MAX_CELLS) * 4


def test_packed_grids_equal_cell_by_cell_counts():
    """Against an independent count, on shapes where the cells are whole bytes of packed
    bits (8 and 16 rows high) and where they are not."""
    rng = np.random.default_rng(7)
    for shape, max_cells in (((96, 128), 192), ((3, 3, 24, 64), 54), ((100, 72), 900)):
        current = rng.random(shape) < 0.4
        previous = rng.random(shape) < 0.6
        layout = mask_layout.layout_of(shape)
        for region in (
            mask_layout.select_region(layout),
            mask_layout.select_region(layout, 16, 3, layout.rows - 21, 50),
        ):
            kept, newly, regrown = mask_layout.mask_grids(
                _packed(current), region, max_cells, _packed(previous)
            )
            size = (kept.cell_rows, kept.cell_cols)
            np.testing.assert_array_equal(kept.cells, _naive_cells(current, region, *size))
            np.testing.assert_array_equal(
                newly.cells, _naive_cells(previous & ~current, region, *size)
            )
            np.testing.assert_array_equal(
                regrown.cells, _naive_cells(~previous & current, region, *size)
            )


def test_packed_path_taken_for_whole_byte_rows_only():
    assert mask_layout._packed_transposed(_packed(np.ones((5, 16), bool))).shape == (5, 2)
    assert mask_layout._packed_transposed(_packed(np.ones((3, 3, 5, 16), bool))).shape == (45, 2)
    for shape in ((16,), (5, 12), (2, 3, 7), (0, 8)):
        assert mask_layout._packed_transposed(_packed(np.ones(shape, bool))) is None


def test_packed_grids_of_masks_of_other_shapes_raise():
    region = mask_layout.select_region(mask_layout.layout_of((4, 8)))
    with pytest.raises(ValueError, match=r"cannot compare masks of shapes \(8, 4\) and \(4, 8\)"):
        mask_layout.mask_grids(
            _packed(np.ones((4, 8), bool)), region, 100, _packed(np.ones((8, 4), bool))
        )


def test_decode_packed_ignores_padding_bits_as_decode_mask_does():
    header = json.dumps({"shape": [3, 3], "encoding": "packbits", "kept": 2}).encode()
    payload = bytes([0b10000000, 0b11111111])  # entries 0 and 8 set, 7 padding bits set
    packed = mask_codec.decode_packed(header, payload)
    assert (packed.kept, packed.bits.tolist()) == (2, [0b10000000, 0b10000000])
    assert not packed.bits.flags.writeable
    np.testing.assert_array_equal(packed.unpack(), mask_codec.decode_mask(header, payload))
    bad = json.dumps({"shape": [3, 3], "encoding": "packbits", "kept": 9}).encode()
    with pytest.raises(mask_codec.MaskDecodeError, match="keeps 2 weights, header says 9"):
        mask_codec.decode_packed(bad, payload)


def test_popcount_table_equals_bitwise_count():
    values = np.arange(256, dtype=np.uint8)
    expected = [bin(v).count("1") for v in range(256)]
    assert mask_codec._POPCOUNT_TABLE[values].tolist() == expected
    assert mask_codec.popcount(values).tolist() == expected


# The route --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def masks_logdir(tmp_path_factory):
    """Run "r": for each shape of `SHAPES`, weight "w<i>" with random masks at steps 0, 10."""
    logdir = tmp_path_factory.mktemp("masks")
    rng = np.random.default_rng(3)
    with lb.RunWriter(logdir / "r") as w:
        for step in (0, 10):
            w.add(
                step,
                [
                    summary.mask("w%d" % i, rng.random(shape) < 0.2 + 0.05 * i)
                    for i, shape in enumerate(SHAPES)
                ],
            )
    return logdir


def _client(logdir):
    return _tensorboard_app(logdir)[0]


def _queries(layout):
    bounds = [{}, {"row0": 0, "col0": 0, "rows": 1, "cols": 1}]
    if layout.rows > 8:
        bounds.append({"row0": 8, "col0": 1, "rows": layout.rows - 9, "cols": layout.cols - 1})
    for extra in bounds:
        for max_cells in (1, 3, 16, 64, 262144):
            for diff in (0, 1):
                query = dict(extra, step=10, max_cells=max_cells, diff=diff)
                yield "&".join("%s=%s" % item for item in sorted(query.items()))


def test_mask_route_bodies_equal_unpacked_computation(masks_logdir, monkeypatch):
    """Every /mask body over the packed masks, byte for byte against the same requests
    answered from unpacked masks (the packed path switched off), in fresh servers."""
    urls = [
        "%s/mask?run=r&weight=w%d&%s" % (PREFIX, i, query)
        for i, shape in enumerate(SHAPES)
        for query in _queries(mask_layout.layout_of(shape))
    ]
    client = _client(masks_logdir)
    fast = [client.get(url) for url in urls]
    monkeypatch.setattr(mask_layout, "_packed_transposed", lambda mask: None)
    plain_client = _client(masks_logdir)
    for url, response in zip(urls, fast):
        plain = plain_client.get(url)
        assert (response.status_code, plain.status_code) == (200, 200), url
        assert response.get_data() == plain.get_data(), url
    # 2 or 3 regions (6 shapes have more than 8 rows) x 5 budgets x diff on and off
    assert len(urls) == 2 * 5 * 2 * len(SHAPES) + 5 * 2 * 6


def test_first_mask_after_mask_steps_reads_payloads_while_listing(masks_logdir):
    """The frontend asks /mask_steps, then /mask: the headers are parsed by then, and the
    two masks in force are read at once, during the listing call."""
    from tests.test_reader import CountingProvider

    counting = CountingProvider(lb.local_data_provider(masks_logdir))
    pruning = reader.PruningReader(counting, index_max_age=3600)
    assert [s for s, _ in pruning.mask_steps(CTX, "", "r", "w4")] == [0, 10]
    counting.calls.clear()
    body = bodies.mask_body(pruning, CTX, "", "r", "w4", 10, {}, 64, True)
    assert sorted(counting.calls) == ["read_blob", "read_blob", "read_blob_sequences"]
    assert (body["step"], body["previous_step"], body["shape"]) == (10, 0, [40, 64])
    counting.calls.clear()
    bodies.mask_body(pruning, CTX, "", "r", "w4", 10, {}, 16, True)
    assert counting.calls == ["read_blob_sequences"]  # both masks in the reader's cache


def test_mask_prefetch_from_a_stale_listing_uses_the_fresh_records(tmp_path):
    """A mask recorded after the series' listing was kept: the prefetch reads what the old
    listing had in force at the step; the answer is the fresh listing's record."""
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(0, [summary.mask("k", np.zeros((2, 8), bool))])
    multiplexer = plugin_event_multiplexer.EventMultiplexer(tensor_size_guidance={"pruning": 0})
    multiplexer.AddRunsFromDirectory(str(tmp_path))
    multiplexer.Reload()
    provider = mux_data_provider.MultiplexerDataProvider(multiplexer, str(tmp_path))
    pruning = reader.PruningReader(provider, index_max_age=3600)
    assert pruning.mask_steps(CTX, "", "r", "k") == [(0, (2, 8))]
    with lb.RunWriter(tmp_path / "r") as w:
        w.add(5, [summary.mask("k", np.ones((2, 8), bool))])
    multiplexer.Reload()
    body = bodies.mask_body(pruning, CTX, "", "r", "k", 10, {}, 64, True)
    assert (body["step"], body["previous_step"], body["kept_total"]) == (5, 0, 16)
    assert body["unit_sparsity"] == [0.0] * 8
    assert (body["kept"], body["regrown"], body["newly_pruned"]) == (
        bodies._b64(np.full((8, 2), 255, np.uint8)),
        bodies._b64(np.full((8, 2), 255, np.uint8)),
        bodies._b64(np.zeros((8, 2), np.uint8)),
    )
