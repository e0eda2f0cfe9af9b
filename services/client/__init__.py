"""Calling a service: what one logical request means (policy, resolution, headers, retries), written once as a
sans-I/O core, and the async engine every service and virtual user calls through.

    exchange        the sans-I/O core (`exchange()`), also driven by the Locust users on gevent
    service_client  `ServiceClient`: the core on the runtime seam, names through the shared resolver's stub
"""
