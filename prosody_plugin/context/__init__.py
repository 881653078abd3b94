"""Stage two: predictors of the stage-one prosody representation from text context."""

from prosody_plugin.context.camp_predictor import CAMPPredictor
from prosody_plugin.context.kathaka_sampler import KathakaSampler

__all__ = ["CAMPPredictor", "KathakaSampler"]
