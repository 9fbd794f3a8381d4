"""The neutral core both twins import: the network spec and its validation (``spec``),
initial weights and random batches (``init``), the one scale-aware allclose (``close``), FLOP
counts (``flops``), the checkpoint format and its safe reader (``checkpoint``, with
``checkpoint_rules`` and ``torch_zip``), shared validation rules (``checks``), the
worker-pool life cycle of the parallel engines and the cores this process may use
(``procs``), thread pinning of NumPy's BLAS and torch (``threads``), the MNIST IDX reader
(``mnist``) and the command lines' one parser (``cli``). Standard library and NumPy only
(plus threadpoolctl); it imports neither twin."""
