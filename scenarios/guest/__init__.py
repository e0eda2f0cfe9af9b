"""A guest in the outage: the user's own program (`cascadesim exec`) or test (the pytest plugin), sent to the cloud
by name through a hook Python loads at start-up.

    program         the guest as a process: its environment and its end
    exec_command    `cascadesim exec`
    pytest_plugin   the `cascadesim_cloud` fixture's work
    app_hook/       `sitecustomize`: the cloud's names resolved by the cloud's DNS inside the guest
"""
