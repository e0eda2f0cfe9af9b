"""The simulated cloud. Importing it starts nothing; `services.topology.cloud.Cloud` builds and runs a topology."""

from services.native import use_source_if_asked

use_source_if_asked()  # the Python source over the optional compiled build, if asked or if the build is stale
