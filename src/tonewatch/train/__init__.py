"""Training, evaluation and model cards: how the classify stage's models are made and judged."""
