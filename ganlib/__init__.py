"""ganlib: the small library behind the hands-on GAN course.

Every notebook imports its models, losses, data, training runs (``ganlib.runs``), training
loop and plots from here, so the code a learner reads in a notebook is the code the tests
check. docs/architecture.md maps the modules and how data flows through them.
"""

__version__ = "0.1.0"
