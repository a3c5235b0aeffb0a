"""Translations for pages: pages reach `observatory.i18n` only through the UI layer."""

from observatory.i18n import t

__all__ = ["t"]
