"""Reminders the client agreed to (issue 14): schedule, texts, channels and the sender.

    python -m bot reminders send        # from a systemd timer or cron, every few minutes

See docs/reminders.md.
"""
