"""Work-order dispatch policies: the same code serves the live service and the simulator.

(Interface only here; policies are implemented in ``gridsight.core.dispatch_policies``.)
"""
