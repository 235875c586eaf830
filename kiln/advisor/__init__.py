"""Robot-upgrade advisor: where a robot pays for itself, computed from measured line losses."""
