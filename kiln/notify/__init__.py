"""Notifications leaving Kiln: signed webhooks with retries and e-mail over SMTP."""
