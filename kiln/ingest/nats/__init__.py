"""NATS JetStream: a durable pull consumer whose messages, the unified namespace's subjects and
JSON payloads, become committed bundles; every worker on the same durable shares the stream."""
