"""All settings in one model of sections, read from the environment with the ``SCREENING_`` prefix.

Every command builds one ``Settings`` and hands each module the section it needs
(``settings.kafka``, ``settings.workbench``, ...). A field is set by its public name, the
variable's without the prefix: ``SCREENING_KAFKA_BOOTSTRAP`` or ``Settings(kafka_bootstrap=...)``
set ``settings.kafka.bootstrap``. Each field declares its public name as its alias;
``VARIABLES`` lists them all. Command-line flags are given to the model as init values by their
public names (``pipeline.cli.common.load_settings``), validated like the environment's.
Secrets are ``SecretStr`` and never logged.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PREFIX = "SCREENING_"

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
LogLevel = Literal["debug", "info", "warning", "error"]
LogFormat = Literal["json", "text"]


def _country(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise ValueError("an ISO 3166-1 alpha-2 country code in capitals, e.g. NL")
    return value


def _comma_separated(value: object) -> object:
    """A list from a variable's ``a,b,c``; a list is taken as it is."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


CommaList = Annotated[list[str], BeforeValidator(_comma_separated)]
Countries = Annotated[CommaList, AfterValidator(lambda codes: [c.upper() for c in codes])]


class Section(BaseModel):
    """A group of settings, given by their public names (the fields' aliases)."""

    model_config = ConfigDict(extra="forbid")


class KafkaSettings(Section):
    """The connection to Kafka, shared by every client."""

    bootstrap: CommaList = Field(
        ["127.0.0.1:9092"],
        alias="kafka_bootstrap",
        description="Kafka bootstrap servers, comma separated (host:port).",
    )
    security_protocol: SecurityProtocol = Field(
        "PLAINTEXT",
        alias="kafka_security_protocol",
        description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.",
    )
    sasl_mechanism: str | None = Field(
        None, alias="kafka_sasl_mechanism", description="e.g. SCRAM-SHA-512."
    )
    sasl_username: str | None = Field(
        None, alias="kafka_sasl_username", description="SASL user name."
    )
    sasl_password: SecretStr | None = Field(
        None, alias="kafka_sasl_password", description="SASL password (secret)."
    )
    ssl_cafile: Path | None = Field(
        None,
        alias="kafka_ssl_cafile",
        description="CA certificate (PEM) that signed the brokers' certificates.",
    )
    librdkafka_log_level: int = Field(
        2,
        ge=0,
        le=7,
        alias="librdkafka_log_level",
        description="librdkafka's own log level (syslog: 2 critical, 7 debug).",
    )

    @property
    def servers(self) -> str:
        """The bootstrap servers as librdkafka and the messages write them: ``a:1,b:2``."""
        return ",".join(self.bootstrap)

    def librdkafka_config(self) -> dict[str, Any]:
        """Connection settings in librdkafka's names, shared by every confluent-kafka client."""
        conf: dict[str, Any] = {
            "bootstrap.servers": self.servers,
            "security.protocol": self.security_protocol,
            # librdkafka logs every failed reconnect; failures reach the caller as errors.
            "log_level": self.librdkafka_log_level,
        }
        if self.sasl_mechanism:
            conf["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username:
            conf["sasl.username"] = self.sasl_username
        if self.sasl_password:
            conf["sasl.password"] = self.sasl_password.get_secret_value()
        if self.ssl_cafile:
            conf["ssl.ca.location"] = str(self.ssl_cafile)
        return conf


class TopicSettings(Section):
    """The pipeline's consumer group and the topics it creates."""

    app_id: str = Field(
        "customs-screening",
        alias="app_id",
        description="Faust application id: the consumer group.",
    )
    partitions: int = Field(
        12,
        ge=1,
        alias="partitions",
        description="Partitions of the declaration topic and of every keyed output.",
    )
    replication_factor: int = Field(
        1, ge=1, alias="replication_factor", description="Replication of created topics."
    )
    offset_reset: Literal["earliest", "latest"] = Field(
        "earliest",
        alias="consumer_offset_reset",
        description="Where a new consumer group starts reading declarations.",
    )


class BatchSettings(Section):
    """How declarations are taken in: batch size, wait, and the largest accepted."""

    max: int = Field(
        1000,
        ge=1,
        le=100_000,
        alias="batch_max",
        description="Declarations per batch, roughly: each fetch from a partition brings at most "
        "batch_max / partitions, and a batch takes up to four fetches per partition.",
    )
    within_s: float = Field(
        0.02,
        ge=0,
        le=10,
        alias="batch_within_s",
        description="How long a batch waits for more after its first declarations arrive, in "
        "seconds. The wait is also when the worker's consumer hands over what it fetched: with "
        "less, a busy worker screens small batches one after another while its consumer, short "
        "of the GIL, falls behind in fetching.",
    )
    max_message_bytes: int = Field(
        1_048_576,
        ge=1024,
        alias="max_message_bytes",
        description="Declarations larger than this are rejected TOO_LARGE.",
    )


class ScoringSettings(Section):
    """The rules and what turns their matches into an outcome."""

    rules_dir: Path = Field(
        Path("rules"),
        alias="rules_dir",
        description="Rule folder used until a rule set is published to Kafka.",
    )
    rfi_threshold: float = Field(
        30.0, alias="rfi_threshold", description="Score from which the outcome is RFI."
    )
    hrcm_threshold: float = Field(
        60.0,
        alias="hrcm_threshold",
        description="Score from which the outcome is HRCM.",
    )
    aeo_score_reduction: float = Field(
        20.0,
        ge=0,
        alias="aeo_score_reduction",
        description="Points off for a verified security AEO consignor or consignee.",
    )
    random_selection_share: float = Field(
        0.0,
        ge=0,
        le=1,
        alias="random_selection_share",
        description="Share of declarations selected for RFI at random.",
    )
    mra_partners: Countries = Field(
        ["NO", "CH", "JP", "MD", "US", "CN", "GB"],
        alias="mra_partners",
        description="Countries whose AEO programmes are recognised (mutual recognition).",
    )
    watchlist_fuzzy_threshold: float = Field(
        92.0,
        gt=0,
        le=100,
        alias="watchlist_fuzzy_threshold",
        description="Name similarity (0-100) from which a near match counts.",
    )


class PartnerSettings(Section):
    """The Customs-to-Customs exchange with partner administrations."""

    administration: Annotated[str, AfterValidator(_country)] = Field(
        "NL",
        alias="administration",
        description="This administration's country, ISO 3166-1 alpha-2: the sender of what "
        "goes to partner administrations, and never a partner concerned itself.",
    )
    agreements_dir: Path = Field(
        Path("agreements"),
        alias="agreements_dir",
        description="Folder of the Customs-to-Customs sharing agreements, one YAML file per "
        "partner (`screening c2c validate`).",
    )
    finding_days: int = Field(
        30,
        ge=1,
        le=366,
        alias="partner_finding_days",
        description="How long a partner administration's risk finding is applied to filings "
        "of its consignment, in days from the finding's `sent_at`.",
    )


class WorkerSettings(Section):
    """The screening worker: its HTTP pages, state, and group membership."""

    web_host: str = Field("127.0.0.1", alias="web_host", description="Worker HTTP bind address.")
    web_port: int = Field(
        6066,
        ge=1,
        le=65535,
        alias="web_port",
        description="Worker HTTP port (/metrics, /readyz, /livez).",
    )
    data_dir: Path = Field(
        Path(".data/worker"),
        alias="data_dir",
        description="Worker state (table stores).",
    )
    reference_wait_s: float = Field(
        300.0,
        gt=0,
        alias="reference_wait_s",
        description="Longest wait at start for rules and reference data to load.",
    )
    session_timeout_s: float = Field(
        15.0,
        gt=0,
        alias="session_timeout_s",
        description="How long the group waits for a silent worker before its partitions move.",
    )
    heartbeat_interval_s: float = Field(
        3.0,
        gt=0,
        alias="heartbeat_interval_s",
        description="Heartbeats to the group coordinator; a third of the timeout.",
    )
    stall_timeout_s: float = Field(
        300.0,
        gt=0,
        alias="stall_timeout_s",
        description="Liveness fails (/livez) when declarations have waited this long on the "
        "worker's partitions and it has screened nothing for as long.",
    )
    status_interval_s: float = Field(
        30.0,
        ge=1,
        le=3600,
        alias="worker_status_interval_s",
        description="How often a worker writes its status (rule set in use, sets refused) to "
        "customs.worker.status.v1; `screening rules status` shows a worker not heard from for "
        "three intervals as stale.",
    )
    metrics_enabled: bool = Field(
        True,
        alias="metrics_enabled",
        description="Update and export metrics (off only to measure what they cost).",
    )


class LogSettings(Section):
    """The logs of every long-running command."""

    level: Annotated[LogLevel, BeforeValidator(_lower)] = Field(
        "info", alias="log_level", description="debug, info, warning or error."
    )
    format: LogFormat = Field(
        "json",
        alias="log_format",
        description="Logs of the worker and the workbench: json (one object a line) or text "
        "(for a terminal).",
    )


class WorkbenchSettings(Section):
    """The officers' workbench: its database, web pages and case handling."""

    database_url: SecretStr = Field(
        SecretStr("postgresql://screening@127.0.0.1:5433/screening"),
        alias="database_url",
        description="PostgreSQL of the workbench (libpq URL; it may hold a password: secret).",
    )
    port: int = Field(
        8088,
        ge=1,
        le=65535,
        alias="workbench_port",
        description="Workbench HTTP port (the officers' web pages).",
    )
    host: str = Field(
        "127.0.0.1",
        alias="workbench_host",
        description="Workbench HTTP bind address.",
    )
    group: str = Field(
        "customs-workbench",
        alias="workbench_group",
        description="Consumer group of the workbench (it keeps its offsets in PostgreSQL too).",
    )
    secure_cookies: bool = Field(
        True,
        alias="workbench_secure_cookies",
        description="Session cookies only over HTTPS (browsers treat http://127.0.0.1 as "
        "secure; turn off only behind a TLS-terminating proxy that speaks plain HTTP to it).",
    )
    session_idle_s: int = Field(
        8 * 3600,
        ge=60,
        alias="workbench_session_idle_s",
        description="A workbench session ends after this long without use.",
    )
    loading_soon_s: int = Field(
        2 * 3600,
        ge=0,
        alias="workbench_loading_soon_s",
        description="A referral whose loading is this close (or past) is flagged in red.",
    )
    rfi_answer_s: int = Field(
        4 * 3600,
        ge=60,
        alias="workbench_rfi_answer_s",
        description="Time a filer has to answer an RFI before the case is escalated (it is "
        "escalated at loading time too, if that comes first).",
    )
    case_retention_days: int = Field(
        7 * 365 + 2,
        ge=1,
        alias="case_retention_days",
        description="How long closed cases and their audit trail are kept (seven years).",
    )
    demo_password: SecretStr | None = Field(
        None,
        alias="demo_password",
        description="Password of the demo accounts officer, supervisor and analyst "
        "(screening workbench --demo-accounts).",
    )


class ArchiveSettings(Section):
    """The Parquet archive of the topics."""

    dir: Path = Field(
        Path(".data/archive"),
        alias="archive_dir",
        description="Parquet archive of assessments, hits, dead letters and declarations "
        "(`screening archive`), one folder per topic and day.",
    )
    retention_days: int = Field(
        7 * 365 + 2,
        ge=1,
        alias="archive_retention_days",
        description="Days of archive kept by `screening archive prune` (seven years).",
    )


class Variable(NamedTuple):
    """Where a public name (a variable without its prefix) is kept."""

    section: str
    field: str
    info: FieldInfo

    @property
    def name(self) -> str:
        return str(self.info.alias)


class Settings(BaseSettings):
    # The variables are read by ``_Environment``, by public name with PREFIX before it.
    model_config = SettingsConfigDict(extra="forbid")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    topics: TopicSettings = Field(default_factory=TopicSettings)
    batching: BatchSettings = Field(default_factory=BatchSettings)
    scoring: ScoringSettings = Field(default_factory=ScoringSettings)
    partners: PartnerSettings = Field(default_factory=PartnerSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    logging: LogSettings = Field(default_factory=LogSettings)
    workbench: WorkbenchSettings = Field(default_factory=WorkbenchSettings)
    archive: ArchiveSettings = Field(default_factory=ArchiveSettings)

    def __init__(self, **values: Any) -> None:
        """Sections, or fields by their public names: ``Settings(kafka_bootstrap="k:9092")``."""
        super().__init__(**values)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _Environment(settings_cls)

    @model_validator(mode="before")
    @classmethod
    def _into_sections(cls, data: Any) -> Any:
        """Each public name given at the top into its section, over the section's own value."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name in [name for name in data if name in VARIABLES]:
            where = VARIABLES[name]
            section = data.get(where.section, {})
            if isinstance(section, BaseModel):
                section = section.model_dump(by_alias=True, exclude_unset=True)
            data[where.section] = {**section, name: data.pop(name)}
        return data

    def value(self, name: str) -> Any:
        """The value of the field whose public name is ``name``."""
        where = VARIABLES[name]
        return getattr(getattr(self, where.section), where.field)

    def is_set(self, name: str) -> bool:
        """Whether the public ``name`` was given (by a variable or an init value)."""
        where = VARIABLES[name]
        return where.field in getattr(self, where.section).model_fields_set


class _Environment(PydanticBaseSettingsSource):
    """The ``SCREENING_*`` variables by public name, in any case, put in their sections."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # not asked: __call__ reads all the variables

    def __call__(self) -> dict[str, Any]:
        environ = {key.upper(): value for key, value in os.environ.items()}
        sections: dict[str, dict[str, Any]] = {}
        for name, where in VARIABLES.items():
            value = environ.get(f"{PREFIX}{name}".upper())
            if value is not None:
                sections.setdefault(where.section, {})[name] = value
        return sections


def _variables() -> dict[str, Variable]:
    found = {}
    for section, field in Settings.model_fields.items():
        model = field.annotation
        assert isinstance(model, type), section
        assert issubclass(model, Section), section
        for name, info in model.model_fields.items():
            variable = Variable(section, name, info)
            assert variable.name not in found, f"{variable.name} is in two sections"
            found[variable.name] = variable
    return found


# Every public name, in the order of the sections and their fields.
VARIABLES: dict[str, Variable] = _variables()
