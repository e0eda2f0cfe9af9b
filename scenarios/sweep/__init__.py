"""Many runs of one scenario: grids of axis values × policy sets × seeds, threshold searches, comparisons of policy
sets and what-if variants; side by side on this machine's cores or on a Dask cluster.

    grid           `cascadesim sweep`: the grid, its cache and sweep.json
    threshold      where along one axis each policy set tips, by bisection
    compare        `cascadesim compare`: policy sets or what-if variants side by side
    side_by_side   virtual runs one process per core
    cluster, cell  cells on a Dask cluster, each a fresh interpreter
"""
