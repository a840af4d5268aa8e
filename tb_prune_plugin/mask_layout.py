"""The 2-D layout of a pruning mask, and its reduction to small grids for drawing.

Layout: rows are output units (the last axis); columns are the remaining axes with
the input axis (second to last) outermost, then the leading (spatial) axes in order:

    Dense   [in, out]          -> [out, in]
    Conv1D  [k, in, out]       -> [out, in * k]
    Conv2D  [kh, kw, in, out]  -> [out, in * kh * kw]  (each filter's kernel per input
                                                        channel side by side)
    rank 1  [n]                -> [1, n]
    rank 0  []                 -> [1, 1]

A region of the layout (`Region`) is reduced to a grid of at most `max_cells` cells;
each cell covers `cell_rows x cell_cols` entries (fewer at the bottom and right
edges) and holds the fraction of its entries that are set, as a byte
`round(255 * fraction)`. When the region fits in `max_cells`, cells are 1x1 and
bytes are 0 or 255 (`Grid.exact`).

All functions are pure and work with NumPy reductions (no Python loop over
cells); the layout of a 2-D weight is a transposed view, never a copy, so a
4096x4096 mask reduces in a few milliseconds.

`mask_grids`, `reduce_region`, `diff_grids` and `unit_sparsity` also take a
`mask_codec.PackedMask`. When its layout's rows are whole bytes of the packed bits
(rank >= 2 with a multiple of 8 output units), the cells are counted on the packed
bytes: with cells a multiple of 8 rows high that start on a byte, by popcounts (and
a bitwise and for the diff); otherwise only the region's bytes are unpacked. Unit
sparsity is then summed per bit position. Other packed masks are unpacked. The
results are exactly those of the unpacked mask.
"""

import dataclasses
import math
from typing import Tuple

import numpy as np

from tb_prune_plugin import mask_codec

ROW_AXIS = "output unit"
INPUT_AXIS = "input"
# Names of the leading (spatial) axes of rank-3, -4 and -5 kernels.
_SPATIAL_AXES = {
    1: ("kernel",),
    2: ("kernel_h", "kernel_w"),
    3: ("kernel_d", "kernel_h", "kernel_w"),
}


class RegionError(ValueError):
    """A region that does not fit the layout, or an invalid cell budget."""


@dataclasses.dataclass(frozen=True)
class Layout:
    """The 2-D layout of a mask of `shape`.

    Attributes:
      shape: the mask's shape.
      rows, cols: the layout's size.
      row_axis: what a row is (`ROW_AXIS`), or None for rank 0 and 1.
      col_axes: the axes a column index runs over, outermost first.
      col_shape: the sizes of `col_axes` (their product is `cols`).
    """

    shape: Tuple[int, ...]
    rows: int
    cols: int
    row_axis: object
    col_axes: Tuple[str, ...]
    col_shape: Tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class Region:
    """A rectangle of a layout: rows `row0 .. row0+rows-1`, columns `col0 .. col0+cols-1`."""

    row0: int
    col0: int
    rows: int
    cols: int


@dataclasses.dataclass(frozen=True)
class Grid:
    """A region reduced to cells.

    Attributes:
      cells: uint8 [grid rows, grid cols], 255 * the fraction of set entries per cell.
      cell_rows, cell_cols: entries per cell (edge cells may hold fewer).
      exact: True when cells are 1x1.
    """

    cells: np.ndarray
    cell_rows: int
    cell_cols: int

    @property
    def exact(self):
        return self.cell_rows == 1 and self.cell_cols == 1


def layout_of(shape):
    """The `Layout` of a mask of `shape` (a sequence of non-negative ints)."""
    shape = tuple(int(d) for d in shape)
    rank = len(shape)
    if rank == 0:
        return Layout(shape, 1, 1, None, (), ())
    if rank == 1:
        return Layout(shape, 1, shape[0], None, (ROW_AXIS,), shape)
    leading = shape[:-2]
    names = _SPATIAL_AXES.get(len(leading), tuple("axis_%d" % i for i in range(len(leading))))
    col_shape = (shape[-2],) + leading
    return Layout(
        shape,
        shape[-1],
        math.prod(col_shape),
        ROW_AXIS,
        (INPUT_AXIS,) + names,
        col_shape,
    )


def _transposed_layout(mask):
    """The layout's transpose, [cols, rows]: a view of a 2-D mask, C-ordered for others."""
    mask = np.asarray(mask)
    if mask.ndim == 0:
        return mask.reshape(1, 1)
    if mask.ndim == 1:
        return mask.reshape(-1, 1)
    if mask.ndim == 2:
        return mask
    # [k..., in, out] -> [in, k..., out] -> [in * k..., out]; the last axis stays contiguous.
    return np.moveaxis(mask, -2, 0).reshape(-1, mask.shape[-1])


def layout_matrix(mask):
    """The mask laid out in 2-D, [rows, cols] (a view when the mask is 2-D)."""
    return _transposed_layout(mask).T


def select_region(layout, row0=None, col0=None, rows=None, cols=None):
    """The `Region` of `layout` given by optional bounds (default: the whole layout).

    Raises:
      RegionError: a bound is negative or the region extends beyond the layout.
    """
    row0 = 0 if row0 is None else int(row0)
    col0 = 0 if col0 is None else int(col0)
    for name, start, total in (("row0", row0, layout.rows), ("col0", col0, layout.cols)):
        if start < 0 or (start >= total and not start == total == 0):
            raise RegionError(
                "%s=%d is outside the layout, which has %d %s"
                % (name, start, total, "rows" if name == "row0" else "columns")
            )
    rows = layout.rows - row0 if rows is None else int(rows)
    cols = layout.cols - col0 if cols is None else int(cols)
    for name, start, size, total in (
        ("rows", row0, rows, layout.rows),
        ("cols", col0, cols, layout.cols),
    ):
        if size < 1 and total > 0:
            raise RegionError("%s must be at least 1, got %d" % (name, size))
        if start + size > total:
            raise RegionError(
                "%s=%d from %d reaches beyond the layout's %d %s"
                % (name, size, start, total, "rows" if name == "rows" else "columns")
            )
    return Region(row0, col0, rows, cols)


def cell_size(rows, cols, max_cells):
    """(cell_rows, cell_cols) for reducing `rows x cols` entries to at most `max_cells` cells.

    Cells are about square: a region that fits gets 1x1 cells; otherwise both sides grow
    to about sqrt(rows * cols / max_cells), limited by the region's own size.
    """
    if max_cells < 1:
        raise RegionError("max_cells must be at least 1, got %d" % max_cells)
    if rows * cols <= max_cells:
        return 1, 1
    # ceil(sqrt(ceil(rows * cols / max_cells))), in integers.
    side = math.isqrt(-(-rows * cols // max_cells) - 1) + 1
    cell_rows = max(min(side, rows), -(-rows // max_cells))
    grid_rows = -(-rows // cell_rows)
    cell_cols = max(1, -(-cols // (max_cells // grid_rows)))
    return cell_rows, cell_cols


def _block_sums(transposed, region, cell_rows, cell_cols):
    """[grid rows, grid cols] set entries per cell of `region` of the layout (unsigned ints
    wide enough for a cell).

    `transposed` is the layout's transpose ([cols, rows]); it is reduced in its own memory
    order: first groups of `cell_cols` of its rows (contiguous row adds), then groups of
    `cell_rows` along the small result's contiguous axis; the grid is transposed back.
    Sums are kept in the narrowest unsigned type that holds them, which numpy adds fastest.
    """
    sub = transposed[
        region.col0 : region.col0 + region.cols, region.row0 : region.row0 + region.rows
    ]
    if sub.dtype == np.bool_:
        sub = sub.view(np.uint8)
    if cell_rows == 1 and cell_cols == 1:
        return sub.T
    by_cols = _reduce_rows(sub, cell_cols, _sum_dtype(cell_cols))  # [grid cols, rows]
    return _reduce_cols(by_cols, cell_rows, _sum_dtype(cell_rows * cell_cols)).T


def _sum_dtype(limit):
    """The narrowest unsigned integer type that holds sums up to `limit`."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if limit <= np.iinfo(dtype).max:
            return dtype
    return np.uint64


def _reduce_rows(a, size, dtype):
    """Sums of consecutive groups of `size` rows of 2-D `a` (the last group may be short)."""
    n, m = a.shape
    full = n // size
    out = np.empty((-(-n // size), m), dtype=dtype)
    if full and size <= 64:
        # One contiguous add per row of a group: much faster than a casting sum over axis 1.
        groups = a[: full * size].reshape(full, size, m)
        np.copyto(out[:full], groups[:, 0, :], casting="unsafe")
        for k in range(1, size):
            np.add(out[:full], groups[:, k, :], out=out[:full], casting="unsafe")
    elif full:
        out[:full] = a[: full * size].reshape(full, size, m).sum(axis=1, dtype=dtype)
    if n % size:
        out[full:] = a[full * size :].sum(axis=0, keepdims=True, dtype=dtype)
    return out


def _reduce_cols(a, size, dtype):
    """Sums of consecutive groups of `size` columns of 2-D C-ordered `a` (last may be short)."""
    n, m = a.shape
    full = m // size
    out = np.empty((n, -(-m // size)), dtype=dtype)
    if full:
        out[:, :full] = a[:, : full * size].reshape(n, full, size).sum(axis=2, dtype=dtype)
    if m % size:
        out[:, full:] = a[:, full * size :].sum(axis=1, keepdims=True, dtype=dtype)
    return out


def _cell_counts(total, size):
    """Entries per cell along one side: [size, size, ..., remainder]."""
    counts = np.full(-(-total // size), size, dtype=np.int64)
    if total % size:
        counts[-1] = total % size
    return counts


def _to_bytes(sums, region, cell_rows, cell_cols):
    full = cell_rows * cell_cols
    if full + 1 < sums.size:
        # Most cells hold `full` entries: their bytes come from a table of every possible sum
        # (the same formula), then the short cells of the last grid row and column are redone.
        cells = _fraction_bytes(np.arange(full + 1), full)[sums]
        row_counts = _cell_counts(region.rows, cell_rows)
        col_counts = _cell_counts(region.cols, cell_cols)
        if region.rows % cell_rows:
            cells[-1:] = _fraction_bytes(sums[-1:], np.outer(row_counts[-1:], col_counts))
        if region.cols % cell_cols:
            cells[:, -1:] = _fraction_bytes(sums[:, -1:], np.outer(row_counts, col_counts[-1:]))
        return cells
    entries = np.outer(_cell_counts(region.rows, cell_rows), _cell_counts(region.cols, cell_cols))
    return _fraction_bytes(sums, entries)


def _fraction_bytes(sums, entries):
    """round(255 * sums / entries) as uint8 (0 where `entries` is 0)."""
    # Half up: floor((510 * sums + entries) / (2 * entries)). In float64 this is exact (and
    # 10x faster than int64 floor division): the numerator is an integer below 2^53, and a
    # quotient that is not an integer is at least 1 / (2 * entries) >= 2^-32 from the
    # nearest integer, far above float64's rounding error at values up to 255 (2^-45).
    numerator = sums * 510.0 + entries
    return np.floor(numerator / np.maximum(2.0 * entries, 1.0)).astype(np.uint8)


def reduce_region(mask, region, max_cells):
    """The `Grid` of `region` of the mask's layout: kept fraction per cell, as bytes."""
    return mask_grids(mask, region, max_cells)[0]


def diff_grids(previous, current, region, max_cells):
    """Grids of the weights newly pruned and regrown between two masks of one weight.

    Newly pruned is `previous & ~current`, regrown is `~previous & current`; both masks
    must have the same shape. Returns `(newly_pruned Grid, regrown Grid)`.
    """
    return mask_grids(current, region, max_cells, previous=previous)[1:]


def mask_grids(current, region, max_cells, previous=None):
    """The kept grid of `current`, and the diff grids against `previous` if it is given.

    Returns `(kept, newly_pruned, regrown)` `Grid`s over `region`, the last two None
    without `previous`. The diff counts come from block sums shared with the kept grid:
    newly pruned = sum(previous) - sum(both), regrown = sum(current) - sum(both).
    The masks are boolean arrays or `mask_codec.PackedMask`s.

    Raises:
      ValueError: `previous` and `current` differ in shape.
    """
    if previous is not None and _shape(previous) != _shape(current):
        raise ValueError(
            "cannot compare masks of shapes %s and %s" % (_shape(previous), _shape(current))
        )
    cell_rows, cell_cols = cell_size(region.rows, region.cols, max_cells)
    packed = _packed_transposed(current)
    if packed is not None and (previous is None or _packed_transposed(previous) is not None):
        sums = _packed_block_sums(
            packed,
            None if previous is None else _packed_transposed(previous),
            region,
            cell_rows,
            cell_cols,
        )
    else:
        sums = _block_sums_of(
            _unpacked(current),
            None if previous is None else _unpacked(previous),
            region,
            cell_rows,
            cell_cols,
        )

    def grid(sums):
        return Grid(_to_bytes(sums, region, cell_rows, cell_cols), cell_rows, cell_cols)

    if previous is None:
        return grid(sums[0]), None, None
    current_sums, previous_sums, both_sums = (a.astype(np.int64) for a in sums)
    return (
        grid(current_sums),
        grid(previous_sums - both_sums),
        grid(current_sums - both_sums),
    )


def _block_sums_of(current, previous, region, cell_rows, cell_cols):
    """(current sums,) or (current, previous, both sums) per cell of boolean masks."""
    transposed = _transposed_layout(current)
    current_sums = _block_sums(transposed, region, cell_rows, cell_cols)
    if previous is None:
        return (current_sums,)
    previous_transposed = _transposed_layout(previous)
    # Only the region's entries are combined, never the whole mask.
    rows = slice(region.row0, region.row0 + region.rows)
    cols = slice(region.col0, region.col0 + region.cols)
    both = np.bitwise_and(
        _as_bytes(previous_transposed[cols, rows]), _as_bytes(transposed[cols, rows])
    )
    both_sums = _block_sums(both, Region(0, 0, region.rows, region.cols), cell_rows, cell_cols)
    previous_sums = _block_sums(previous_transposed, region, cell_rows, cell_cols)
    return current_sums, previous_sums, both_sums


def _shape(mask):
    return mask.shape if isinstance(mask, mask_codec.PackedMask) else np.shape(mask)


def _unpacked(mask):
    return mask.unpack() if isinstance(mask, mask_codec.PackedMask) else mask


def _packed_transposed(mask):
    """The layout's transpose, [cols, rows // 8] packed bytes, of a `PackedMask` whose
    layout rows are whole bytes (rank >= 2, a multiple of 8 output units, not empty);
    None otherwise. A view for rank 2, a copy of the packed bytes for higher ranks."""
    if not isinstance(mask, mask_codec.PackedMask):
        return None
    shape = mask.shape
    if len(shape) < 2 or shape[-1] % 8 or mask.size == 0:
        return None
    row_bytes = shape[-1] // 8
    bits = mask.bits.reshape(shape[:-1] + (row_bytes,))
    if len(shape) == 2:
        return bits
    return np.moveaxis(bits, -2, 0).reshape(-1, row_bytes)


def _region_bytes(packed, region):
    """(bytes [region cols, n], bit offset of the region's first row in them, bit mask of
    the last byte's bits inside the region) of packed transposed layout `packed`."""
    first, end = region.row0 // 8, region.row0 + region.rows
    sub = packed[region.col0 : region.col0 + region.cols, first : -(-end // 8)]
    return sub, region.row0 % 8, (0xFF << (8 - end % 8)) & 0xFF if end % 8 else 0xFF


def _region_bits(sub, offset, rows):
    """The region's entries as 0/1 bytes [cols, rows], unpacked from its packed bytes."""
    return np.unpackbits(sub, axis=1)[:, offset : offset + rows]


def _packed_block_sums(current, previous, region, cell_rows, cell_cols):
    """As `_block_sums_of`, from packed transposed layouts (see `_packed_transposed`)."""
    current_sub, offset, last_bits = _region_bytes(current, region)
    previous_sub = None if previous is None else _region_bytes(previous, region)[0]
    if cell_rows % 8 or offset:
        # Cells are not whole bytes: unpack the region alone.
        local = Region(0, 0, region.rows, region.cols)
        current_bits = _region_bits(current_sub, offset, region.rows)
        sums = (_block_sums(current_bits, local, cell_rows, cell_cols),)
        if previous_sub is None:
            return sums
        previous_bits = _region_bits(previous_sub, offset, region.rows)
        both = np.bitwise_and(previous_bits, current_bits)
        return sums + (
            _block_sums(previous_bits, local, cell_rows, cell_cols),
            _block_sums(both, local, cell_rows, cell_cols),
        )

    def cell_sums(sub):
        counts = mask_codec.popcount(sub)
        if last_bits != 0xFF:
            counts[:, -1] = mask_codec.popcount(sub[:, -1] & np.uint8(last_bits))
        by_cols = _reduce_rows(counts, cell_cols, _sum_dtype(8 * cell_cols))
        return _reduce_cols(by_cols, cell_rows // 8, _sum_dtype(cell_rows * cell_cols)).T

    if previous_sub is None:
        return (cell_sums(current_sub),)
    both = np.bitwise_and(previous_sub, current_sub)
    return cell_sums(current_sub), cell_sums(previous_sub), cell_sums(both)


def _as_bytes(a):
    """The array as 0/1 bytes (a view of a boolean array)."""
    return (a if a.dtype == np.bool_ else a != 0).view(np.uint8)


# Byte value -> uint64 whose little-endian bytes are its bits, most significant first.
_SPREAD_BITS = (
    np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).view("<u8").reshape(256)
)
# Rows of packed bytes summed in one uint64 per byte column: each byte of it counts to 255.
_SPREAD_ROWS = 255


def _bit_column_sums(packed):
    """int64 [8 * n]: the set bits at each bit position of the columns of uint8 [m, n]
    `packed`, summed over its rows (the column sums of its unpacked bits)."""
    m, n = packed.shape
    total = np.zeros(8 * n, dtype=np.int64)
    # Blocks of about 2^17 bytes: each byte becomes 8 bytes of a uint64 while it is summed.
    block = max(1, (1 << 17) // max(1, n * _SPREAD_ROWS)) * _SPREAD_ROWS
    for start in range(0, m, block):
        part = packed[start : start + block]
        chunks = -(-part.shape[0] // _SPREAD_ROWS)
        spread = np.zeros((chunks * _SPREAD_ROWS, n), dtype="<u8")
        np.take(_SPREAD_BITS, part, out=spread[: part.shape[0]])
        sums = spread.reshape(chunks, _SPREAD_ROWS, n).sum(axis=1, dtype="<u8")
        total += sums.view(np.uint8).reshape(chunks, 8 * n).sum(axis=0, dtype=np.int64)
    return total


def unit_sparsity(mask, region):
    """float64 [region.rows]: the sparsity of each output unit (layout row) in the region.

    A unit's sparsity is over all its weights (the whole layout row), not only the
    region's columns; NaN for units without weights. `mask` is a boolean array or a
    `mask_codec.PackedMask`.
    """
    packed = _packed_transposed(mask)
    if packed is not None:
        whole = Region(region.row0, 0, region.rows, packed.shape[0])
        sub, offset, _ = _region_bytes(packed, whole)
        kept = _bit_column_sums(sub)[offset : offset + region.rows]
        return 1.0 - kept / packed.shape[0]
    transposed = _transposed_layout(_unpacked(mask))[:, region.row0 : region.row0 + region.rows]
    if transposed.dtype == np.bool_:
        transposed = transposed.view(np.uint8)
    kept = transposed.sum(axis=0, dtype=np.int64)
    size = transposed.shape[0]
    if size == 0:
        return np.full(region.rows, np.nan)
    return 1.0 - kept / size
