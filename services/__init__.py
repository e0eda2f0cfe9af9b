"""The simulated cloud. Importing it starts nothing; `services.cloud.Cloud` builds and runs a topology."""
