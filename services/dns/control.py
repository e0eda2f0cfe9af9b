"""The DNS control plane assembled: Zone, plan store, Planner, three Enactors, the authority and the resolver."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from services import runtime
from services.dns.authority import Authority
from services.dns.cache import ResolverCache
from services.dns.enactor import Enactor, EnactorTiming, EndpointLocks, Variant
from services.dns.planner import HealthProbe, HttpHealthProbe, Planner, RouterTarget
from services.dns.plans import PlanStore
from services.dns.resolver import SharedResolver
from services.dns.zone import Action, Change, RecordSet, RecordSetChange, Zone
from services.event_kinds import EventKind, OperatorKind
from services.events import EventLog
from services.net.addresses import DNS_AUTHORITY_PORT, DNS_HOST, DNS_RESOLVER_PORT
from services.net.network import Address, Network
from services.runtime import TaskStatus

ZONE = "cloud.test"
REGIONAL = "dynamodb.us-east-1.cloud.test"
IPV6 = "dynamodb.us-east-1.api.cloud.test"
FIPS = "dynamodb-fips.us-east-1.cloud.test"
DYNAMODB_ENDPOINTS = (REGIONAL, IPV6, FIPS)
ENACTOR_NAMES = ("A", "B", "C")


@dataclass(frozen=True)
class DnsSettings:
    """What a scenario decides about DNS (seconds, generations)."""

    ttl: int = 5
    negative_ttl: int = 5
    authority: Address = (DNS_HOST, DNS_AUTHORITY_PORT)
    resolver: Address = (DNS_HOST, DNS_RESOLVER_PORT)
    serve_stale: bool = False
    last_known_good: bool = False
    plan_interval: float = 2.0
    health_timeout: float = 0.5
    variant: Variant = Variant.AWS_2025
    timing: EnactorTiming = field(default_factory=EnactorTiming)
    cleanup_age: int = 10
    refuse_empty: bool = False  # the Enactors refuse a change that would leave an endpoint empty


class DnsControlPlane:
    def __init__(
        self,
        network: Network,
        events: EventLog,
        settings: DnsSettings,
        routers: Sequence[RouterTarget],
        rng_for: Callable[[str], random.Random],
        probe: HealthProbe | None = None,
    ) -> None:
        self.network = network
        self.events = events
        self.settings = settings
        self.zone = Zone(ZONE, negative_ttl=settings.negative_ttl)
        self.zone.subscribe(self._on_record_change)
        self.store = PlanStore()
        self.locks = EndpointLocks()
        # The plane closes the HTTP probe it made; a probe passed in belongs to the caller.
        self._own_probe: HttpHealthProbe | None = None
        if probe is None:
            probe = self._own_probe = HttpHealthProbe(network, settings.health_timeout)
        self.planner = Planner(
            self.store,
            DYNAMODB_ENDPOINTS,
            routers,
            probe,
            events,
            plan_interval=settings.plan_interval,
        )
        self.enactors = {
            name: Enactor(
                name,
                settings.variant,
                store=self.store,
                zone=self.zone,
                locks=self.locks,
                endpoints=DYNAMODB_ENDPOINTS,
                events=events,
                rng=rng_for(f"enactor-{name}"),
                timing=settings.timing,
                ttl=settings.ttl,
                cleanup_age=settings.cleanup_age,
                refuse_empty=settings.refuse_empty,
            )
            for name in ENACTOR_NAMES
        }
        self.authority = Authority(self.zone, rng_for("authority"))
        self.resolver = SharedResolver(
            network,
            settings.authority,
            ResolverCache(serve_stale=settings.serve_stale, last_known_good=settings.last_known_good),
            rng_for("resolver"),
        )

    async def run(self, *, task_status: TaskStatus[None] = runtime.TASK_STATUS_IGNORED) -> None:
        """Serve DNS and run the Planner and the Enactors until cancelled; `started` once DNS answers with
        the first plan's addresses (so no client's first lookup meets, and caches, an NXDOMAIN)."""
        try:
            async with runtime.create_task_group() as tg:
                await tg.start(self.authority.serve, self.network, self.settings.authority)
                await tg.start(self.resolver.serve, self.settings.resolver)
                await self.planner.publish_once()
                for enactor in self.enactors.values():
                    tg.start_soon(enactor.run)
                await self._first_addresses()
                task_status.started()
                await runtime.sleep(self.planner.plan_interval)
                await self.planner.run()
        finally:
            if self._own_probe is not None:
                with runtime.CancelScope(shield=True):
                    await self._own_probe.aclose()

    async def _first_addresses(self) -> None:
        filled = runtime.Event()

        def notice(change: RecordSetChange) -> None:
            if change.name == REGIONAL and change.after is not None and not change.after.empty:
                filled.set()

        self.zone.subscribe(notice)
        if (record := self.zone.get(REGIONAL)) is None or record.empty:
            await filled.wait()

    def restore_dns(self) -> None:
        """The operators' manual repair: write the newest plan onto every endpoint, bypassing the Enactors."""
        plan = self.store.newest()
        if plan is None:
            return
        self.zone.change(
            [
                Change(Action.UPSERT, RecordSet(e, plan.endpoints[e], self.settings.ttl, plan.generation))
                for e in DYNAMODB_ENDPOINTS
            ]
        )
        self.events.emit(
            EventKind.OPERATOR_ACTION,
            "operator",
            f"restore_dns: wrote plan {plan.generation} to every endpoint",
            action=OperatorKind.RESTORE_DNS,
            generation=plan.generation,
        )

    def _on_record_change(self, change: RecordSetChange) -> None:
        was_empty = change.before is None or change.before.empty
        now_empty = change.after is None or change.after.empty
        if now_empty and not was_empty:
            self.events.emit(
                EventKind.RECORD_EMPTIED,
                "route53",
                f"{change.name} has no addresses: DNS answers NODATA",
                name=change.name,
                generation=None if change.after is None else change.after.generation,
            )
        elif was_empty and not now_empty and change.before is not None:
            self.events.emit(EventKind.RECORD_FILLED, "route53", f"{change.name} has addresses again", name=change.name)
