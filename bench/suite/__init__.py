"""The run as pytest sees it: the grid of each profile, the parametrised cases and their ids,
the per-run state kept in pytest's stash, and what became of each selected benchmark.

``bench/plugin.py`` wires these into pytest's hooks; the run file they fill is ``runfile``'s.
"""
