"""A scenario file and everything read from it, validated: the model, its fields' checks and one-line problems,
policy sets, capacities, declared services, the cloud's settings, the load plan, verdict horizons, sweep axes and
what-if files.
"""
