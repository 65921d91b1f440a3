"""``dawnlink demo``: the whole chain in one process (docs/demo.md).

:mod:`gateway.demo.spacecraft` is the onboard node, :mod:`gateway.demo.link` the pass
and the ground station, :mod:`gateway.demo.subscriber` the MQTT consumer,
:mod:`gateway.demo.run` puts them together with the real gateway, and
:mod:`gateway.demo.cli` is the command.
"""
