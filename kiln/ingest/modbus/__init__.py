"""Modbus TCP polling: plan and decode register reads (registers), and the poller (poller)."""
