"""What every node of the cloud is built from.

capacity         the capacity model: workers, queue, admission and service times
restartable      a node whose process can die and come back (what `kill_node` acts on)
metrics          a node's statistics in Prometheus' text format
internal_errors  a node's own bugs, answered as the real service would and reported without flooding the log
"""
