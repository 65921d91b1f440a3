"""The Put.request primitive (CCSDS 727.0-B-5 3.4.2) as a frozen value."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from comms.cfdp.codes import TransmissionMode
from comms.cfdp.messages import ReservedMessage
from comms.cfdp.tlv import FaultHandlerOverride, FilestoreRequest, FlowLabel, MessageToUser
from comms.errors import UsageError

__all__ = ["PutRequest"]


def _names(value: bytes | str | None, what: str) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, bytes) or len(value) > 255:
        raise UsageError(f"PutRequest.{what} must be bytes or str of at most 255 octets.")
    return value


@dataclass(frozen=True, slots=True)
class PutRequest:
    """Put.request (3.4.2): what to send where, and how.

    ``source_file_name`` None (with ``destination_file_name`` None) sends no file: only
    the messages to user and filestore requests (a Metadata-only transaction, 3.4.2.2).
    ``transmission_mode`` and ``closure_requested`` None take the remote's MIB defaults.
    ``messages_to_user`` takes MessageToUser TLVs or reserved messages (section 6), which
    are wrapped for you.
    """

    destination_entity_id: int
    source_file_name: bytes | str | None = None
    destination_file_name: bytes | str | None = None
    transmission_mode: TransmissionMode | None = None
    closure_requested: bool | None = None
    messages_to_user: Iterable[MessageToUser | ReservedMessage] = ()
    filestore_requests: Iterable[FilestoreRequest] = ()
    fault_handler_overrides: Iterable[FaultHandlerOverride] = ()
    flow_label: FlowLabel | bytes | None = None

    def __post_init__(self) -> None:
        dest = self.destination_entity_id
        if isinstance(dest, bool) or not isinstance(dest, int) or not 0 <= dest < 1 << 64:
            raise UsageError(f"PutRequest.destination_entity_id must be an int id, not {dest!r}.")
        source = _names(self.source_file_name, "source_file_name")
        target = _names(self.destination_file_name, "destination_file_name")
        if (source is None) != (target is None):
            raise UsageError(
                "PutRequest: give both source_file_name and destination_file_name, or "
                "neither (a transaction without a file)."
            )
        object.__setattr__(self, "source_file_name", source)
        object.__setattr__(self, "destination_file_name", target)
        if self.transmission_mode is not None:
            object.__setattr__(self, "transmission_mode", TransmissionMode(self.transmission_mode))
        if self.closure_requested is not None and not isinstance(self.closure_requested, bool):
            raise UsageError("PutRequest.closure_requested must be True, False or None.")
        messages = []
        for message in self.messages_to_user:
            if isinstance(message, ReservedMessage):
                message = message.to_tlv()
            if not isinstance(message, MessageToUser):
                raise UsageError(
                    "PutRequest.messages_to_user takes MessageToUser TLVs or reserved "
                    f"messages, not {type(message).__name__}."
                )
            messages.append(message)
        object.__setattr__(self, "messages_to_user", tuple(messages))
        requests = tuple(self.filestore_requests)
        if not all(isinstance(r, FilestoreRequest) for r in requests):
            raise UsageError("PutRequest.filestore_requests takes FilestoreRequest TLVs.")
        object.__setattr__(self, "filestore_requests", requests)
        overrides = tuple(self.fault_handler_overrides)
        if not all(isinstance(o, FaultHandlerOverride) for o in overrides):
            raise UsageError("PutRequest.fault_handler_overrides takes FaultHandlerOverride TLVs.")
        object.__setattr__(self, "fault_handler_overrides", overrides)
        label = self.flow_label
        if isinstance(label, bytes):
            object.__setattr__(self, "flow_label", FlowLabel(label))
        elif label is not None and not isinstance(label, FlowLabel):
            raise UsageError("PutRequest.flow_label must be a FlowLabel, bytes or None.")
