"""The weekly health report: payload, signing, delivery, history and replay, the weekly review."""
