"""A ground station and spacecraft in one: a real TCP server that takes the gateway's CLTU
stream, decodes it with comms (CLTU, optional SDLS ProcessSecurity, TC frame), runs the
frames through a FARM-1 and a MAP reassembler, and reports the FARM's CLCW back the way
the downlink would (a callback standing in for ``Uplink.on_ocf`` fed by the pipeline).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from comms.coding.cltu import CltuEnd, CltuStream
from comms.cop1 import Farm
from comms.frames.params import TcParams
from comms.frames.tc import TcFrame
from comms.sdls import SecurityEngine
from comms.spp import SpacePacket
from comms.vc.tc import MapReassembler


class SpacecraftStub:
    def __init__(
        self,
        *,
        vcid: int,
        params: TcParams,
        on_clcw: Callable[[bytes], None] | None = None,
        security: SecurityEngine | None = None,
        randomized: bool = False,
        drop_first: int = 0,
    ) -> None:
        self.farm = Farm(vcid)
        self.params = params
        self.on_clcw = on_clcw
        self.security = security
        self.randomized = randomized
        self.drop_first = drop_first  # CLTUs lost on the way up (before the FARM)
        self.reassembler = MapReassembler(params)
        self.packets: list[SpacePacket] = []
        self.frames: list[TcFrame] = []
        self.cltus = 0
        self.connections = 0
        self.port = 0
        self._changed = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in self._writers:
                writer.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    def report_clcw(self) -> None:
        if self.on_clcw is not None:
            self.on_clcw(self.farm.clcw().encode())

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 20.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        self.report_clcw()  # the downlink carries the CLCW all the time
        self._changed.set()
        stream = CltuStream(derandomize=self.randomized)
        try:
            while chunk := await reader.read(4096):
                for _, result in stream.feed(chunk):
                    self.cltus += 1
                    if result.end is CltuEnd.TAIL and result.data:
                        self._frame(result.data)
                    self._changed.set()
        except OSError:
            pass
        finally:
            writer.close()

    def _frame(self, data: bytes) -> None:
        if self.drop_first > 0:
            self.drop_first -= 1
            return
        raw = data[: TcFrame.frame_length(data)]
        if self.security is not None:
            raw = self.security.process(raw)
        frame = TcFrame.decode(raw, self.params)
        self.frames.append(frame)
        self.farm.receive_frame(frame)
        for accepted in self.farm.frames_accepted():
            self.reassembler.receive_frame(accepted)
        self.packets.extend(p for p in self.reassembler.packets() if isinstance(p, SpacePacket))
        self.report_clcw()
