"""`dncsync serve`: the opt-out intake API, its store, the pusher and the process around it."""

from dncsync.serve.process import ServeEnd, serve

__all__ = ["ServeEnd", "serve"]
