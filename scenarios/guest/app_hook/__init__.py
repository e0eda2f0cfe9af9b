"""What runs inside the user's own Python program under `cascadesim exec` and the pytest plugin: the cloud's names
resolved through the shared resolver (`cascadesim_names`), loaded at start-up by `sitecustomize`.

This directory is put on the program's PYTHONPATH by `cascadesim exec` only; nothing here is imported by a Python
that was not started that way (the pytest plugin imports `cascadesim_names` itself, for the length of a test).
"""
