"""The Dataspace Protocol 2025-1 wire format: schemas, messages and their validation.

Nothing here knows about state or storage: :mod:`~connector.protocol.schemas`
validates a message against the official JSON Schemas and
:mod:`~connector.protocol.messages` builds the messages we send.
"""

from connector.protocol.messages import DSP_CONTEXT, DSP_VERSION
from connector.protocol.schemas import SchemaValidator, validate_message, validator

__all__ = ["DSP_CONTEXT", "DSP_VERSION", "SchemaValidator", "validate_message", "validator"]
