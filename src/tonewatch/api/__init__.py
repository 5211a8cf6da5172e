"""HTTP scoring API: the classify contract, client reports and a Perspective-compatible
endpoint. ``create_app(config, classifier=None)`` builds it; ``tonewatch api`` serves it."""

from tonewatch.api.app import create_app

__all__ = ["create_app"]
