"""The simulated cloud. Importing it starts nothing; `services.topology.cloud.Cloud` builds and runs a topology."""
