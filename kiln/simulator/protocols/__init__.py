"""The simulated city spoken over real protocols: MQTT JSON, Sparkplug B, OPC UA, Modbus TCP."""
