"""The DNS control plane: a Route 53-like zone, its UDP authority, the shared resolver, the Planner and Enactors."""

from services.dns.authority import Authority
from services.dns.cache import ResolverCache
from services.dns.control import DYNAMODB_ENDPOINTS, FIPS, IPV6, REGIONAL, ZONE, DnsControlPlane, DnsSettings
from services.dns.enactor import Enactor, EnactorTiming, EndpointLocks, Variant
from services.dns.planner import HttpHealthProbe, Planner, RouterTarget
from services.dns.plans import Plan, PlanStore
from services.dns.resolver import SharedResolver
from services.dns.stub import StubResolver
from services.dns.zone import Action, Change, RecordSet, WeightedAddress, Zone

__all__ = [
    "DYNAMODB_ENDPOINTS",
    "FIPS",
    "IPV6",
    "REGIONAL",
    "ZONE",
    "Action",
    "Authority",
    "Change",
    "DnsControlPlane",
    "DnsSettings",
    "Enactor",
    "EnactorTiming",
    "EndpointLocks",
    "HttpHealthProbe",
    "Plan",
    "PlanStore",
    "Planner",
    "RecordSet",
    "ResolverCache",
    "RouterTarget",
    "SharedResolver",
    "StubResolver",
    "Variant",
    "WeightedAddress",
    "Zone",
]
