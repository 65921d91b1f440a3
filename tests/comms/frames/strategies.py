"""Hypothesis strategies: a frame together with the managed parameters that decode it."""

from __future__ import annotations

from hypothesis import strategies as st

from comms.frames import (
    AosDataUnit,
    AosFrame,
    AosParams,
    Clcw,
    TcFrame,
    TcParams,
    TmFrame,
    TmParams,
    UslpFrame,
    UslpParams,
)

flags = st.booleans()


def uint(bits: int) -> st.SearchStrategy[int]:
    return st.integers(0, (1 << bits) - 1)


ocfs = st.none() | st.binary(min_size=4, max_size=4)


@st.composite
def tm_frames(draw: st.DrawFn) -> tuple[TmFrame, TmParams]:
    sh = draw(st.none() | st.binary(max_size=63))
    ocf = draw(ocfs)
    has_fecf = draw(flags)
    data = draw(st.binary(min_size=1, max_size=300))
    frame = TmFrame(
        scid=draw(uint(10)),
        vcid=draw(uint(3)),
        mc_frame_count=draw(uint(8)),
        vc_frame_count=draw(uint(8)),
        first_header_pointer=draw(uint(11)),
        data_field=data,
        ocf=ocf,
        secondary_header=sh,
        sync_flag=draw(flags),
        packet_order_flag=draw(flags),
        segment_length_id=draw(uint(2)),
        has_fecf=has_fecf,
    )
    has_ocf = draw(st.sampled_from([None, ocf is not None]))
    params = TmParams(
        len(frame),
        has_ocf=has_ocf,
        has_fecf=has_fecf,
        secondary_header_length=None if sh is None else len(sh),
    )
    return frame, params


@st.composite
def aos_frames(draw: st.DrawFn) -> tuple[AosFrame, AosParams]:
    unit = draw(st.sampled_from(AosDataUnit))
    vcid = draw(st.integers(0, 62))
    fhp = draw(uint(11)) if unit is AosDataUnit.M_PDU else None
    bdp = draw(uint(14)) if unit is AosDataUnit.B_PDU else None
    has_fhec = draw(flags)
    has_fecf = draw(flags)
    insert_zone = draw(st.binary(max_size=8))
    ocf = draw(ocfs)
    frame = AosFrame(
        scid=draw(uint(8)),
        vcid=vcid,
        vc_frame_count=draw(uint(24)),
        data_field=draw(st.binary(min_size=1, max_size=300)),
        first_header_pointer=fhp,
        bitstream_data_pointer=bdp,
        replay_flag=draw(flags),
        vc_frame_count_usage_flag=draw(flags),
        vc_frame_count_cycle=draw(uint(4)),
        insert_zone=insert_zone,
        ocf=ocf,
        has_fhec=has_fhec,
        has_fecf=has_fecf,
    )
    params = AosParams(
        len(frame),
        has_fhec=has_fhec,
        insert_zone_length=len(insert_zone),
        has_ocf=ocf is not None,
        has_fecf=has_fecf,
        vc_data_units=((vcid, unit),),
    )
    return frame, params


@st.composite
def tc_frames(draw: st.DrawFn) -> tuple[TcFrame, TcParams]:
    control = draw(flags)
    has_segment_header = draw(flags)
    map_id = draw(uint(6)) if has_segment_header and not control else None
    frame = TcFrame(
        scid=draw(uint(10)),
        vcid=draw(uint(6)),
        frame_sequence_number=draw(uint(8)),
        data_field=draw(st.binary(min_size=1, max_size=1016)),
        bypass_flag=draw(flags),
        control_command_flag=control,
        map_id=map_id,
        sequence_flags=draw(uint(2)) if map_id is not None else 0b11,
        has_fecf=draw(flags),
    )
    return frame, TcParams(has_fecf=frame.has_fecf, has_segment_header=has_segment_header)


@st.composite
def uslp_frames(draw: st.DrawFn) -> tuple[UslpFrame, UslpParams]:
    truncated = draw(flags)
    rule = draw(uint(3))
    vcf_count_length = 0 if truncated else draw(st.integers(0, 7))
    insert_zone = draw(st.binary(max_size=6))
    fecf_length = draw(st.sampled_from([0, 2, 4]))
    frame = UslpFrame(
        scid=draw(uint(16)),
        vcid=draw(uint(6)),
        map_id=draw(uint(4)),
        construction_rule=rule,
        upid=draw(uint(5)),
        data_zone=draw(st.binary(max_size=300)),
        pointer=draw(uint(16)) if rule <= 2 and not truncated else None,
        source_or_destination_id=draw(uint(1)),
        bypass_flag=False if truncated else draw(flags),
        protocol_control_command_flag=False if truncated else draw(flags),
        vcf_count_length=vcf_count_length,
        vcf_count=draw(uint(8 * vcf_count_length)),
        insert_zone=insert_zone,
        ocf=None if truncated else draw(ocfs),
        fecf_length=fecf_length,
        truncated=truncated,
    )
    fixed = draw(flags) and not truncated
    params = UslpParams(
        frame_length=len(frame) if fixed else None,
        has_ocf=draw(st.sampled_from([None, frame.ocf is not None])),
        fecf_length=fecf_length,
        insert_zone_length=len(insert_zone),
        vcf_count_length=draw(st.sampled_from([None, vcf_count_length])),
        truncated_frame_length=len(frame) if truncated else None,
    )
    return frame, params


clcws = st.builds(
    Clcw,
    vcid=uint(6),
    report_value=uint(8),
    cop_in_effect=uint(2),
    status_field=uint(3),
    no_rf_available=flags,
    no_bit_lock=flags,
    lockout=flags,
    wait=flags,
    retransmit=flags,
    farm_b_counter=uint(2),
)
