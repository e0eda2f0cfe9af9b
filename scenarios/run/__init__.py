"""Running a scenario: the cloud and its fault timeline on a live or virtual network, the load, the sampler, the
verdict watch, the run directory; and what a run shows in the terminal (progress, events, tables).

    execute        `execute()`: one run, live or virtual, from a scenario to its run directory and report
    runner         the cloud plus its fault timeline, for a bounded time
    faults         the faults and operator actions, played at their times
    sampler        one row a second: what every node and the load did
    verdict_watch  ending a run early once its verdict is decided
    locust_run     Locust as processes of its own
    serve          `cascadesim serve`: the live cloud until its time is up
    arguments      what the commands share: reading a scenario given on the command line
    console, progress, listing   the terminal: event lines, tables, progress bars
"""
