"""Sparkplug B 3.0: Kiln's primary host application (``host.SparkplugHost``) and its codec."""
