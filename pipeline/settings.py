"""All settings in one model, read from the environment with the ``SCREENING_`` prefix.

Every command builds one ``Settings`` and passes it down; command-line flags are given to the
model as init values (``pipeline.cli.common.load_settings``), validated like the environment's.
Secrets are ``SecretStr`` and never logged.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _country(value: str) -> str:
    if not re.fullmatch(r"[A-Z]{2}", value):
        raise ValueError("an ISO 3166-1 alpha-2 country code in capitals, e.g. NL")
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCREENING_", extra="ignore")

    kafka_bootstrap: str = Field(
        "127.0.0.1:9092", description="Kafka bootstrap servers, comma separated (host:port)."
    )
    kafka_security_protocol: str = Field(
        "PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."
    )
    kafka_sasl_mechanism: str | None = Field(None, description="e.g. SCRAM-SHA-512.")
    kafka_sasl_username: str | None = Field(None, description="SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(None, description="SASL password (secret).")
    kafka_ssl_cafile: Path | None = Field(
        None, description="CA certificate (PEM) that signed the brokers' certificates."
    )

    app_id: str = Field(
        "customs-screening", description="Faust application id: the consumer group."
    )
    partitions: int = Field(
        12, ge=1, description="Partitions of the declaration topic and of every keyed output."
    )
    replication_factor: int = Field(1, ge=1, description="Replication of created topics.")

    consumer_offset_reset: str = Field(
        "earliest",
        pattern="^(earliest|latest)$",
        description="Where a new consumer group starts reading declarations.",
    )
    batch_max: int = Field(
        1000,
        ge=1,
        le=100_000,
        description="Declarations per batch, roughly: each fetch from a partition brings at most "
        "batch_max / partitions, and a batch takes up to four fetches per partition.",
    )
    batch_within_s: float = Field(
        0.005,
        gt=0,
        le=10,
        description="Longest wait for a batch to fill, in seconds: a worker that keeps up "
        "screens what has arrived this often.",
    )
    max_message_bytes: int = Field(
        1_048_576, ge=1024, description="Declarations larger than this are rejected TOO_LARGE."
    )
    rules_dir: Path = Field(
        Path("rules"), description="Rule folder used until a rule set is published to Kafka."
    )
    agreements_dir: Path = Field(
        Path("agreements"),
        description="Folder of the Customs-to-Customs sharing agreements, one YAML file per "
        "partner (`screening c2c validate`).",
    )
    administration: Annotated[str, AfterValidator(_country)] = Field(
        "NL",
        description="This administration's country, ISO 3166-1 alpha-2: the sender of what "
        "goes to partner administrations, and never a partner concerned itself.",
    )
    partner_finding_days: int = Field(
        30,
        ge=1,
        le=366,
        description="How long a partner administration's risk finding is applied to filings "
        "of its consignment, in days from the finding's `sent_at`.",
    )
    rfi_threshold: float = Field(30.0, description="Score from which the outcome is RFI.")
    hrcm_threshold: float = Field(60.0, description="Score from which the outcome is HRCM.")
    aeo_score_reduction: float = Field(
        20.0, ge=0, description="Points off for a verified security AEO consignor or consignee."
    )
    random_selection_share: float = Field(
        0.0, ge=0, le=1, description="Share of declarations selected for RFI at random."
    )
    mra_partners: str = Field(
        "NO,CH,JP,MD,US,CN,GB",
        description="Countries whose AEO programmes are recognised (mutual recognition).",
    )
    watchlist_fuzzy_threshold: float = Field(
        92.0, gt=0, le=100, description="Name similarity (0-100) from which a near match counts."
    )
    reference_wait_s: float = Field(
        300.0, gt=0, description="Longest wait at start for rules and reference data to load."
    )
    session_timeout_s: float = Field(
        15.0,
        gt=0,
        description="How long the group waits for a silent worker before its partitions move.",
    )
    heartbeat_interval_s: float = Field(
        3.0, gt=0, description="Heartbeats to the group coordinator; a third of the timeout."
    )
    stall_timeout_s: float = Field(
        300.0,
        gt=0,
        description="Liveness fails (/livez) when declarations have waited this long on the "
        "worker's partitions and it has screened nothing for as long.",
    )
    worker_status_interval_s: float = Field(
        30.0,
        ge=1,
        le=3600,
        description="How often a worker writes its status (rule set in use, sets refused) to "
        "customs.worker.status.v1; `screening rules status` shows a worker not heard from for "
        "three intervals as stale.",
    )
    metrics_enabled: bool = Field(
        True, description="Update and export metrics (off only to measure what they cost)."
    )
    web_port: int = Field(
        6066, ge=1, le=65535, description="Worker HTTP port (/metrics, /readyz, /livez)."
    )
    web_host: str = Field("127.0.0.1", description="Worker HTTP bind address.")
    data_dir: Path = Field(Path(".data/worker"), description="Worker state (table stores).")
    log_level: str = Field("info", description="debug, info, warning or error.")
    log_format: str = Field(
        "json",
        pattern="^(json|text)$",
        description="Logs of the worker and the workbench: json (one object a line) or text "
        "(for a terminal).",
    )
    librdkafka_log_level: int = Field(
        2, ge=0, le=7, description="librdkafka's own log level (syslog: 2 critical, 7 debug)."
    )

    # --- the officers' workbench ------------------------------------------------------------
    database_url: SecretStr = Field(
        SecretStr("postgresql://screening@127.0.0.1:5433/screening"),
        description="PostgreSQL of the workbench (libpq URL; it may hold a password: secret).",
    )
    workbench_port: int = Field(
        8088, ge=1, le=65535, description="Workbench HTTP port (the officers' web pages)."
    )
    workbench_host: str = Field("127.0.0.1", description="Workbench HTTP bind address.")
    workbench_group: str = Field(
        "customs-workbench",
        description="Consumer group of the workbench (it keeps its offsets in PostgreSQL too).",
    )
    workbench_secure_cookies: bool = Field(
        True,
        description="Session cookies only over HTTPS (browsers treat http://127.0.0.1 as "
        "secure; turn off only behind a TLS-terminating proxy that speaks plain HTTP to it).",
    )
    workbench_session_idle_s: int = Field(
        8 * 3600, ge=60, description="A workbench session ends after this long without use."
    )
    workbench_loading_soon_s: int = Field(
        2 * 3600,
        ge=0,
        description="A referral whose loading is this close (or past) is flagged in red.",
    )
    workbench_rfi_answer_s: int = Field(
        4 * 3600,
        ge=60,
        description="Time a filer has to answer an RFI before the case is escalated (it is "
        "escalated at loading time too, if that comes first).",
    )
    case_retention_days: int = Field(
        7 * 365 + 2,
        ge=1,
        description="How long closed cases and their audit trail are kept (seven years).",
    )
    archive_dir: Path = Field(
        Path(".data/archive"),
        description="Parquet archive of assessments, hits, dead letters and declarations "
        "(`screening archive`), one folder per topic and day.",
    )
    archive_retention_days: int = Field(
        7 * 365 + 2,
        ge=1,
        description="Days of archive kept by `screening archive prune` (seven years).",
    )
    demo_password: SecretStr | None = Field(
        None,
        description="Password of the demo accounts officer, supervisor and analyst "
        "(screening workbench --demo-accounts).",
    )

    def mra_partner_list(self) -> list[str]:
        return [c.strip().upper() for c in self.mra_partners.split(",") if c.strip()]

    def bootstrap_list(self) -> list[str]:
        return [s.strip() for s in self.kafka_bootstrap.split(",") if s.strip()]

    def librdkafka_config(self) -> dict[str, Any]:
        """Connection settings in librdkafka's names, shared by every confluent-kafka client."""
        conf: dict[str, Any] = {
            "bootstrap.servers": ",".join(self.bootstrap_list()),
            "security.protocol": self.kafka_security_protocol,
            # librdkafka logs every failed reconnect; failures reach the caller as errors.
            "log_level": self.librdkafka_log_level,
        }
        if self.kafka_sasl_mechanism:
            conf["sasl.mechanism"] = self.kafka_sasl_mechanism
        if self.kafka_sasl_username:
            conf["sasl.username"] = self.kafka_sasl_username
        if self.kafka_sasl_password:
            conf["sasl.password"] = self.kafka_sasl_password.get_secret_value()
        if self.kafka_ssl_cafile:
            conf["ssl.ca.location"] = str(self.kafka_ssl_cafile)
        return conf
