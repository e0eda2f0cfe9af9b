"""A scenario, translated into the plain settings that `services.topology.cloud.Cloud` is built from."""

from __future__ import annotations

from scenarios.config.capacity_config import CapacityConfig
from scenarios.config.declared_services import DeclaredService, NlbConfig
from scenarios.config.policies import PolicySet, load_policy_set, policy_path
from scenarios.config.schema import Scenario
from services.dns import DnsSettings, EnactorTiming, Variant
from services.ec2.dwfm import DwfmSettings
from services.lambda_ import LambdaSettings
from services.net.addresses import DNS_HOST
from services.node.capacity import CapacitySpec, ServiceTime
from services.topology.cloud import CloudSettings, Ec2Settings, LambdaNodeSettings
from services.topology.declared import CallSettings, DeclaredSettings
from services.topology.nginx import NginxUnavailable, require_nginx
from services.topology.nlb import NlbSettings
from services.topology.nlb_health import HealthRules


def cloud_settings(scenario: Scenario, *, live: bool = False) -> CloudSettings:
    """The cloud a scenario describes, under its policy set; real nginx in front of the routers only where the
    scenario asks for it and the run is live (virtual runs keep the built-in model)."""
    policy = load_policy_set(policy_path(scenario.policy))
    ec2, lambda_ = scenario.ec2, scenario.lambda_
    return CloudSettings(
        seed=scenario.seed,
        dns=dns_settings(scenario, policy),
        routers=scenario.dynamodb.routers,
        dynamodb_port=scenario.dynamodb.port,
        router_capacity=capacity_spec(scenario.dynamodb.capacity),
        client=policy.client.settings(),
        server=policy.server.settings(),
        ec2=None
        if ec2 is None
        else Ec2Settings(
            port=ec2.port,
            dwfm=DwfmSettings(
                droplets=ec2.droplets,
                workers=ec2.dwfm_workers,
                work_time=ec2.dwfm_work_time,
                lease_duration=ec2.lease_duration,
                renew_margin=ec2.renew_margin,
                item_timeout=ec2.item_timeout,
                scan_interval=ec2.scan_interval,
                bootstrap_rate=ec2.bootstrap_rate,
            ),
            slots_per_droplet=ec2.slots_per_droplet,
            canary_interval=ec2.canary_interval,
            netmgr_workers=ec2.netmgr_workers,
            propagation_time=ec2.propagation_time,
            dwfm_max_queue=ec2.dwfm_max_queue,
            netmgr_max_queue=ec2.netmgr_max_queue,
        ),
        load_balancer="nginx" if live and scenario.dynamodb.load_balancer == "nginx" else "builtin",
        services=tuple(declared_settings(d) for d in scenario.services),
        lambda_=None
        if lambda_ is None
        else LambdaNodeSettings(
            port=lambda_.port,
            function=LambdaSettings(
                sandboxes=lambda_.sandboxes, max_sandboxes=lambda_.max_sandboxes, config_ttl=lambda_.config_ttl
            ),
            poller_supervised=lambda_.poller_supervised,
        ),
    )


def declared_settings(service: DeclaredService) -> DeclaredSettings:
    """A declared service as services/topology/declared.py takes it."""
    return DeclaredSettings(
        name=service.name,
        port=service.port,
        capacity=capacity_spec(service.capacity),
        operations={
            name: tuple(
                CallSettings(c.service, c.operation, c.table, c.cache_ttl, c.on_failure == "serve_from_cache")
                for c in operation.calls
            )
            for name, operation in service.operations.items()
        },
        nlb=None if service.nlb is None else nlb_settings(service.nlb),
        protocol=service.protocol,
        session_scale=service.session_scale,
    )


def nlb_settings(nlb: NlbConfig) -> NlbSettings:
    return NlbSettings(
        targets=nlb.targets,
        nodes=nlb.nodes,
        check_interval=nlb.check_interval,
        rules=HealthRules(nlb.healthy_threshold, nlb.unhealthy_threshold, nlb.max_removed_share, nlb.velocity_window),
        checkers=nlb.checkers,
        checker_lifetime=nlb.checker_lifetime,
        dns_failover=nlb.dns_failover,
        check_capacity=nlb.check_capacity,
        change_cost=nlb.change_cost,
    )


def live_problem(scenario: Scenario) -> str | None:
    """What this machine lacks for a live run of the scenario (one line naming the field), or None."""
    if scenario.dynamodb.load_balancer == "nginx":
        try:
            require_nginx()
        except NginxUnavailable as exc:
            return f"dynamodb.load_balancer = 'nginx': {exc}"
    return None


def dns_settings(scenario: Scenario, policy: PolicySet) -> DnsSettings:
    dns, enactors = scenario.dns, scenario.enactors
    return DnsSettings(
        ttl=dns.ttl,
        negative_ttl=dns.negative_ttl,
        authority=(DNS_HOST, dns.authority_port),
        resolver=(DNS_HOST, dns.resolver_port),
        serve_stale=dns.serve_stale or policy.resolver.serve_stale,
        last_known_good=dns.last_known_good or policy.resolver.last_known_good,
        plan_interval=scenario.planner.plan_interval,
        health_timeout=scenario.planner.health_timeout,
        variant=Variant(enactors.variant),
        timing=EnactorTiming(enactors.poll_interval, enactors.transaction_time, enactors.lock_retry),
        cleanup_age=enactors.cleanup_age,
        refuse_empty=enactors.refuse_empty,
    )


def capacity_spec(config: CapacityConfig) -> CapacitySpec:
    st = config.service_time
    return CapacitySpec(config.workers, ServiceTime(st.kind, st.mean, st.p99), config.queue_limit, config.drop_expired)
