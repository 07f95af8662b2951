"""jepakit-actjepa: ACT-JEPA (arXiv 2501.14622) as a jepakit plugin: an imitation-learning policy trained end to end
to predict chunks of future actions (ACT) and chunks of future observations in latent space against an EMA target
encoder (JEPA), evaluated by acting in Meta-World with scripted-expert demonstrations generated offline."""

__version__ = "0.1.0"
