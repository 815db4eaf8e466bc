"""The course's generators and discriminators, one file per family."""

from ganlib.models.acgan import ACGANCritic, ACGANGenerator
from ganlib.models.cgan import (
    EmbeddingConditionalDiscriminator,
    EmbeddingConditionalGenerator,
    OneHotConditionalDiscriminator,
    OneHotConditionalGenerator,
)
from ganlib.models.dcgan import DCGANDiscriminator, DCGANGenerator, init_dcgan_weights
from ganlib.models.mlp import MLPDiscriminator, MLPGenerator

__all__ = [
    "MLPGenerator",
    "MLPDiscriminator",
    "DCGANGenerator",
    "DCGANDiscriminator",
    "init_dcgan_weights",
    "OneHotConditionalGenerator",
    "OneHotConditionalDiscriminator",
    "EmbeddingConditionalGenerator",
    "EmbeddingConditionalDiscriminator",
    "ACGANCritic",
    "ACGANGenerator",
]
