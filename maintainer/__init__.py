"""The maintainer's tools: training, scoring and shipping the course's models (not imported by learners).

Run the scripts in this folder from the repository root, e.g.
``python maintainer/train_mnist_checkpoints.py --run DCGAN_R1_EMA``; the learner's and CI's
commands are in ``scripts/``.
"""
