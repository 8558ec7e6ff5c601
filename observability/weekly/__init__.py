"""The weekly health report: payload, history and replay, the weekly review (sent by observability.outbound)."""
