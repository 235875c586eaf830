"""OPC UA client ingest: subscribe to a server's variables and store them as signals.

``client.OpcUaAdapter`` owns the session; ``targets`` says which variable becomes which signal,
``browse`` and ``robotics`` find variables under folders and OPC 40010 robot objects,
``subscription`` turns each publish response into one batch, and ``decode`` checks it.
"""
