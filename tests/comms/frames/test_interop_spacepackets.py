"""Differential tests against spacepackets' TM and USLP frame codecs (independent peer).

For the same fields both sides must produce the same octets, and each must decode the
other's. spacepackets appends the TM FECF it is given (it does not compute it), only
knows the 16-bit USLP FECF, and ties TFDZ construction rules 000-010 to fixed-length
frames and 011-111 to variable-length ones, so the strategies stay inside that.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from spacepackets.ccsds.tm_frame import (
    MasterChannelId,
    TmFramePrimaryHeader,
    TmTransferFrame,
    TransferFrameDataFieldStatus,
    TransferFrameSecondaryHeader,
)
from spacepackets.uslp.frame import (
    FixedFrameProperties,
    FrameType,
    TransferFrame,
    TransferFrameDataField,
    VarFrameProperties,
)
from spacepackets.uslp.header import PrimaryHeader, SourceOrDestField, TruncatedPrimaryHeader

from comms.frames import TmFrame, TmParams, UslpFrame, UslpParams
from tests.comms.frames.strategies import ocfs, tm_frames, uint

pytestmark = pytest.mark.interop


def _theirs_tm(frame: TmFrame, fecf: bytes | None) -> TmTransferFrame:
    status = TransferFrameDataFieldStatus(
        secondary_header_flag=frame.secondary_header is not None,
        sync_flag=frame.sync_flag,
        packet_order_flag=frame.packet_order_flag,
        segment_len_id=frame.segment_length_id,
        first_header_pointer=frame.first_header_pointer,
    )
    header = TmFramePrimaryHeader(
        MasterChannelId(0, frame.scid),
        frame.vcid,
        frame.ocf is not None,
        frame.mc_frame_count,
        frame.vc_frame_count,
        status,
    )
    sh = None
    if frame.secondary_header is not None:
        sh = TransferFrameSecondaryHeader(0, len(frame.secondary_header), frame.secondary_header)
    return TmTransferFrame(len(frame), header, sh, frame.data_field, frame.ocf, fecf)


@given(tm_frames())
def test_tm_same_octets_and_cross_decode(case: tuple[TmFrame, TmParams]) -> None:
    frame, params = case
    ours = frame.encode()
    fecf = ours[-2:] if frame.has_fecf else None
    theirs = _theirs_tm(frame, fecf).pack()
    assert theirs == ours
    # They decode ours ...
    back = TmTransferFrame.unpack(ours, len(ours), frame.has_fecf)
    assert back.data_field == frame.data_field
    assert back.op_ctrl_field == frame.ocf
    assert back.primary_header.master_channel_id.spacecraft_id == frame.scid
    assert back.primary_header.frame_datafield_status.first_header_pointer == (
        frame.first_header_pointer
    )
    # ... and we decode theirs.
    assert TmFrame.decode(theirs, params) == frame


@st.composite
def uslp_cases(draw: st.DrawFn) -> tuple[UslpFrame, str]:
    kind = draw(st.sampled_from(["fixed", "variable", "truncated"]))
    truncated = kind == "truncated"
    rule = draw(st.integers(0, 2)) if kind == "fixed" else draw(st.integers(3, 7))
    vcf_count_length = 0 if truncated else draw(st.integers(0, 7))
    frame = UslpFrame(
        scid=draw(uint(16)),
        vcid=draw(uint(6)),
        map_id=draw(uint(4)),
        construction_rule=rule,
        upid=draw(uint(5)),
        data_zone=draw(st.binary(min_size=1, max_size=200)),
        pointer=draw(uint(16)) if kind == "fixed" else None,
        source_or_destination_id=draw(uint(1)),
        bypass_flag=False if truncated else draw(st.booleans()),
        protocol_control_command_flag=False if truncated else draw(st.booleans()),
        vcf_count_length=vcf_count_length,
        # spacepackets writes no count octets for a count of None; use a real count
        vcf_count=draw(uint(8 * vcf_count_length)),
        insert_zone=draw(st.binary(min_size=1, max_size=6) | st.just(b"")),
        ocf=None if truncated else draw(ocfs),
        fecf_length=draw(st.sampled_from([0, 2])),
        truncated=truncated,
    )
    return frame, kind


def _theirs_uslp(frame: UslpFrame) -> TransferFrame:
    sod = SourceOrDestField(frame.source_or_destination_id)
    header: PrimaryHeader | TruncatedPrimaryHeader
    if frame.truncated:
        header = TruncatedPrimaryHeader(frame.scid, sod, frame.vcid, frame.map_id)
    else:
        header = PrimaryHeader(
            frame.scid,
            sod,
            frame.vcid,
            frame.map_id,
            frame_len=len(frame) - 1,
            bypass_seq_ctrl_flag=frame.bypass_flag,  # type: ignore[arg-type]
            prot_ctrl_cmd_flag=frame.protocol_control_command_flag,  # type: ignore[arg-type]
            op_ctrl_flag=frame.ocf is not None,
            vcf_count_len=frame.vcf_count_length,
            vcf_count=frame.vcf_count,
        )
    tfdf = TransferFrameDataField(
        frame.construction_rule,  # type: ignore[arg-type]
        frame.upid,  # type: ignore[arg-type]
        frame.data_zone,
        frame.pointer,
    )
    return TransferFrame(
        header,
        tfdf,
        insert_zone=frame.insert_zone or None,
        op_ctrl_field=frame.ocf,
        has_fecf=frame.fecf_length == 2,
    )


def _params(frame: UslpFrame, kind: str) -> UslpParams:
    return UslpParams(
        frame_length=len(frame) if kind == "fixed" else None,
        fecf_length=frame.fecf_length,
        insert_zone_length=len(frame.insert_zone),
        truncated_frame_length=len(frame) if frame.truncated else None,
    )


@given(uslp_cases())
def test_uslp_same_octets_and_cross_decode(case: tuple[UslpFrame, str]) -> None:
    frame, kind = case
    ours = frame.encode()
    frame_type = FrameType.FIXED if kind == "fixed" else FrameType.VARIABLE
    theirs = bytes(_theirs_uslp(frame).pack(truncated=frame.truncated, frame_type=frame_type))
    assert theirs == ours
    props: FixedFrameProperties | VarFrameProperties
    if kind == "fixed":
        props = FixedFrameProperties(
            len(ours), bool(frame.insert_zone), frame.fecf_length == 2, len(frame.insert_zone)
        )
    else:
        props = VarFrameProperties(
            bool(frame.insert_zone), frame.fecf_length == 2, len(ours), len(frame.insert_zone)
        )
    back = TransferFrame.unpack(ours, frame_type, props)
    assert back.tfdf.tfdz == frame.data_zone
    assert back.tfdf.fhp_or_lvop == frame.pointer
    assert back.header.scid == frame.scid
    assert back.header.vcid == frame.vcid
    if not frame.truncated:
        assert back.op_ctrl_field == frame.ocf
        assert back.header.vcf_count == (frame.vcf_count if frame.vcf_count_length else 0)
    assert UslpFrame.decode(theirs, _params(frame, kind)) == frame
