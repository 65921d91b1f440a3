"""dawnlink gateway: the daemon bridging orbital results to MQTT and commands back up."""
