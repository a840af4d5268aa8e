"""The response bodies of the mask analysis routes (http_api.md: /mask_convergence,
/mask_overlap): pure functions of a `reader.PruningReader` and parsed parameters, as in
`bodies`."""

from tb_prune_plugin.reader import convergence


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
