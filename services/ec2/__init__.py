"""The EC2-like service: its API nodes and the DropletWorkflow Manager (DWFM) that leases the droplets."""

from services.ec2.api import Ec2Api
from services.ec2.dwfm import DropletWorkflowManager, DwfmSettings
from services.ec2.fleet import Fleet

__all__ = ["DropletWorkflowManager", "DwfmSettings", "Ec2Api", "Fleet"]
