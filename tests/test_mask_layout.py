"""mask_layout: 2-D layouts, regions, grids, diffs and unit sparsity on hand-made masks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tb_prune_plugin import mask_layout as ml


def _bits(text):
    """A 2-D bool array from rows of 0/1 characters."""
    return np.array([[c == "1" for c in row.strip()] for row in text.strip().splitlines()])


# Layouts -------------------------------------------------------------------------------------


def test_layout_of_dense_kernel_is_out_by_in():
    assert ml.layout_of((3, 2)) == ml.Layout((3, 2), 2, 3, "output unit", ("input",), (3,))


def test_layout_of_conv2d_kernel_is_out_by_in_kh_kw():
    assert ml.layout_of([2, 3, 4, 5]) == ml.Layout(
        (2, 3, 4, 5), 5, 24, "output unit", ("input", "kernel_h", "kernel_w"), (4, 2, 3)
    )


def test_layout_of_conv1d_and_conv3d_kernels_name_spatial_axes():
    assert ml.layout_of((3, 4, 5)).col_axes == ("input", "kernel")
    assert ml.layout_of((2, 3, 3, 4, 5)).col_axes == ("input", "kernel_d", "kernel_h", "kernel_w")
    assert ml.layout_of((2, 3, 3, 4, 5)).cols == 72


def test_layout_of_rank_6_names_leading_axes_by_index():
    layout = ml.layout_of((2, 2, 2, 2, 3, 4))
    assert layout.col_axes == ("input", "axis_0", "axis_1", "axis_2", "axis_3")
    assert (layout.rows, layout.cols) == (4, 48)


def test_layout_of_rank_1_is_one_row():
    assert ml.layout_of((7,)) == ml.Layout((7,), 1, 7, None, ("output unit",), (7,))


def test_layout_of_rank_0_is_one_cell():
    assert ml.layout_of(()) == ml.Layout((), 1, 1, None, (), ())


def test_layout_of_empty_dense_kernel_has_no_columns():
    layout = ml.layout_of((0, 4))
    assert (layout.rows, layout.cols) == (4, 0)


def test_layout_matrix_dense_is_transposed_view():
    mask = _bits("10\n11\n01")  # [in=3, out=2]
    layout = ml.layout_matrix(mask)
    np.testing.assert_array_equal(layout, _bits("110\n011"))
    assert np.shares_memory(layout, mask)


def test_layout_matrix_conv2d_puts_input_outermost():
    # mask[0, b, i, o] for kh=1, kw=2, in=2, out=3; entry code = 100b + 10i + o.
    codes = np.zeros((1, 2, 2, 3), dtype=int)
    for b in range(2):
        for i in range(2):
            for o in range(3):
                codes[0, b, i, o] = 100 * b + 10 * i + o
    layout = ml.layout_matrix(codes)
    # Row o, columns (i, b): i outermost, then the kernel position.
    np.testing.assert_array_equal(
        layout,
        [
            [0, 100, 10, 110],
            [1, 101, 11, 111],
            [2, 102, 12, 112],
        ],
    )


def test_layout_matrix_rank_1_and_0():
    np.testing.assert_array_equal(ml.layout_matrix(np.array([1, 0, 1], bool)), [[1, 0, 1]])
    np.testing.assert_array_equal(ml.layout_matrix(np.array(True)), [[True]])


# Regions -------------------------------------------------------------------------------------


def test_select_region_defaults_to_whole_layout():
    assert ml.select_region(ml.layout_of((3, 2))) == ml.Region(0, 0, 2, 3)


def test_select_region_from_start_defaults_to_rest():
    assert ml.select_region(ml.layout_of((10, 8)), row0=2, col0=7) == ml.Region(2, 7, 6, 3)


def test_select_region_explicit_bounds():
    assert ml.select_region(ml.layout_of((10, 8)), 1, 2, 3, 4) == ml.Region(1, 2, 3, 4)


@pytest.mark.parametrize(
    "bounds,message",
    [
        (dict(row0=-1), "row0=-1 is outside the layout, which has 8 rows"),
        (dict(row0=8), "row0=8 is outside the layout, which has 8 rows"),
        (dict(col0=10), "col0=10 is outside the layout, which has 10 columns"),
        (dict(rows=0), "rows must be at least 1, got 0"),
        (dict(cols=-2), "cols must be at least 1, got -2"),
        (dict(row0=5, rows=4), "rows=4 from 5 reaches beyond the layout's 8 rows"),
        (dict(cols=11), "cols=11 from 0 reaches beyond the layout's 10 columns"),
    ],
)
def test_select_region_outside_layout_raises(bounds, message):
    with pytest.raises(ml.RegionError, match=message):
        ml.select_region(ml.layout_of((10, 8)), **bounds)


def test_select_region_of_empty_layout_is_empty():
    assert ml.select_region(ml.layout_of((0, 4))) == ml.Region(0, 0, 4, 0)


# Cell sizes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rows,cols,max_cells,expected",
    [
        (32, 64, 65536, (1, 1)),
        (256, 256, 65536, (1, 1)),
        (4096, 4096, 65536, (16, 16)),
        (4, 4, 4, (2, 2)),
        (3, 5, 6, (2, 2)),
        (3, 5, 4, (2, 3)),
        (1, 10_000_000, 65536, (1, 153)),
        (1_000_000, 1, 10, (100_000, 1)),
        (5, 7, 1, (5, 7)),
        (0, 7, 1, (1, 1)),
    ],
)
def test_cell_size_examples(rows, cols, max_cells, expected):
    assert ml.cell_size(rows, cols, max_cells) == expected


@settings(max_examples=300, deadline=None)
@given(
    rows=st.integers(1, 10**6),
    cols=st.integers(1, 10**6),
    max_cells=st.integers(1, 2**20),
)
def test_cell_size_grid_never_exceeds_max_cells(rows, cols, max_cells):
    cell_rows, cell_cols = ml.cell_size(rows, cols, max_cells)
    assert 1 <= cell_rows <= rows and 1 <= cell_cols <= cols
    assert -(-rows // cell_rows) * -(-cols // cell_cols) <= max_cells


def test_cell_size_zero_max_cells_raises():
    with pytest.raises(ml.RegionError, match="max_cells must be at least 1, got 0"):
        ml.cell_size(2, 2, 0)


# Grids ---------------------------------------------------------------------------------------


def test_reduce_region_small_mask_is_exact():
    mask = _bits("10\n11\n01")  # layout 110 / 011
    grid = ml.reduce_region(mask, ml.select_region(ml.layout_of(mask.shape)), 65536)
    assert grid.exact and (grid.cell_rows, grid.cell_cols) == (1, 1)
    np.testing.assert_array_equal(grid.cells, [[255, 255, 0], [0, 255, 255]])
    assert grid.cells.dtype == np.uint8


def test_reduce_region_cells_hold_rounded_kept_fraction():
    layout = _bits("11001\n10001\n00011")  # [rows=3, cols=5]
    mask = layout.T  # the Dense kernel [in=5, out=3] whose layout this is
    grid = ml.reduce_region(mask, ml.select_region(ml.layout_of(mask.shape)), 6)
    assert (grid.cell_rows, grid.cell_cols, grid.exact) == (2, 2, False)
    # 3/4 -> 191.25 -> 191, 1/2 -> 127.5 rounds up to 128; edge cells hold fewer entries.
    np.testing.assert_array_equal(grid.cells, [[191, 0, 255], [0, 128, 255]])


def test_reduce_region_two_by_two_cells_with_short_edges():
    layout = _bits("11100\n11000\n00001")  # [3, 5], max 4 cells -> 2x3 cells
    grid = ml.reduce_region(layout.T, ml.Region(0, 0, 3, 5), 4)
    assert (grid.cell_rows, grid.cell_cols) == (2, 3)
    # Cells: rows 0-1 x cols 0-2 = 5/6; rows 0-1 x cols 3-4 = 0/4; row 2 x cols 0-2 = 0/3;
    # row 2 x cols 3-4 = 1/2.
    np.testing.assert_array_equal(grid.cells, [[213, 0], [0, 128]])


def test_reduce_region_subregion_offsets():
    layout = _bits("0000\n0110\n0100\n0000")
    grid = ml.reduce_region(layout.T, ml.Region(1, 1, 2, 2), 65536)
    np.testing.assert_array_equal(grid.cells, [[255, 255], [255, 0]])


def test_reduce_region_conv_kernel_uses_layout_order():
    mask = np.zeros((1, 2, 2, 3), dtype=bool)
    mask[0, 1, 0, 2] = True  # output 2, input 0, kernel position 1 -> layout (2, 1)
    mask[0, 0, 1, 0] = True  # output 0, input 1, kernel position 0 -> layout (0, 2)
    grid = ml.reduce_region(mask, ml.select_region(ml.layout_of(mask.shape)), 100)
    np.testing.assert_array_equal(grid.cells, [[0, 0, 255, 0], [0, 0, 0, 0], [0, 255, 0, 0]])


def test_reduce_region_empty_mask_gives_empty_grid():
    mask = np.zeros((0, 4), dtype=bool)
    grid = ml.reduce_region(mask, ml.select_region(ml.layout_of(mask.shape)), 16)
    assert grid.cells.shape == (4, 0) and grid.exact


def _naive_grid(layout, region, cell_rows, cell_cols):
    sub = layout[region.row0 : region.row0 + region.rows, region.col0 : region.col0 + region.cols]
    out = []
    for r in range(0, sub.shape[0], cell_rows):
        row = []
        for c in range(0, sub.shape[1], cell_cols):
            block = sub[r : r + cell_rows, c : c + cell_cols]
            row.append(int(np.floor(255 * block.mean() + 0.5)))
        out.append(row)
    return np.array(out, dtype=np.uint8).reshape(-1, -(-sub.shape[1] // cell_cols))


@settings(max_examples=120, deadline=None)
@given(
    mask=hnp.arrays(np.bool_, hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=7)),
    max_cells=st.integers(1, 60),
    data=st.data(),
)
def test_reduce_region_matches_naive_reduction(mask, max_cells, data):
    layout = ml.layout_of(mask.shape)
    row0 = data.draw(st.integers(0, layout.rows - 1))
    col0 = data.draw(st.integers(0, layout.cols - 1))
    rows = data.draw(st.integers(1, layout.rows - row0))
    cols = data.draw(st.integers(1, layout.cols - col0))
    region = ml.select_region(layout, row0, col0, rows, cols)
    grid = ml.reduce_region(mask, region, max_cells)
    expected = _naive_grid(ml.layout_matrix(mask), region, grid.cell_rows, grid.cell_cols)
    np.testing.assert_array_equal(grid.cells, expected)
    assert grid.cells.size <= max_cells


# Diffs and unit sparsity ---------------------------------------------------------------------


def test_diff_grids_newly_pruned_and_regrown():
    previous = _bits("10\n11\n01")  # layout 110 / 011
    current = _bits("00\n11\n10")  # layout 011 / 010
    region = ml.select_region(ml.layout_of(previous.shape))
    newly, regrown = ml.diff_grids(previous, current, region, 65536)
    np.testing.assert_array_equal(newly.cells, [[255, 0, 0], [0, 0, 255]])
    np.testing.assert_array_equal(regrown.cells, [[0, 0, 255], [0, 0, 0]])


def test_diff_grids_reduced_cells_hold_fractions():
    previous = np.ones((4, 4), dtype=bool)
    current = previous.copy()
    current[0, 0] = False  # layout (0, 0): newly pruned
    newly, regrown = ml.diff_grids(previous, current, ml.Region(0, 0, 4, 4), 4)
    np.testing.assert_array_equal(newly.cells, [[64, 0], [0, 0]])  # 1/4 of 255 = 63.75
    np.testing.assert_array_equal(regrown.cells, [[0, 0], [0, 0]])


def test_diff_grids_of_region_only():
    previous = np.zeros((4, 4), dtype=bool)
    current = np.eye(4, dtype=bool)
    newly, regrown = ml.diff_grids(previous, current, ml.Region(2, 1, 2, 3), 100)
    np.testing.assert_array_equal(regrown.cells, [[0, 255, 0], [0, 0, 255]])
    np.testing.assert_array_equal(newly.cells, np.zeros((2, 3)))


def test_diff_grids_different_shapes_raises():
    with pytest.raises(ValueError, match=r"shapes \(2, 2\) and \(2, 3\)"):
        ml.diff_grids(np.ones((2, 2), bool), np.ones((2, 3), bool), ml.Region(0, 0, 2, 2), 4)


def test_unit_sparsity_is_over_whole_units():
    mask = _bits("10\n11\n01\n00")  # layout 1100 / 0110: unit 0 keeps 2 of 4, unit 1 2 of 4
    mask[3, 1] = True  # unit 1 keeps 3 of 4
    region = ml.Region(0, 0, 2, 1)  # one column only: sparsity still over whole units
    np.testing.assert_array_equal(ml.unit_sparsity(mask, region), [0.5, 0.25])


def test_unit_sparsity_of_region_rows():
    mask = np.zeros((2, 3, 4, 5), dtype=bool)
    mask[..., 3] = True
    np.testing.assert_array_equal(ml.unit_sparsity(mask, ml.Region(2, 0, 3, 24)), [1, 0, 1])


def test_unit_sparsity_of_rank_1_mask_is_one_unit():
    np.testing.assert_array_equal(
        ml.unit_sparsity(np.array([1, 0, 0, 0], bool), ml.Region(0, 0, 1, 4)), [0.75]
    )


def test_unit_sparsity_without_weights_is_nan():
    assert np.isnan(ml.unit_sparsity(np.zeros((0, 2), bool), ml.Region(0, 0, 2, 0))).all()


def test_mask_grids_without_previous_has_no_diff():
    mask = _bits("10\n11\n01")
    kept, newly, regrown = ml.mask_grids(mask, ml.Region(0, 0, 2, 3), 4)
    assert (newly, regrown) == (None, None)
    assert (kept.cell_rows, kept.cell_cols) == (2, 1)
    np.testing.assert_array_equal(kept.cells, [[128, 255, 128]])  # layout 110 / 011


def test_mask_grids_with_previous_equal_diff_grids():
    rng = np.random.default_rng(5)
    previous, current = rng.random((2, 9, 7, 5)) < 0.5
    region = ml.Region(1, 3, 4, 50)
    kept, newly, regrown = ml.mask_grids(current, region, 30, previous=previous)
    expected = ml.diff_grids(previous, current, region, 30)
    np.testing.assert_array_equal(newly.cells, expected[0].cells)
    np.testing.assert_array_equal(regrown.cells, expected[1].cells)
    prev_layout, cur_layout = ml.layout_matrix(previous), ml.layout_matrix(current)
    naive = _naive_grid(prev_layout & ~cur_layout, region, newly.cell_rows, newly.cell_cols)
    np.testing.assert_array_equal(newly.cells, naive)
    np.testing.assert_array_equal(kept.cells, ml.reduce_region(current, region, 30).cells)
