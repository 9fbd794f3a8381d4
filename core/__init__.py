"""The neutral core both twins import: the network spec and its validation (``spec``),
initial weights (``init``), FLOP counts (``flops``), the checkpoint format and its safe reader
(``checkpoint``, with ``checkpoint_rules`` and ``torch_zip``),
shared validation rules (``checks``) and the worker-pool life cycle of the parallel
engines (``procs``). Standard library and NumPy only; it imports neither twin."""
