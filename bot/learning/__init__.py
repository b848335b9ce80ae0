"""The learned second opinion: features, the exported linear model, and training.

Running the model (`model.py`, `features.py`) needs only the standard library; training
(`train.py`) uses scikit-learn and is imported only by `commsbot train`.
"""

from bot.learning.model import MODEL_FILE, LinearModel, ModelError, load_second_opinion

__all__ = ["MODEL_FILE", "LinearModel", "ModelError", "load_second_opinion"]
