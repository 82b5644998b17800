"""What a worker loads before it screens anything: the rule set (and, beside it, reference
data), each kept current by a mirror of its compacted topic."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from pipeline import metrics, topics
from pipeline.c2c.agreements import Agreements
from pipeline.c2c.inbound import DeadLetters, PartnerInbound
from pipeline.c2c.sending import load_sharing
from pipeline.kafka.mirror import TopicMirror
from pipeline.reference.aeo import AeoRegistry
from pipeline.reference.clearances import Clearances
from pipeline.reference.parties import ReferenceData
from pipeline.reference.partner_findings import PartnerFindings
from pipeline.reference.watchlist import Watchlist
from pipeline.rules.compiler import CompiledRuleSet
from pipeline.rules.evaluator import EvaluationSettings, RuleEvaluator
from pipeline.rules.loader import load_ruleset
from pipeline.rules.source import PublishedRules, RuleSetHolder
from pipeline.screening.enrich import PartyLookup
from pipeline.settings import KafkaSettings, ScoringSettings, Settings

log = logging.getLogger(__name__)


def start_rules(settings: Settings) -> tuple[RuleSetHolder, TopicMirror, PublishedRules]:
    """The published rule set if there is one, else the rule folder; then live updates.
    A published set the worker refuses is counted (``screening_ruleset_refused_total``)."""
    holder = RuleSetHolder()
    published = PublishedRules(holder.replace, on_refused=lambda _: metrics.RULESETS_REFUSED.inc())
    mirror = TopicMirror(settings.kafka, topics.RULES, published.apply).start()
    mirror.wait(settings.worker.reference_wait_s)
    if holder.ready:
        log.info("screening with the published rule set %s", holder.current.version)
    else:
        holder.replace(CompiledRuleSet(load_ruleset(settings.scoring.rules_dir)))
        log.info(
            "no rule set published yet: screening with %s (%s)",
            settings.scoring.rules_dir,
            holder.current.version,
        )
    return holder, mirror, published


class EvaluatorCache:
    """One RuleEvaluator per rule set version, built when the version first appears."""

    def __init__(self, scoring: ScoringSettings, parties: PartyLookup | None = None) -> None:
        self._settings = EvaluationSettings(
            aeo_score_reduction=scoring.aeo_score_reduction,
            random_selection_share=scoring.random_selection_share,
        )
        self._parties = parties
        self._evaluator: RuleEvaluator | None = None

    def for_ruleset(self, compiled: CompiledRuleSet) -> RuleEvaluator:
        if self._evaluator is None or self._evaluator.compiled is not compiled:
            self._evaluator = RuleEvaluator(compiled, self._parties, self._settings)
        return self._evaluator


@dataclass(frozen=True, slots=True)
class ReferenceMirrors:
    aeo: TopicMirror
    watchlist: TopicMirror
    clearances: TopicMirror
    consolidations: TopicMirror
    # Each partner's messages and shared AEO registry, as the agreements say.
    partners: tuple[TopicMirror, ...] = ()

    def __iter__(self) -> Iterator[TopicMirror]:
        return iter(
            (self.aeo, self.watchlist, self.clearances, self.consolidations, *self.partners)
        )


def start_reference(
    settings: Settings, agreements: Agreements | None = None
) -> tuple[ReferenceData, ReferenceMirrors]:
    """The AEO registry, the watch lists, the clearances of false watch-list matches, the
    house filings by master and the partners' findings and AEO registries, complete before the
    first batch, then live. Without ``agreements`` they are loaded from the settings' folder
    (a broken one refuses the start)."""
    if agreements is None:
        agreements = load_sharing(
            settings.partners.agreements_dir, settings.partners.administration
        ).agreements
    kafka = settings.kafka
    reference = ReferenceData(
        AeoRegistry(settings.scoring.mra_partners),
        Watchlist(fuzzy_threshold=settings.scoring.watchlist_fuzzy_threshold),
        Clearances(),
        partner_findings=PartnerFindings(timedelta(days=settings.partners.finding_days)),
    )
    mirrors = ReferenceMirrors(
        aeo=TopicMirror(kafka, topics.AEO_REGISTRY, reference.apply_aeo).start(),
        watchlist=TopicMirror(kafka, topics.WATCHLIST, reference.apply_watchlist).start(),
        clearances=TopicMirror(
            kafka, topics.WATCHLIST_CLEARANCES, reference.apply_clearance
        ).start(),
        consolidations=TopicMirror(
            kafka, topics.CONSOLIDATIONS, reference.consolidations.apply
        ).start(),
        partners=tuple(m.start() for m in partner_mirrors(kafka, agreements, reference)),
    )
    for mirror in mirrors:
        mirror.wait(settings.worker.reference_wait_s)
    log.info(
        "reference data loaded: %d AEO records, %d watch-list entries, %d clearances, "
        "%d house filings, %d partner findings, %d partner AEO records",
        len(reference.registry),
        len(reference.watchlist),
        len(reference.clearances),
        len(reference.consolidations),
        len(reference.partner_findings),
        reference.registry.shared_count,
    )
    return reference, mirrors


def partner_mirrors(
    kafka: KafkaSettings, agreements: Agreements, reference: ReferenceData
) -> list[TopicMirror]:
    """Not started: a mirror of each partner's messages when its agreement accepts findings,
    and of its AEO registry when shared. MirrorMaker 2 creates a partner's topics when it
    first replicates them: until then they read as empty (``optional``)."""
    mirrors: list[TopicMirror] = []
    dead_letters: DeadLetters | None = None
    for agreement in agreements:
        if agreement.accepts("RISK_FINDING"):
            dead_letters = dead_letters or DeadLetters(kafka)
            inbound = PartnerInbound(agreement, reference.partner_findings, dead_letters)
            mirrors.append(
                TopicMirror(
                    kafka,
                    agreement.inbound_topic,
                    inbound.apply,
                    optional=True,
                    whole_records=True,
                )
            )
        if agreement.aeo_registry:
            mirrors.append(
                TopicMirror(
                    kafka,
                    topics.partner_aeo_topic(agreement.alias),
                    reference.partner_aeo(agreement.partner),
                    optional=True,
                )
            )
    return mirrors
