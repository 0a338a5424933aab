"""L0 vocabulary shared by every layer: keys, marks, kinds, changes, conditions, errors, clock.

Standard library only, no I/O: everything above speaks in these terms.
"""
