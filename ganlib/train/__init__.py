"""Training a GAN: the textbook steps, the course's composed step, the training state, the loop, resume.

=====================  =========================================================
``steps``              ``d_step`` / ``g_step``: the algorithm, the loss as an argument
``composed``           ``gan_step``: the steps plus R1, the mismatch update and the EMA
``state``              ``GAN`` (networks, optimizers, noise, counters) and ``make_gan``
``ema``                the generator's weight average (``torch.optim.swa_utils``)
``loop``               ``fit``: repeat the step, log, checkpoint, stop on divergence
``resume``             checkpoints that continue a run exactly, and refuse another run's
=====================  =========================================================
"""

from ganlib.train.composed import gan_step, mismatch_step, r1_d_step
from ganlib.train.ema import make_ema
from ganlib.train.loop import TrainingDiverged, fit
from ganlib.train.resume import CHECKPOINT_FORMAT, restore_training, training_levers, training_state_dict
from ganlib.train.state import GAN, StepFn, make_gan
from ganlib.train.steps import d_step, g_step, run_discriminator, run_generator

__all__ = [
    "CHECKPOINT_FORMAT", "GAN", "StepFn", "TrainingDiverged", "d_step", "fit", "g_step", "gan_step", "make_ema",
    "make_gan", "mismatch_step", "r1_d_step", "restore_training", "run_discriminator", "run_generator",
    "training_levers", "training_state_dict",
]
