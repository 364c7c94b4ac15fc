"""Telegram control and alerts (python-telegram-bot 22, in the daemon's event loop)."""

from bot.telegram.service import TelegramService

__all__ = ["TelegramService"]
