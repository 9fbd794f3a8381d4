"""The prepared run on a machine with an NVIDIA card: ``run.py`` (``make gpu-check``, run as a
script by the card machine's own python), the card's facts (``facts.py``) and the sweep's cost
estimate (``plan.py``). docs/parallel-and-gpu.md says how to use it.
"""
