"""The classify stage: Turn -> TurnResult (flags with evidence, calibrated scores, tone)."""
