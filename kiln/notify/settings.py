"""The settings of notifications live beside the others (kiln/config_notify.py); re-exported
here for the notify package."""

from kiln.config_notify import Action, EmailTarget, NotifySettings, WebhookTarget

__all__ = ["Action", "EmailTarget", "NotifySettings", "WebhookTarget"]
