"""The project's errors. Each says what was wrong and where; the docstring says what to do."""


class ScreeningError(Exception):
    """Base of every error the pipeline raises on purpose."""


class ConfigurationError(ScreeningError):
    """A setting or argument is invalid: correct it and run again."""


class KafkaUnavailable(ScreeningError):
    """The broker did not answer: check SCREENING_KAFKA_BOOTSTRAP and that Kafka runs."""


class DeliveryFailed(ScreeningError):
    """Kafka refused an output record: the batch is not acknowledged and will be redone."""


class InputFileError(ScreeningError):
    """An input file cannot be read: the message names the file and line."""


class KafkaAccessRefused(KafkaUnavailable):
    """Kafka refused the credentials or the TLS handshake: check the SCREENING_KAFKA_SASL_*
    and SCREENING_KAFKA_SSL_CAFILE settings."""


class TopicMissing(KafkaUnavailable):
    """The topic does not exist: run `screening topics ensure`, or, for a partner's topic,
    wait for MirrorMaker 2 to create it when it first replicates."""
