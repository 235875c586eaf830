"""MQTT: the unified-namespace JSON adapter, and the asyncio client connection it shares."""
