"""The library's version, in a module of its own so that the headless layers can record it (in
checkpoints) without importing the `latentlab` package's namespace, whose `explore` reaches the UI."""

__version__ = "0.1.0"
