"""The weekly health report: payload, history and replay, the weekly review (signed and sent by observability.outbound)."""
