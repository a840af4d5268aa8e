"""The response bodies of the mask analysis routes (http_api.md: /mask_convergence,
/mask_overlap, and /mask with `compare_run`): pure functions of a `reader.PruningReader` and
parsed parameters, as in `bodies`."""

import functools

from tensorboard import errors

from tb_prune_plugin import bodies, mask_layout
from tb_prune_plugin.reader import convergence, overlap


def mask_convergence_body(pruning_reader, ctx, eid, runs, weight):
    """The body of /mask_convergence: per run, the distance of each recorded mask of `weight`
    from the run's last one, and the early-bird step (`reader.convergence`).

    `series` follows the order of `runs` for the runs with a decodable mask of `weight`; the
    others are listed in `missing`.
    """
    found, missing = pruning_reader.mask_convergence_many(ctx, eid, runs, weight)
    series = [
        {
            "run": run,
            "shape": list(c.shape),
            "size": c.size,
            "steps": c.steps,
            "differing": c.differing,
            "fraction": c.fractions,
            "early_bird_step": c.early_bird_step,
            "unreadable": c.unreadable,
        }
        for run, c in found.items()
    ]
    return {
        "weight": weight,
        "limit": convergence.EARLY_BIRD_FRACTION,
        "series": series,
        "missing": missing,
    }


def mask_overlap_body(pruning_reader, ctx, eid, runs, weight):
    """The body of /mask_overlap: for the runs whose last mask of `weight` has one shape, the
    IoU of their kept sets at their last masks (runs x runs) and over steps per pair
    (`reader.overlap`).

    `groups` holds one entry per shape, in order of its first run in `runs`; the runs without
    a readable mask of `weight` are listed in `missing`.
    """
    groups, missing = pruning_reader.mask_overlap(ctx, eid, runs, weight)
    return {
        "weight": weight,
        "over_steps": overlap.OVER_STEPS,
        "groups": [
            {
                "shape": list(g.shape),
                "size": g.size,
                "runs": g.runs,
                "last_steps": g.last_steps,
                "kept": g.kept,
                "intersection": g.intersection,
                "union": g.union,
                "iou": g.iou,
                "pairs": [
                    {
                        "runs": list(p.runs),
                        "steps": p.steps,
                        "intersection": p.intersection,
                        "union": p.union,
                        "iou": p.iou,
                    }
                    for p in g.pairs
                ],
            }
            for g in groups
        ],
        "missing": missing,
    }


def mask_body(pruning_reader, ctx, eid, run, weight, step, bounds, max_cells, diff, compare_run):
    """The body of /mask: `bodies.mask_body`, or with `compare_run` the mask of `run` against
    the mask of `compare_run` in force at the same step (`mask_compare_body`); an empty
    `compare_run` is none."""
    if not compare_run:
        return bodies.mask_body(
            pruning_reader, ctx, eid, run, weight, step, bounds, max_cells, diff
        )
    if diff:
        raise errors.InvalidArgumentError(
            "parameters 'diff' and 'compare_run' (%r) cannot be given together: the grid shows "
            "either the changes since the previous mask or the comparison with another run"
            % (compare_run,)
        )
    return mask_compare_body(
        pruning_reader, ctx, eid, run, weight, step, bounds, max_cells, compare_run
    )


def mask_compare_body(pruning_reader, ctx, eid, run, weight, step, bounds, max_cells, compare_run):
    """The /mask body of `run` (without diff) plus the comparison with the mask of `weight`
    in `compare_run` in force at `step`: `compare_step` (null: none there), `compare_kept_total`,
    `shape_differs`, and when the shapes agree the grids `both`, `only_a` (kept in `run` only),
    `only_b` (kept in `compare_run` only) over the same region and cells as `kept`, with the
    whole masks' `intersection`, `union` and `iou`.

    Kept as /mask views are, by the mask records at or before `step` of both runs.

    Raises:
      NotFoundError: unknown run or weight in `run` or `compare_run`, or no mask of `run` at
        or before `step`.
    """
    other = pruning_reader.mask_data(ctx, eid, compare_run, weight, prefetch_step=step)
    other_records = tuple((d.step, d.wall_time) for d in other[1] if d.step <= step)
    view_key = (tuple(sorted(bounds.items())), max_cells, "compare", compare_run, other_records)

    def build(at):
        try:
            other_at = pruning_reader.mask_at(ctx, eid, compare_run, weight, step, other)
        except errors.NotFoundError:
            other_at = None
        body = bodies._mask_body(run, weight, step, bounds, max_cells, False, at)
        return _with_comparison(body, at.packed, other_at, compare_run, bounds, max_cells)

    return pruning_reader.mask_view(ctx, eid, run, weight, step, view_key, build)


def _with_comparison(body, mask, other_at, compare_run, bounds, max_cells):
    """`body` with the comparison keys of `mask_compare_body` (`other_at`: the other run's
    `MaskAtStep`, or None)."""
    other = None if other_at is None else other_at.packed
    body["compare_run"] = compare_run
    body["compare_step"] = None if other_at is None else other_at.step
    body["compare_kept_total"] = None if other is None else other.kept
    body["shape_differs"] = other is not None and other.shape != mask.shape
    if other is None or body["shape_differs"]:
        return body
    region = mask_layout.select_region(mask_layout.layout_of(mask.shape), **bounds)
    grid = functools.partial(mask_layout.mask_grids, region=region, max_cells=max_cells)
    for name, part in zip(("both", "only_a", "only_b"), overlap.mask_compare(mask, other)):
        body[name] = bodies._b64(grid(part)[0].cells)
    intersection, union = overlap.kept_overlap(mask, other)
    body.update(intersection=intersection, union=union, iou=overlap.iou(intersection, union))
    return body
